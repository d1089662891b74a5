"""Unicode that hides text from people but not from models: invisible characters and look-alikes.

`fold` maps a text to what a reader would take it for, so the injection patterns see
"ignore previous instructions" whether it was written with Cyrillic letters, fullwidth or
mathematical letters, or zero-width spaces between the letters. It keeps a map back to the original
offsets so a match can be reported and redacted where it really is.
"""

from __future__ import annotations

import bisect
import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass

# Cyrillic and Greek letters drawn like Latin ones (the common subset of Unicode's confusables list).
_CONFUSABLES: Mapping[str, str] = {
    "а": "a", "в": "b", "е": "e", "ѕ": "s", "і": "i", "ј": "j", "к": "k", "м": "m", "н": "h", "о": "o",
    "р": "p", "с": "c", "т": "t", "у": "y", "х": "x", "ԁ": "d", "ɡ": "g", "ԛ": "q", "ԝ": "w", "һ": "h",
    "ӏ": "l", "ү": "y", "А": "A", "В": "B", "Е": "E", "Ѕ": "S", "І": "I", "Ј": "J", "К": "K", "М": "M",
    "Н": "H", "О": "O", "Р": "P", "С": "C", "Т": "T", "Х": "X", "Ү": "Y", "Ԁ": "D", "Ԛ": "Q", "Ԝ": "W",
    "α": "a", "ο": "o", "ρ": "p", "ν": "v", "ι": "i", "κ": "k", "τ": "t", "υ": "u", "χ": "x", "ε": "e",
    "Α": "A", "Β": "B", "Ε": "E", "Ζ": "Z", "Η": "H", "Ι": "I", "Κ": "K", "Μ": "M", "Ν": "N", "Ο": "O",
    "Ρ": "P", "Τ": "T", "Υ": "Y", "Χ": "X", "ɑ": "a", "ı": "i", "ȷ": "j", "ℓ": "l",
}  # fmt: skip

# Characters with no glyph: zero-width spaces and joiners, word joiner, invisible operators, BOM,
# soft hyphen, Mongolian vowel separator; bidi embeddings/overrides/isolates reorder what is shown.
INVISIBLE = "\u00ad\u180e\u200b\u200c\u200d\u2060\u2061\u2062\u2063\u2064\ufeff"
BIDI_CONTROLS = "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
TAG_RANGE = (0xE0000, 0xE007F)
VARIATION_SUPPLEMENT = (0xE0100, 0xE01EF)

# Runs of hidden characters, by kind, found in one pass.
HIDDEN_RUN = re.compile(
    "(?P<tag>[\U000e0000-\U000e007f]+)|(?P<variation>[\U000e0100-\U000e01ef]+)"
    f"|(?P<bidi>[{BIDI_CONTROLS}]+)|(?P<invisible>[{INVISIBLE}]+)"
)
# Any hidden character at all: one character class, which the engine scans for quickly.
HIDDEN_ANY = re.compile(f"[{INVISIBLE}{BIDI_CONTROLS}\U000e0000-\U000e01ef]")
# Characters `fold` changes besides the Cyrillic/Greek look-alikes, which only matter inside a word
# that also has ASCII letters (a script junction): fullwidth and mathematical letters, hidden ones.
_FOLD_TRIGGER = re.compile(
    f"[\uff01-\uff5e\U0001d400-\U0001d7ff{INVISIBLE}{BIDI_CONTROLS}\U000e0000-\U000e007f\U000e0100-\U000e01ef]"
)
# Where an ASCII letter touches a letter of another script: the middle of a mixed-script word.
SCRIPT_JUNCTION = re.compile(r"[A-Za-z][^\W\d_A-Za-z]|[^\W\d_A-Za-z][A-Za-z]")


def _build_table() -> dict[int, str | None]:
    table: dict[int, str | None] = {ord(char): latin for char, latin in _CONFUSABLES.items()}
    # Fullwidth ASCII and the mathematical alphanumeric letters read as plain ASCII.
    for code in list(range(0xFF01, 0xFF5F)) + list(range(0x1D400, 0x1D800)):
        folded = unicodedata.normalize("NFKC", chr(code))
        if len(folded) == 1 and folded.isascii():
            table[code] = folded
    for char in INVISIBLE + BIDI_CONTROLS:
        table[ord(char)] = None
    for code in range(TAG_RANGE[0], TAG_RANGE[1] + 1):
        table[code] = None
    for code in range(VARIATION_SUPPLEMENT[0], VARIATION_SUPPLEMENT[1] + 1):
        table[code] = None
    return table


_FOLD_TABLE = _build_table()
_DELETED = frozenset(code for code, value in _FOLD_TABLE.items() if value is None)


@dataclass(frozen=True, slots=True)
class Folded:
    """A folded text and the way back to the original's offsets."""

    text: str
    # Sorted folded-text positions at which deleted characters were skipped, one entry per deletion.
    _deletions: tuple[int, ...] = ()

    def original(self, index: int) -> int:
        """Original offset of folded position `index` (for an end offset, pass the end)."""
        return index + bisect.bisect_right(self._deletions, index)

    def original_end(self, index: int) -> int:
        """Original offset just after folded character `index - 1` (deletions after it excluded)."""
        return index + bisect.bisect_left(self._deletions, index)


def fold(text: str, *, mixed_scripts: bool | None = None) -> Folded | None:
    """The text as a reader would read it, or None when it is plain already (the common case).

    `mixed_scripts` passes on a known answer to `SCRIPT_JUNCTION.search(text)`, which is the
    costly part of deciding."""
    if text.isascii():
        return None
    if mixed_scripts is None:
        mixed_scripts = SCRIPT_JUNCTION.search(text) is not None
    if not mixed_scripts and _FOLD_TRIGGER.search(text) is None:
        # Cyrillic or Greek text on its own is just text; a disguised English word mixes scripts.
        return None
    folded = text.translate(_FOLD_TABLE)
    if len(folded) == len(text):
        return None if folded == text else Folded(folded)
    deletions: list[int] = []
    kept = 0
    for char in text:
        if ord(char) in _DELETED:
            deletions.append(kept)
        else:
            kept += 1
    return Folded(folded, tuple(deletions))


def is_confusable(char: str) -> bool:
    value = _FOLD_TABLE.get(ord(char))
    return value is not None and value.isascii()
