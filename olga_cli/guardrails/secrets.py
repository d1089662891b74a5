"""Credentials: provider API keys, tokens, private key blocks and high-entropy values in assignments.

Known formats are matched by their fixed prefixes (`sk-ant-`, `AKIA`, `ghp_`, `xoxb-` ...), each
pattern only run when its prefix occurs in the text, so clean text costs a handful of substring
searches. Values assigned to a secret-sounding name (`api_key = "..."`, `"password": "..."`) count
when they look random: long enough, letters and digits, and high Shannon entropy, which keeps
`max_tokens = 1024`, `token = get_token()` and `secret_name = "prod"` out.

Passwords in assignments, config files and URLs, Azure connection strings and AWS JSON credentials
are found by `credentials`.

Entity names are per kind (`openai_api_key`, `aws_access_key`, `private_key`, ...) and redact to
`[OPENAI_API_KEY]`, `[AWS_ACCESS_KEY]`, `[PRIVATE_KEY]`, so the model still knows a key was there.
"""

from __future__ import annotations

import math
import re
import string
from collections import Counter
from dataclasses import dataclass

import olga_cli.guardrails.credentials as credentials
from olga_cli.guardrails.detector import Match
from olga_cli.guardrails.scan import KeywordIndex, finditer_in, merge_windows, trailing_run
from olga_cli.guardrails.spec import GuardrailType


@dataclass(frozen=True, slots=True)
class _Pattern:
    entity: str
    regex: re.Pattern[str]
    # The pattern runs only if one of these occurs in the text (lower-cased text when `folded`).
    literals: tuple[str, ...]
    confidence: float
    folded: bool = False
    # Which group is the secret itself (0: the whole match, 1: a value after its label).
    group: int = 0
    # Require letters and digits in the secret (prose after "Bearer" has no digits).
    mixed: bool = False


_TOKEN = r"A-Za-z0-9_\-"
_PEM_LABEL = r"-----BEGIN[ A-Z0-9]*PRIVATE KEY(?: BLOCK)?-----"
# A PEM body may arrive with real newlines or, inside JSON strings, as `\n` escapes; an unterminated
# block (a truncated key, or a stream still arriving) runs to the last base64 line.
_PEM_BLOCK = (
    _PEM_LABEL
    + r"(?:[\s\S]{0,16384}?-----END[ A-Z0-9]*PRIVATE KEY(?: BLOCK)?-----"
    + r"|(?:(?:\s|\\[nr])+[A-Za-z\-]+:[^\n\\]*)*(?:(?:\s|\\[nr])+[A-Za-z0-9+/=]{16,})*"
    + r"(?:(?:\s|\\[nr])+[A-Za-z0-9+/=]{1,15}\Z)?)"
)

_PEM_END = re.compile(r"-----END[ A-Z0-9]*PRIVATE KEY(?: BLOCK)?-----")


def _word(prefix: str) -> str:
    """`prefix` at the start of a word. Written as the literal followed by a lookbehind rather than
    `\\b` + literal, so the regex engine can jump between occurrences of the literal."""
    escaped = re.escape(prefix)
    return f"{escaped}(?<![A-Za-z0-9_]{escaped})"


_PATTERNS: tuple[_Pattern, ...] = (
    _Pattern("private_key", re.compile(_PEM_BLOCK), ("-----BEGIN",), 0.99),
    _Pattern(
        "anthropic_api_key",
        re.compile(_word("sk-ant-") + rf"[a-z]{{3,6}}\d{{2}}-[{_TOKEN}]{{20,}}"),
        ("sk-ant-",),
        0.98,
    ),
    _Pattern("olga_api_key", re.compile(_word("sk-olga-") + rf"[{_TOKEN}]{{16,}}"), ("sk-olga-",), 0.97),
    _Pattern(
        "openai_api_key",
        re.compile(_word("sk-") + rf"(?:proj|svcacct|admin|None)-[{_TOKEN}]{{20,}}"),
        ("sk-proj-", "sk-svcacct-", "sk-admin-", "sk-None-"),
        0.97,
    ),
    _Pattern(
        "openai_api_key", re.compile(_word("sk-") + r"[A-Za-z0-9]{32,}(?![\w\-])"), ("sk-",), 0.9, mixed=True
    ),
    _Pattern(
        "aws_access_key",
        re.compile(r"\b(?:AKIA|ASIA|ABIA|ACCA|AGPA|AIDA|AIPA|ANPA|ANVA|AROA|APKA|ASCA)[A-Z0-9]{16}\b"),
        ("AKIA", "ASIA", "ABIA", "ACCA", "AGPA", "AIDA", "AIPA", "ANPA", "ANVA", "AROA", "APKA", "ASCA"),
        0.95,
    ),
    _Pattern(
        "aws_secret_key",
        re.compile(
            r"(?i)aws[\w\-.]{0,24}?(?:secret|private)[\w\-.]{0,24}?[\"']?\s*(?:[:=]|:=|=>)\s*[\"']?"
            r"([A-Za-z0-9/+]{40})(?![A-Za-z0-9/+])"
        ),
        ("aws",),
        0.95,
        folded=True,
        group=1,
    ),
    _Pattern(
        "github_token",
        re.compile(r"gh(?<![A-Za-z0-9_]gh)[pousr]_[A-Za-z0-9]{36,255}\b"),
        ("ghp_", "gho_", "ghu_", "ghs_", "ghr_"),
        0.97,
    ),
    _Pattern(
        "github_token", re.compile(_word("github_pat_") + r"[A-Za-z0-9_]{60,255}\b"), ("github_pat_",), 0.97
    ),
    _Pattern("gitlab_token", re.compile(_word("glpat-") + rf"[{_TOKEN}]{{20,}}"), ("glpat-",), 0.95),
    _Pattern(
        "slack_token", re.compile(_word("xox") + r"[abposre]-(?:\d+-)?[A-Za-z0-9\-]{10,}"), ("xox",), 0.95
    ),
    _Pattern(
        "slack_webhook",
        re.compile(r"https://hooks\.slack\.com/(?:services|workflows|triggers)/[A-Za-z0-9/_\-]{20,}"),
        ("hooks.slack.com",),
        0.95,
    ),
    _Pattern(
        "stripe_key",
        re.compile(r"\b(?:sk|rk)_(?:live|test)_[A-Za-z0-9]{16,}\b"),
        ("sk_live_", "sk_test_", "rk_live_", "rk_test_"),
        0.95,
    ),
    _Pattern("google_api_key", re.compile(_word("AIza") + r"[0-9A-Za-z_\-]{35}(?![\w\-])"), ("AIza",), 0.95),
    _Pattern(
        "huggingface_token", re.compile(_word("hf_") + r"[A-Za-z0-9]{30,}\b"), ("hf_",), 0.9, mixed=True
    ),
    _Pattern(
        "sendgrid_key",
        re.compile(_word("SG.") + r"[A-Za-z0-9_\-]{22}\.[A-Za-z0-9_\-]{43}(?![\w\-])"),
        ("SG.",),
        0.97,
    ),
    _Pattern("npm_token", re.compile(_word("npm_") + r"[A-Za-z0-9]{36}\b"), ("npm_",), 0.95),
    # The signature is optional so a token still arriving in a stream is already recognised.
    _Pattern(
        "jwt",
        re.compile(_word("eyJ") + r"[A-Za-z0-9_\-]{8,}\.eyJ[A-Za-z0-9_\-]{8,}(?:\.[A-Za-z0-9_\-]*)?"),
        ("eyJ",),
        0.9,
    ),
    _Pattern(
        "bearer_token",
        re.compile(r"(?i)\bbearer\s+([A-Za-z0-9\-._~+/]{16,}=*)(?![A-Za-z0-9\-._~+/=])"),
        ("bearer",),
        0.88,
        folded=True,
        group=1,
        mixed=True,
    ),
    _Pattern(
        "basic_auth",
        re.compile(r"(?i)\bauthorization\W{0,4}\s*basic\s+([A-Za-z0-9+/]{12,}={0,2})(?![A-Za-z0-9+/=])"),
        ("basic",),
        0.9,
        folded=True,
        group=1,
    ),
)

# A value assigned to a name that ends in a secret word: `API_KEY=...`, `"client_secret": "..."`.
_ASSIGNMENT = re.compile(
    r"(?i)(?:api[_.\-]?key|apikey|secret[_.\-]?key|secret|token|"
    r"passw(?:or)?d|pwd|access[_.\-]?key|auth[_.\-]?key|credentials?|private[_.\-]?key)[\"']?\s*"
    r"(?:[:=]|:=|=>)\s*[\"']?([A-Za-z0-9/+_\-.=~]{16,256})(?![A-Za-z0-9/+_\-.=~])"
)
_ASSIGNMENT_WORDS = ("key", "secret", "token", "passw", "pwd", "credential")
# Which patterns can match: their literals in the text (case-sensitive ones), or their labels in the
# lower-cased text (case-insensitive ones, then the assignment words as one more group).
_LITERALS = KeywordIndex(() if p.folded else p.literals for p in _PATTERNS)
_LABELS = KeywordIndex([*(p.literals if p.folded else () for p in _PATTERNS), _ASSIGNMENT_WORDS])
_PLACEHOLDER = re.compile(r"(?i)example|x{6,}|\*{4,}|your[_\-]|placeholder|changeme|dummy|redacted")

# The tail that may still grow into a secret: a token (keys, URLs, base64) or a PEM label in the making.
_TOKEN_CHARS = string.ascii_letters + string.digits + "_-./+=:~%"
_PEM_LABEL_TAIL = re.compile(r"-{1,5}(?:BEGIN[ A-Z0-9]*)?\Z")
_TAIL_WINDOW = 512


def shannon_entropy(value: str) -> float:
    """Bits per character: about 4.7 for random base62, 4.0 for hex, under 3.5 for words."""
    counts = Counter(value)
    length = len(value)
    return -sum(count / length * math.log2(count / length) for count in counts.values())


def _find_all(haystack: str, needle: str) -> list[int]:
    found: list[int] = []
    index = haystack.find(needle)
    while index != -1:
        found.append(index)
        index = haystack.find(needle, index + 1)
    return found


def _mixed(value: str) -> bool:
    return any(char.isdigit() for char in value) and any(char.isalpha() for char in value)


class SecretsDetector:
    """Finds API keys, tokens, private keys and high-entropy assigned secrets."""

    @property
    def type(self) -> GuardrailType:
        return "secrets"

    @property
    def lookbehind(self) -> int:
        return 96

    def detect(self, text: str) -> list[Match]:
        matches: list[Match] = []
        size = len(text)
        folded = text.lower()
        present = _LITERALS.occurrences(text)
        labels = _LABELS.occurrences(folded)
        # Lower-casing keeps offsets except for a few letters (such as 'İ'); then scan everything.
        whole = [(0, size)]
        offsets_kept = len(folded) == size
        for index, pattern in enumerate(_PATTERNS):
            if pattern.folded:
                # Case-insensitive patterns cannot jump to a literal: run them near the label only.
                if index not in labels:
                    continue
                spans = merge_windows(labels[index], size, before=32, after=320) if offsets_kept else whole
            elif index in present:
                spans = whole
            else:
                continue
            for m in finditer_in(pattern.regex, text, spans):
                value = m.group(pattern.group)
                if pattern.mixed and not _mixed(value):
                    continue
                confidence = 0.3 if _PLACEHOLDER.search(value) else pattern.confidence
                matches.append(
                    Match(pattern.entity, m.start(pattern.group), m.end(pattern.group), confidence)
                )
        view = folded if offsets_kept else text.lower()
        # Before the generic assignments, so these keys are reported under their own names.
        if any(word in view for word in credentials.AZURE_WORDS):
            credentials.azure_keys(text, matches)
        if any(word in view for word in credentials.AWS_JSON_WORDS):
            credentials.aws_json_keys(text, matches)
        assignments = labels.get(len(_PATTERNS))
        if assignments:
            spans = merge_windows(assignments, size, before=16, after=320) if offsets_kept else whole
            self._assignments(text, spans, matches)
        self._credentials(text, folded if offsets_kept else None, matches)
        return matches

    @staticmethod
    def _credentials(text: str, folded: str | None, matches: list[Match]) -> None:
        """Passwords in assignments and URLs, only where a password word occurs (lower-cased)."""
        view = folded if folded is not None else text.lower()
        if "://" in text:
            credentials.url_passwords(text, matches)
        if folded is None:
            spans = [(0, len(text))] if any(w in view for w in credentials.PASSWORD_WORDS) else []
        else:
            starts = [i for word in credentials.PASSWORD_WORDS for i in _find_all(folded, word)]
            spans = merge_windows(starts, len(text), before=48, after=300)
        if spans:
            credentials.passwords(text, spans, matches)

    def pending_start(self, text: str) -> int:
        start = trailing_run(text, _TOKEN_CHARS, limit=_TAIL_WINDOW)
        label = _PEM_LABEL_TAIL.search(text, max(0, len(text) - 48))
        if label is not None:
            start = min(start, label.start())
        # A private key block still open: hold it from its label until its END line arrives.
        begin = text.rfind("-----BEGIN")
        if begin != -1 and _PEM_END.search(text, begin) is None:
            start = min(start, begin)
        return start

    @staticmethod
    def _assignments(text: str, spans: list[tuple[int, int]], matches: list[Match]) -> None:
        known = [(m.start, m.end) for m in matches]
        for m in finditer_in(_ASSIGNMENT, text, spans):
            start, end = m.start(1), m.end(1)
            # A known format already covers it under its own name.
            if any(k_start < end and start < k_end for k_start, k_end in known):
                continue
            value = m.group(1)
            if not _mixed(value) or _PLACEHOLDER.search(value):
                continue
            entropy = shannon_entropy(value)
            if entropy < 3.0:
                continue
            # 3.0 bits -> 0.45, 3.5 -> 0.6, 4.0+ -> 0.75, up to 0.9 for long random values.
            confidence = min(0.9, 0.45 + (entropy - 3.0) * 0.3 + (0.05 if len(value) >= 32 else 0.0))
            matches.append(Match("high_entropy_secret", start, end, confidence))
