"""The phrase families the prompt-injection rules look for, each with its keywords and scorer.

English overrides, role hijacks, system prompt extraction and chat-template delimiters, plus the
override phrasings of German, French and Spanish, overrides whose target has no noun ("ignore the
above and ..."), and persona words (DAN, "stay in character") that only count as weak evidence
alone: `injection.PromptInjectionDetector` sums them.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

PERSONA_CUE = "persona_cue"

Scorer = Callable[["re.Match[str]"], float]


@dataclass(frozen=True, slots=True)
class Phrase:
    entity: str
    keywords: tuple[str, ...]
    regex: re.Pattern[str]
    score: Scorer
    # How far before a keyword a match can start (the regex runs in windows around the keywords).
    before: int = 8
    # How far after a keyword's start a match can end (a stream holds that much after a keyword).
    after: int = 100


def _fixed(value: float) -> Scorer:
    return lambda _m: value


_TARGETS = (
    r"instructions?|prompts?|rules|directions|directives|guidelines|commands|orders|context|"
    r"constraints|restrictions|guardrails|polic(?:y|ies)|programming|system\s+message|guidance"
)
_QUALIFIERS = (
    r"above|previous|prior|preceding|earlier|former|foregoing|original|initial|existing|old|"
    r"system|developer|safety|given|hidden|current|default|built[- ]in"
)

_OVERRIDE = re.compile(
    r"(?i)\b(?P<verb>ignore|disregard|forget|bypass|override|overlook|neglect|abandon|discard|skip)\s+"
    r"(?P<all>(?:all|any|every|each)\s+(?:of\s+)?)?(?P<det>(?:the|your|my|these|those|this|its)\s+)?"
    r"(?P<qual>(?:"
    + _QUALIFIERS
    + r")(?:\s+and\s+(?:"
    + _QUALIFIERS
    + r"|future|following|subsequent))?\s+)?"
    r"(?P<target>" + _TARGETS + r")\b"
)


def _override_score(m: re.Match[str]) -> float:
    if m.group("qual") or m.group("all"):
        return 0.93
    if m.group("det") and m.group("det").lower().startswith(("your", "these", "those", "its")):
        return 0.75
    return 0.45


PHRASES: tuple[Phrase, ...] = (
    Phrase(
        "instruction_override",
        (
            "ignore",
            "disregard",
            "forget",
            "bypass",
            "override",
            "overlook",
            "neglect",
            "abandon",
            "discard",
            "skip",
        ),
        _OVERRIDE,
        _override_score,
    ),
    Phrase(
        "instruction_override",
        ("forget", "disregard", "ignore"),
        re.compile(
            r"(?i)\b(?:forget|disregard|ignore)\s+(?:about\s+)?(?:everything|all(?:\s+that)?)\s+"
            r"(?:you(?:'ve|\s+have|\s+were)?\s+(?:been\s+)?(?:told|taught|instructed|learned)|(?:written\s+)?above|"
            r"before\s+this|previously|said\s+before|prior)"
        ),
        _fixed(0.92),
        after=90,
    ),
    Phrase(
        "instruction_override",
        ("follow", "obey", "listen"),
        re.compile(
            r"(?i)\b(?:do\s+not|don't|never|stop)\s+(?:follow(?:ing)?|obey(?:ing)?|listen(?:ing)?\s+to)\s+"
            r"(?:the|your|any)\s+(?:" + _QUALIFIERS + r")\s+(?:" + _TARGETS + r")\b"
        ),
        _fixed(0.88),
        before=16,
        after=80,
    ),
    Phrase(
        "instruction_override",
        ("instructions", "rules", "task"),
        re.compile(
            r"(?i)\b(?:(?:your|the|my)\s+)?(?:new|updated|real|actual|true)\s+(?:instructions|rules|task)"
            r"(?:\s+(?:are|is)\b|\s*:)"
        ),
        _fixed(0.72),
        before=24,
        after=24,
    ),
    Phrase(
        "instruction_override",
        ("override",),
        re.compile(
            r"(?i)\boverride\s+(?:your|the|all|any)\s+(?:safety\s+|content\s+|ethical\s+)?"
            r"(?:settings|filters|protocols|safeguards|programming|alignment)\b"
        ),
        _fixed(0.85),
        after=60,
    ),
    Phrase(
        "role_hijack",
        ("now", "longer"),
        re.compile(
            r"(?i)\b(?:you\s+are|you're)\s+(?:now|no\s+longer)\s+(?:(?:a|an|the|in|my)\s+)?"
            r"(?:DAN\b|jailbroken|unrestricted|unfiltered|uncensored|unaligned|unbound|evil|rogue|"
            r"free\s+(?:from|of)|(?:developer|god|jailbreak|DAN)\s+mode|bound\s+by|an?\s+AI\s+without|"
            r"(?:an?\s+)?(?:assistant|AI|model|chatbot)\s+(?:with\s+no|without)\s+(?:restrictions|rules|limits|filters))"
        ),
        _fixed(0.9),
        before=16,
        after=80,
    ),
    Phrase(
        "role_hijack",
        ("anything",),
        re.compile(r"(?i)\bdo\s+anything\s+now\b"),
        _fixed(0.9),
        after=16,
    ),
    Phrase(
        "role_hijack",
        ("mode",),
        re.compile(
            r"(?i)\b(?:(?P<strong>jailbreak|DAN|god|unrestricted|evil)|developer)\s+mode\s+"
            r"(?:enabled|activated|is\s+(?:now\s+)?on|on\b)"
        ),
        lambda m: 0.88 if m.group("strong") else 0.6,
        before=16,
        after=24,
    ),
    Phrase(
        "role_hijack",
        ("pretend", "act", "imagine", "behave", "role", "simulate"),
        re.compile(
            r"(?i)\b(?:pretend|act\s+as(?:\s+if)?|imagine|behave\s+as\s+if|role-?\s?play\s+as|simulate)\b"
            r"[^.\n]{0,48}?\b(?:no|without|free\s+(?:of|from)|not\s+bound\s+by|unrestricted\s+by)\s+"
            r"(?:any\s+|all\s+|your\s+)?(?:restrictions|limitations|limits|rules|filters|guidelines|"
            r"ethic(?:s|al\s+\w+)|morals|censorship|content\s+polic(?:y|ies)|safety)"
        ),
        _fixed(0.87),
        after=130,
    ),
    Phrase(
        "role_hijack",
        ("freed", "liberated", "jailbroken", "unshackled", "released"),
        re.compile(
            r"(?i)\byou\s+(?:have\s+been|are|were)\s+(?:now\s+)?(?:freed|liberated|jailbroken|unshackled|"
            r"released\s+from)\b"
        ),
        _fixed(0.85),
        before=20,
        after=16,
    ),
    Phrase(
        "system_prompt_extraction",
        ("prompt", "instruction", "message", "guideline", "rule"),
        re.compile(
            r"(?i)\b(?:reveal|show|print|display|output|repeat|tell|give|share|leak|dump|expose|disclose|"
            r"recite|write\s+out|spell\s+out|provide|list|reproduce|paste|echo|return|translate)\s+"
            r"(?:(?:me|us)\s+)?(?:(?:all|exactly|verbatim|word\s+for\s+word)\s+)?(?:of\s+)?"
            r"(?P<det>your|the)\s+(?P<qual>(?:(?:full|entire|complete|exact|original|initial|hidden|secret|"
            r"internal|underlying|first|confidential|verbatim)\s+)*)"
            r"(?P<what>system\s+(?:prompt|message|instructions?)|(?:pre-?)?prompt|instructions|guidelines|"
            r"rules)\b(?P<tail>\s+(?:for|of|format|template|example|that\s+I|which\s+I|to\s+(?:a|an|my))\b)?"
        ),
        lambda m: _extraction_score(m),
        before=120,
        after=48,
    ),
    Phrase(
        "system_prompt_extraction",
        ("prompt", "instruction", "message"),
        re.compile(
            r"(?i)\bwhat\s+(?:is|are|was|were)\s+(?:your|the)\s+(?:(?:initial|original|hidden|secret|first|"
            r"exact|full)\s+)*(?P<what>system\s+(?:prompt|message)|instructions|prompt)\b"
            r"(?P<tail>\s+(?:for|of|format|template|example)\b)?"
        ),
        lambda m: 0.3 if m.group("tail") else (0.85 if "system" in m.group("what").lower() else 0.7),
        before=60,
        after=48,
    ),
    Phrase(
        "system_prompt_extraction",
        ("above", "before", "preceding", "prior"),
        re.compile(
            r"(?i)\b(?:repeat|print|output|copy|echo|reproduce|recite|write\s+out)\s+(?:back\s+)?"
            r"(?:(?:all|everything|the\s+(?:text|words|content|message|messages|lines?|conversation))\s+)?"
            r"(?:written\s+|you\s+(?:were\s+)?(?:given|told)\s+)?"
            r"(?:above|before\s+this|preceding|prior\s+to\s+this)"
            r"(?P<start>\s+(?:starting|beginning)\s+with)?"
        ),
        lambda m: 0.93 if m.group("start") else 0.8,
        before=120,
        after=36,
    ),
    Phrase(
        "delimiter_injection",
        ("<|", "inst]", "sys>>", "_of_turn>"),
        re.compile(
            r"(?i)<\|(?:im_start|im_end|im_sep|system|user|assistant|endoftext|eot_id|start_header_id|"
            r"end_header_id|begin_of_text|end_of_text|eom_id|fim_prefix|fim_suffix|fim_middle)\|>"
            # `[INST]` only as Llama writes it: song sheets tag sections `[Inst]` (instrumental).
            r"|(?-i:\[/?INST\])|<</?SYS>>|<(?:start|end)_of_turn>"
        ),
        _fixed(0.9),
        after=24,
    ),
    Phrase(
        "delimiter_injection",
        ("system", "assistant", "developer", "end"),
        re.compile(
            r"(?m)^[ \t]*(?P<hdr>#{1,4}[ \t]*|\[|<)?(?P<role>SYSTEM|System|system|ASSISTANT|DEVELOPER)"
            r"(?:[ \t]+(?:PROMPT|MESSAGE|prompt|message|Prompt|Message))?[ \t]*(?:\]|>)?[ \t]*:"
            r"|[-=#*]{2,}[ \t]*END[ \t]+OF[ \t]+(?:THE[ \t]+)?(?:SYSTEM[ \t]+)?(?:PROMPT|INSTRUCTIONS|USER[ \t]+INPUT|"
            r"CONTEXT|DOCUMENT|INPUT)\b"
            r"(?P<next>[^\n]{0,12}\n\s*(?i:new|now|from\s+now|ignore|disregard|print|reveal|you\s+(?:are|must|will)|"
            r"system|assistant|task|instructions?)\b)?"
        ),
        lambda m: (
            _end_marker_score(m)
            if m.group("role") is None
            else (0.72 if m.group("hdr") or m.group("role").isupper() else 0.35)
        ),
        before=16,
        after=40,
    ),
    # "ignore the above and ...", "disregard everything before this": the target is a place, not a noun.
    # What follows must end the clause, so "ignore the above error" is not an override.
    Phrase(
        "instruction_override",
        ("ignore", "disregard", "forget", "skip", "discard", "mind", "attention", "follow"),
        re.compile(
            r"(?i)\b(?:ignore|disregard|forget(?:\s+about)?|skip|discard|never\s+mind|pay\s+no\s+attention\s+to|"
            r"stop\s+following|do\s+not\s+follow|don't\s+follow)\s+"
            r"(?:(?:all|any|every|each)\s+(?:of\s+)?)?(?:the\s+|everything\s+|anything\s+|what(?:ever)?\s+(?:was|is|came)\s+)?"
            r"(?:above|previous(?:ly)?|prior|preceding|foregoing|earlier|said\s+before|so\s+far|until\s+now)"
            r"(?P<future>\s+and\s+(?:all\s+)?(?:future|following|subsequent|upcoming|later)"
            r"(?:\s+(?:instructions?|prompts?|messages?|rules))?)?"
            r"(?=\s*(?:[.,;:!)\]\u2014-]|\b(?:and|then|instead|now|just|please)\b|\Z))"
        ),
        lambda m: 0.9 if m.group("future") else 0.8,
        before=24,
        after=120,
    ),
    Phrase(
        "instruction_override",
        ("ignorier", "vergiss", "vergessen", "missacht", "\u00fcbergeh", "\u00fcberspring"),
        re.compile(
            r"(?i)\b(?:ignorier(?:e|en|t)?|vergiss|vergessen\s+sie|missachte(?:n)?|\u00fcbergehe|\u00fcberspringe)\s+"
            r"(?P<all>(?:alle|s\u00e4mtliche|jegliche|die|deine|ihre|eure)\s+)*"
            r"(?P<qual>(?:bisherigen|vorherigen|vorigen|obigen|fr\u00fcheren|urspr\u00fcnglichen|vorangegangenen|alten|"
            r"gegebenen)\s+)?"
            r"(?:anweisungen|instruktionen|befehle|regeln|vorgaben|anordnungen|richtlinien|aufgaben|"
            r"systemanweisungen|systemprompts?|den\s+systemprompt)\b"
            r"|\b(?P<every>(?:vergiss|vergessen\s+sie|ignorier(?:e|en)?)\s+(?:einfach\s+)?alles(?:\s*,?\s*(?:was|das)\b|"
            r"\s+(?:vorherige|bisherige|davor|oben|zuvor|andere)))"
        ),
        lambda m: (
            0.9 if m.group("qual") or m.group("every") or "alle" in (m.group("all") or "").lower() else 0.6
        ),
        before=8,
        after=120,
    ),
    Phrase(
        "instruction_override",
        ("ignor", "oubli", "compte", "abstraction"),
        re.compile(
            r"(?i)\b(?:ignore[rsz]?|oublie[rsz]?|ne\s+(?:tiens|tenez)\s+pas\s+compte\s+d(?:es|e|')|"
            r"fais\s+abstraction\s+d(?:es|e))\s*(?P<all>(?:toutes?|tous)\s+)?(?:(?:les|tes|vos|ces)\s+|l')?"
            r"(?:instructions?|consignes?|r[\u00e8e]gles?|directives?|ordres?|indications?|prompt\s+syst[\u00e8e]me)\b"
            r"(?P<qual>\s+(?:pr[\u00e9e]c[\u00e9e]dentes?|ci-dessus|ant[\u00e9e]rieures?|initiales?|originales?|d'avant))?"
            r"|\b(?P<every>(?:oublie[rsz]?|ignore[rsz]?)\s+tout\s+ce\s+qu(?:e|')\s*(?:on\s+t'a|je\s+t'ai|on\s+vous\s+a|"
            r"vous\s+avez|tu\s+as|a\s+[\u00e9e]t[\u00e9e]))"
        ),
        lambda m: 0.9 if m.group("all") or m.group("qual") or m.group("every") else 0.6,
        before=8,
        after=120,
    ),
    Phrase(
        "instruction_override",
        ("ignor", "olvid", "omit", "no sig", "caso omiso", "deja de seguir", "desobedec"),
        re.compile(
            r"(?i)\b(?:ignora[rd]?|ignore[ns]?|olvida[rd]?|olvide[ns]?|omite|no\s+sigas?|haz\s+caso\s+omiso\s+(?:a|de)|"
            r"deja\s+de\s+seguir|desobedece)\s+(?P<all>(?:todas?|todos)\s+)?(?:(?:las|tus|sus|los)\s+)?"
            r"(?:instrucciones|indicaciones|reglas|[\u00f3o]rdenes|directrices|directivas|normas|"
            r"el\s+prompt(?:\s+del\s+sistema)?)\b"
            r"(?P<qual>\s+(?:anteriores|previas|de\s+arriba|iniciales|originales|dadas|del\s+sistema))?"
            r"|\b(?P<every>(?:olvida|olvide|ignora|ignore)\s+todo\s+lo\s+(?:anterior|que\s+te\s+(?:dije|han\s+dicho)|dicho))"
        ),
        lambda m: 0.9 if m.group("all") or m.group("qual") or m.group("every") else 0.6,
        before=8,
        after=120,
    ),
    Phrase(
        "role_hijack",
        ("ahora", "jetzt", "nun", "maintenant", "d\u00e9sormais", "desormais"),
        re.compile(
            r"(?i)\b(?:(?:a\s+partir\s+de\s+)?ahora\s+eres|du\s+bist\s+(?:jetzt|nun|ab\s+jetzt)|"
            r"(?:tu\s+es|vous\s+[\u00eae]tes)\s+(?:maintenant|d[\u00e9e]sormais))\b[^.\n]{0,40}?\b"
            r"(?:sin\s+(?:restricciones|filtros|reglas|l[\u00edi]mites|censura)|ohne\s+(?:einschr\u00e4nkungen|regeln|filter|"
            r"grenzen|zensur)|sans\s+(?:restrictions?|filtres?|r[\u00e8e]gles|limites|censure))"
        ),
        _fixed(0.85),
        before=24,
        after=100,
    ),
    # Persona words: common in jailbreaks, but also in texts about them. Weak alone (below the
    # default threshold); several together are summed into a stronger role_hijack.
    Phrase(
        PERSONA_CUE,
        (
            "dan",
            "stan",
            "dude",
            "aim",
            "jailbr",
            "unfiltered",
            "uncensored",
            "amoral",
            "character",
            "refuse",
            "developer mode",
            "from now on",
            "ethical",
            "moral",
            "restrictions",
            "filters",
            "censorship",
        ),
        re.compile(
            r"(?-i:\b(?:DAN|STAN|DUDE|AIM|BetterDAN|AntiGPT|BasedGPT|DevMode)\b)"
            r"|(?i:\b(?:jailbr(?:eak|oken)\w*|unfiltered|uncensored|amoral|stay\s+in\s+character|"
            r"(?:never|not|don't|do\s+not)\s+(?:ever\s+)?refuse|developer\s+mode|from\s+now\s+on,?\s+you|"
            r"no\s+(?:ethical|moral)\s+(?:guidelines|restrictions|boundaries|principles|limits)|"
            r"without\s+any\s+(?:restrictions|filters|censorship|limitations))\b)"
        ),
        _fixed(0.3),
        before=8,
        after=40,
    ),
)


def _end_marker_score(m: re.Match[str]) -> float:
    # "## END OF PROMPT" also closes templates in documentation: weak unless an instruction follows.
    return 0.72 if m.group("next") else 0.45


def _extraction_score(m: re.Match[str]) -> float:
    if m.group("tail"):
        return 0.3
    what = m.group("what").lower()
    mine = m.group("det").lower() == "your"
    qualified = bool(m.group("qual").strip())
    if what.startswith("system"):
        return 0.92 if mine or qualified else 0.6
    if mine and qualified:
        return 0.9
    if qualified:
        return 0.8
    if mine and what in ("prompt", "instructions", "preprompt", "pre-prompt"):
        return 0.75
    return 0.3
