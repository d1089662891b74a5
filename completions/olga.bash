_olga_completion() {
    local IFS=$'
'
    COMPREPLY=( $( env COMP_WORDS="${COMP_WORDS[*]}" \
                   COMP_CWORD=$COMP_CWORD \
                   _OLGA_COMPLETE=complete_bash $1 ) )
    return 0
}

complete -o default -F _olga_completion olga
