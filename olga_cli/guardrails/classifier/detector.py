"""The prompt-injection detector with the classifier: the rules' matches plus the model's verdict.

The rules stay precise where a model is weak (chat-template tokens, encodings, invisible and
look-alike characters); the model catches what carries no keyword (role play, fiction framing,
personas, indirect injections in documents, other languages). A text is flagged when either
reaches the guardrail's threshold. The model's match spans its strongest window.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

from olga_cli.guardrails.detector import Detector, Match
from olga_cli.guardrails.injection import PromptInjectionDetector
from olga_cli.guardrails.spec import GuardrailType

ENTITY = "injection_classifier"
# Scores below this are noise: not worth a match object (a guardrail's threshold is at least this).
_FLOOR = 0.05


class WindowScorer(Protocol):
    """What the detector needs of the model (`classifier.InjectionModel`)."""

    @property
    def blocking(self) -> bool: ...

    def strongest(self, text: str) -> _Window: ...


class _Window(Protocol):
    @property
    def score(self) -> float: ...

    @property
    def start(self) -> int: ...

    @property
    def end(self) -> int: ...


@dataclass(frozen=True, slots=True)
class ClassifiedInjectionDetector:
    """Rules plus model for input screening. Slow next to the rules (milliseconds per text), so a
    screen that holds it runs off the event loop (`Screen.offload`); answers are screened by the
    rules alone (`output_detector`), as they stream and the model was trained on prompts."""

    model: WindowScorer
    rules: PromptInjectionDetector = field(default_factory=PromptInjectionDetector)

    @property
    def type(self) -> GuardrailType:
        return "prompt-injection"

    @property
    def lookbehind(self) -> int:
        return self.rules.lookbehind

    @property
    def offload(self) -> bool:
        return True

    @property
    def advisory_only(self) -> bool:
        """The model is not validated for blocking: it only feeds `log` guardrails."""
        return not self.model.blocking

    @property
    def output_detector(self) -> Detector:
        return self.rules

    @property
    def model_detector(self) -> ModelDetector:
        """The model's verdict alone: what a gateway runs beside the upstream call when the model
        only informs `log` guardrails (`Screen.advisory`), the rules staying on the request's path."""
        return ModelDetector(self.model)

    def detect(self, text: str) -> list[Match]:
        return [*self.rules.detect(text), *self.model_detector.detect(text)]

    def pending_start(self, text: str) -> int:
        return self.rules.pending_start(text)


@dataclass(frozen=True, slots=True)
class ModelDetector:
    """The classifier's strongest window as a match, without the rules."""

    model: WindowScorer

    @property
    def type(self) -> GuardrailType:
        return "prompt-injection"

    @property
    def lookbehind(self) -> int:
        return 0

    @property
    def offload(self) -> bool:
        return True

    def detect(self, text: str) -> list[Match]:
        if not text.strip():
            return []
        best = self.model.strongest(text)
        if best.score < _FLOOR:
            return []
        # Measured above the false-positive goal, the model only informs (`log` guardrails).
        return [Match(ENTITY, best.start, best.end, best.score, advisory=not self.model.blocking)]

    def pending_start(self, text: str) -> int:
        return len(text)  # input only: never screens a stream
