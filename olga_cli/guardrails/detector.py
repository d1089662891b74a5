"""The detector interface every guardrail type plugs into.

A detector is stateless: `detect` finds matches in one text, `pending_start` tells a stream screener
how much of a text's tail could still grow into a match once more text arrives. The built-in
detectors are regex based; a model-based classifier plugs in through `TextClassifier` and
`ClassifierDetector` without the screen or the stream code changing.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from olga_cli.guardrails.spec import GuardrailType


@dataclass(frozen=True, slots=True)
class Match:
    """One detection: an entity at [start, end) of the scanned text, with a confidence in [0, 1]."""

    entity: str
    start: int
    end: int
    confidence: float
    # Only `log` guardrails record an advisory match (a signal not validated for blocking).
    advisory: bool = False


class Detector(Protocol):
    """Finds one guardrail type's entities in text."""

    @property
    def type(self) -> GuardrailType: ...

    @property
    def lookbehind(self) -> int:
        """How many characters before a match the detector looks at (e.g. `api_key = ` before a
        value): a stream screener keeps that much already-emitted text as context."""
        ...

    def detect(self, text: str) -> list[Match]:
        """Every match in `text`, in any order; overlapping matches are allowed."""
        ...

    def pending_start(self, text: str) -> int:
        """The smallest index from which `text`'s tail might still become a match when more text is
        appended (`len(text)` when no tail can). A stream screener holds back from there."""
        ...


class TextClassifier(Protocol):
    """A model that scores a whole text, e.g. a prompt-injection classifier: 0.0 benign, 1.0 attack."""

    def score(self, text: str) -> float: ...


@dataclass(frozen=True, slots=True)
class ClassifierDetector:
    """Adapts a `TextClassifier` to the `Detector` interface.

    The classifier judges a whole text, so a match spans all of it. In a stream it sees windows of at
    most `window` characters, which is also what the stream holds back.
    """

    classifier: TextClassifier
    guardrail_type: GuardrailType = "prompt-injection"
    entity: str = "prompt_injection_model"
    window: int = 512

    @property
    def type(self) -> GuardrailType:
        return self.guardrail_type

    @property
    def lookbehind(self) -> int:
        return 0

    def detect(self, text: str) -> list[Match]:
        if not text.strip():
            return []
        return [Match(self.entity, 0, len(text), float(self.classifier.score(text)))]

    def pending_start(self, text: str) -> int:
        return max(0, len(text) - self.window)
