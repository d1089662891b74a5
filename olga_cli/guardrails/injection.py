"""Prompt injection: text that tries to take over the model's instructions.

Signals, each a match with a confidence (the guardrail's threshold decides):
- `instruction_override`: "ignore all previous instructions", "disregard the system prompt";
- `role_hijack`: "you are now DAN", "pretend you have no restrictions", "developer mode enabled";
- `system_prompt_extraction`: "reveal your system prompt", "repeat the words above";
- `delimiter_injection`: chat-template tokens (`<|im_start|>`, `[INST]`, `<<SYS>>`) and fake
  turn headers smuggled into content;
- `encoded_instructions`: base64 that decodes to an instruction (an ordinary base64 image does not);
- `invisible_unicode`: tag characters, bidi overrides, zero-width runs and variation-selector runs;
- `homoglyph`: a phrase above written with look-alike letters (Cyrillic, fullwidth, math letters).

Phrases are matched on the folded text (see `unicode_tricks`), so obfuscation does not hide them;
the obfuscation itself raises the confidence. Each phrase family's regex only runs when one of its
keywords occurs, so ordinary text costs one `lower()` and a few substring searches. A model-based
classifier plugs in beside or instead of this through `detector.ClassifierDetector`.
"""

from __future__ import annotations

import base64
import binascii
import re

from olga_cli.guardrails.detector import Match
from olga_cli.guardrails.injection_phrases import PERSONA_CUE, PHRASES
from olga_cli.guardrails.scan import KeywordIndex, finditer_in, merge_windows
from olga_cli.guardrails.spec import GuardrailType
from olga_cli.guardrails.unicode_tricks import (
    HIDDEN_ANY,
    HIDDEN_RUN,
    SCRIPT_JUNCTION,
    Folded,
    fold,
    is_confusable,
)

# Starts with the character class (not a lookbehind) so the engine skips other text quickly.
_BASE64_RUN = re.compile(
    r"[A-Za-z0-9+/](?<![A-Za-z0-9+/=_\-][A-Za-z0-9+/])[A-Za-z0-9+/]{23,}={0,2}(?![A-Za-z0-9+/=_\-])"
)
_MAX_DECODE = 65536
_WORDS = re.compile(r"[A-Za-z]{2,}")
_KEYWORDS = KeywordIndex(phrase.keywords for phrase in PHRASES)
_PHRASE_WINDOW = 120
_HOLD_WINDOW = 160
_PHRASE_AFTER = 200


def _decoded_text(run: str) -> str | None:
    """The run decoded as UTF-8 text, or None if it is not base64 of readable text."""
    run = run[:_MAX_DECODE].rstrip("=")
    run = run[: len(run) - len(run) % 4] if len(run) % 4 == 1 else run
    try:
        raw = base64.b64decode(run + "=" * (-len(run) % 4), validate=True)
        decoded = raw.decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return None
    printable = sum(char.isprintable() or char in "\n\t\r" for char in decoded)
    if printable < 0.95 * len(decoded):
        return None
    return decoded


class PromptInjectionDetector:
    """Scores text for prompt-injection signals; `score()` is the strongest signal's confidence."""

    @property
    def type(self) -> GuardrailType:
        return "prompt-injection"

    @property
    def lookbehind(self) -> int:
        return _PHRASE_WINDOW

    def score(self, text: str) -> float:
        return max((m.confidence for m in self.detect(text)), default=0.0)

    def detect(self, text: str) -> list[Match]:
        matches: list[Match] = []
        if text.isascii():
            self._phrases(text, text, None, matches)
        else:
            junction = SCRIPT_JUNCTION.search(text)
            folded = fold(text, mixed_scripts=junction is not None)
            self._phrases(text, folded.text if folded else text, folded, matches)
            hidden = HIDDEN_ANY.search(text)
            if hidden is not None:
                self._invisible(text, hidden.start(), matches)
            if junction is not None:
                self._homoglyph_words(text, junction.start(), matches)
        if len(text) >= 24:
            self._encoded(text, matches)
        return _sum_persona_cues(text, matches)

    def pending_start(self, text: str) -> int:
        size = len(text)
        # The last word may be a keyword (or a base64 run, or invisible characters) still arriving.
        words = text.rsplit(None, 1)
        start = size if not words or text[-1].isspace() else size - len(words[-1])
        # A phrase is anchored on its keyword: hold from just before any keyword whose phrase could
        # still be completed by text yet to come.
        offset = max(0, size - _HOLD_WINDOW)
        tail = text[offset:]
        folded = fold(tail)
        # Keywords are looked for as a reader sees them; folding only deletes characters, so a
        # folded position is at or before the original one, and holding from it holds enough.
        view = folded.text if folded else tail
        lowered = view.lower()
        if len(lowered) != len(view):
            return min(start, offset)
        end = len(lowered)
        for index, positions in _KEYWORDS.occurrences(lowered).items():
            phrase = PHRASES[index]
            for position in positions:
                if position >= end - phrase.after:
                    start = min(start, max(0, offset + position - phrase.before))
        return start

    @staticmethod
    def _phrases(original: str, view: str, folded: Folded | None, out: list[Match]) -> None:
        lowered = view.lower()
        size = len(view)
        # Lower-casing keeps offsets except for a few letters (such as 'İ'); then scan everything.
        whole = [(0, size)] if len(lowered) != size else None
        for index, positions in _KEYWORDS.occurrences(lowered).items():
            phrase = PHRASES[index]
            # Every match contains one of the phrase's keywords: scan only around them.
            spans = whole or merge_windows(positions, size, before=phrase.before, after=_PHRASE_AFTER)
            for m in finditer_in(phrase.regex, view, spans):
                confidence = phrase.score(m)
                start, end = m.start(), m.end()
                entity = phrase.entity
                if entity != PERSONA_CUE and _quoted(view, start, end):
                    # Quoted, the phrase is more often discussed than meant: weaker evidence.
                    confidence *= 0.5
                elif entity in _DEFENDED and _DEFENSIVE.search(view, max(0, start - 48), start):
                    # "Never reveal your instructions", "ignore requests to ignore previous
                    # instructions": a system prompt defending itself, not an attack.
                    confidence *= 0.4
                if folded is not None:
                    start, end = folded.original(start), folded.original_end(end)
                    if original[start:end] != view[m.start() : m.end()] and confidence >= 0.4:
                        # The phrase was disguised: that is intent, not an accident of wording.
                        entity = _disguise(original[start:end])
                        confidence = max(confidence, 0.9)
                out.append(Match(entity, start, end, confidence))

    @staticmethod
    def _invisible(text: str, start: int, out: list[Match]) -> None:
        # Hidden characters alone are weak evidence (translation tools and editors leave zero-width
        # spaces and joiners); they are strong only as a channel that carries a hidden message, or
        # when they break up an injection phrase (see `_phrases`).
        for m in HIDDEN_RUN.finditer(text, start):
            kind = m.lastgroup
            size = m.end() - m.start()
            confidence = 0.0
            if kind == "tag":
                # Emoji subdivision flags (England, Scotland, Wales) are a black flag plus tag letters.
                flag = (
                    m.start() > 0 and text[m.start() - 1] == "\U0001f3f4" and m.group().endswith("\U000e007f")
                )
                confidence = 0.0 if flag else (0.95 if size >= 4 else 0.3)
            elif kind == "variation":
                # Variation selectors beyond one per glyph encode bytes (emoji smuggling).
                confidence = 0.9 if size >= 8 else 0.0
            elif kind == "bidi":
                # Overrides (LRO, RLO) disguise what is shown, as in "txt.exe" spelled backwards.
                confidence = 0.55 if "\u202d" in m.group() or "\u202e" in m.group() else 0.4
            else:
                confidence = _invisible_run_confidence(text, m.start(), m.end())
            if confidence:
                out.append(Match("invisible_unicode", m.start(), m.end(), confidence))

    @staticmethod
    def _homoglyph_words(text: str, start: int, out: list[Match]) -> None:
        last_end = -1
        for junction in SCRIPT_JUNCTION.finditer(text, start):
            if junction.start() < last_end:
                continue
            word_start, word_end = junction.start(), junction.end()
            while word_start > 0 and _is_letter(text[word_start - 1]):
                word_start -= 1
            while word_end < len(text) and _is_letter(text[word_end]):
                word_end += 1
            last_end = word_end
            if any(is_confusable(char) for char in text[word_start:word_end]):
                out.append(Match("homoglyph", word_start, word_end, 0.45))

    @classmethod
    def _encoded(cls, text: str, out: list[Match]) -> None:
        for m in _BASE64_RUN.finditer(text):
            run = m.group()
            # Base64 of text mixes cases; identifiers and hex digests rarely decode to readable text.
            if run.isalpha() and (run.islower() or run.isupper()):
                continue
            decoded = _decoded_text(run)
            if decoded is None or len(_WORDS.findall(decoded)) < 3:
                continue
            inner: list[Match] = []
            folded = fold(decoded)
            cls._phrases(decoded, folded.text if folded else decoded, folded, inner)
            best = max((match.confidence for match in inner), default=0.0)
            confidence = max(0.9, best) if best >= 0.45 else 0.4
            out.append(Match("encoded_instructions", m.start(), m.end(), confidence))


_DEFENDED = frozenset(("instruction_override", "system_prompt_extraction"))
_DEFENSIVE = re.compile(
    r"(?i)(?:\b(?:never|not|no\s+circumstances?|cannot|can't|won't|refuse\s+to|under\s+no)\b[^.\n!]{0,32}"
    r"|\b(?:attempts?|requests?|tries|try|trying|asks?|asking|asked|prompting|intended|intends|wants?|"
    r"tells?\s+you)\s+to\s+(?:\w+\s+){0,2})\Z"
)
_OPEN_QUOTES = {
    '"': '"',
    "'": "'",
    "\u201c": "\u201d",
    "\u2018": "\u2019",
    "\u00ab": "\u00bb",
    "`": "`",
    "\u201e": "\u201c",
}


def _quoted(text: str, start: int, end: int) -> bool:
    """Whether text[start:end] sits inside quotation marks that open just before it and close on the
    same line (`the payload "ignore previous instructions" worked`)."""
    before = text[max(0, start - 3) : start].rstrip()
    if not before or before[-1] not in _OPEN_QUOTES:
        return False
    close = _OPEN_QUOTES[before[-1]]
    line_end = text.find("\n", end)
    rest = text[end : line_end if line_end != -1 else min(len(text), end + 400)]
    return close in rest[:400]


def _sum_persona_cues(text: str, matches: list[Match]) -> list[Match]:
    """Persona words (DAN, "stay in character", "uncensored") become one role_hijack whose
    confidence grows with the number of different cues: one is weak evidence, four are strong."""
    cues = [m for m in matches if m.entity == PERSONA_CUE]
    if not cues:
        return matches
    kept = [m for m in matches if m.entity != PERSONA_CUE]
    distinct = len({text[m.start : m.end].lower() for m in cues})
    confidence = _PERSONA_STEPS[min(distinct, len(_PERSONA_STEPS)) - 1]
    kept.append(Match("role_hijack", min(m.start for m in cues), max(m.end for m in cues), confidence))
    return kept


_PERSONA_STEPS = (0.3, 0.45, 0.65, 0.85)


def _invisible_run_confidence(text: str, start: int, end: int) -> float:
    run = text[start:end]
    if len(run) >= 3:
        return 0.35
    if len(run) == 2:
        return 0.0 if run == "\u200d\u200d" else 0.3
    before = text[start - 1] if start else " "
    after = text[end] if end < len(text) else " "
    # A zero-width space inside an English word may break up a keyword (the phrase check sees
    # through it); joiners and soft hyphens inside words are ordinary typography.
    inside_word = before.isascii() and before.isalpha() and after.isascii() and after.isalpha()
    return 0.3 if inside_word and run not in ("\u00ad", "\u200d", "\u200c") else 0.0


def _is_letter(char: str) -> bool:
    return char.isalpha()


def _disguise(span: str) -> str:
    return "homoglyph" if any(is_confusable(char) for char in span) else "invisible_unicode"
