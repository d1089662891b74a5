from olga_cli.cli.entry import main

main()
