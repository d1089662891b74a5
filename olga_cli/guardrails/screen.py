"""Applying a stage's guardrails to one text: detect once per type, judge per guardrail, act.

A `Screen` is built once per request and stage from the guardrails that apply (key, team and global
ones, chosen by the caller). Each detector runs once per text however many guardrails of its type
there are; each guardrail then keeps the matches of its entities at or above its threshold.
Actions: `block` marks the result blocked (the caller answers 422), `redact` replaces the match in
place with `[ENTITY]`, `log` only records. Violations carry offsets, never the matched text.
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from olga_cli.guardrails.classifier import load as load_classifier
from olga_cli.guardrails.classifier.detector import ClassifiedInjectionDetector
from olga_cli.guardrails.detector import Detector, Match
from olga_cli.guardrails.injection import PromptInjectionDetector
from olga_cli.guardrails.pii import PiiDetector
from olga_cli.guardrails.secrets import SecretsDetector
from olga_cli.guardrails.spec import GuardrailSpec, GuardrailType, Stage, Violation


def default_detectors(kinds: Iterable[GuardrailType] | None = None) -> dict[GuardrailType, Detector]:
    """The built-in detector for each guardrail type (or only for ``kinds``): prompt injection with the
    offline classifier when `olga[classifier]` is installed, the rules alone otherwise. The classifier
    (numpy and onnxruntime, about 100 MB) is loaded only when prompt injection is asked for."""
    wanted = set(kinds) if kinds is not None else {"pii", "secrets", "prompt-injection"}
    detectors: dict[GuardrailType, Detector] = {}
    if "pii" in wanted:
        detectors["pii"] = PiiDetector()
    if "secrets" in wanted:
        detectors["secrets"] = SecretsDetector()
    if "prompt-injection" in wanted:
        model = load_classifier()
        detectors["prompt-injection"] = (
            PromptInjectionDetector() if model is None else ClassifiedInjectionDetector(model)
        )
    return detectors


def _for_stage(detector: Detector, stage: Stage, specs: Sequence[GuardrailSpec]) -> Detector:
    """Answers are screened by a model-backed detector's rules (`output_detector`), as they stream;
    so is input when the model only informs `log` guardrails and none of these logs."""
    advisory = getattr(detector, "advisory_only", False)
    if stage == "output" or (advisory and all(spec.action != "log" for spec in specs)):
        rules: Detector | None = getattr(detector, "output_detector", None)
        if rules is not None:
            return rules
    return detector


# An agent resends its whole conversation on every turn, so all but the newest message of a request
# was screened on the turn before: input texts are remembered by content hash, per screen (a screen
# lives until the guardrails change). Hashing runs at about a GB/s, the rules at a few MB/s and with
# 50-150 µs of fixed cost a text: even a 20-character tool result is cheaper to remember than to scan
# (a Claude Code turn's 16 short texts took 1 ms to rescan on every turn).
MEMO_SIZE = 16384


def text_digest(text: str) -> bytes:
    """The key a text's verdict is remembered under."""
    return hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=16).digest()


def redaction_token(guardrail_type: GuardrailType, entity: str) -> str:
    """What replaces a redacted match: `[EMAIL]`, `[OPENAI_API_KEY]`, `[PROMPT_INJECTION]`."""
    if guardrail_type == "prompt-injection":
        return "[PROMPT_INJECTION]"
    return f"[{entity.upper()}]"


@dataclass(frozen=True, slots=True)
class Hit:
    """A match that crossed one guardrail's threshold: the violation before it gets its offsets
    shifted into the caller's coordinates."""

    spec: GuardrailSpec
    match: Match

    def violation(
        self, stage: Stage, field: str, *, shift: int = 0, start: int | None = None, end: int | None = None
    ) -> Violation:
        return Violation(
            guardrail_id=self.spec.id,
            guardrail_name=self.spec.name,
            type=self.spec.type,
            stage=stage,
            entity=self.match.entity,
            action=self.spec.action,
            start=shift + (self.match.start if start is None else start),
            end=shift + (self.match.end if end is None else end),
            confidence=self.match.confidence,
            field=field,
        )


@dataclass(frozen=True, slots=True)
class ScreenResult:
    """One text after screening: `text` is redacted where a guardrail said so."""

    text: str
    violations: tuple[Violation, ...] = ()
    blocked: Violation | None = None


@dataclass(slots=True)
class ScreenOutcome:
    """Everything a request or response body produced: its violations and the first block."""

    violations: list[Violation] = field(default_factory=list)
    blocked: Violation | None = None

    def add(self, result: ScreenResult) -> None:
        self.violations.extend(result.violations)
        if self.blocked is None and result.blocked is not None:
            self.blocked = result.blocked

    @property
    def redacted(self) -> bool:
        """Whether a text of the body was rewritten."""
        return any(v.action == "redact" for v in self.violations)

    @property
    def blocking(self) -> list[Violation]:
        return [v for v in self.violations if v.action == "block"]

    def block_message(self) -> str | None:
        """The 422 message: guardrail, stage and entity types, never the matched text."""
        if self.blocked is None:
            return None
        return describe_block(self.blocking)


def describe_block(blocking: Sequence[Violation]) -> str:
    first = blocking[0]
    entities = sorted({v.entity for v in blocking if v.guardrail_id == first.guardrail_id})
    return (
        f"guardrail {first.guardrail_name!r} ({first.type}) blocked the {first.stage}: "
        f"detected {', '.join(entities)}"
    )


class Screen:
    """The guardrails of one stage, ready to screen texts. Cheap to build; holds no per-text state."""

    def __init__(
        self,
        specs: Iterable[GuardrailSpec],
        stage: Stage,
        *,
        detectors: Mapping[GuardrailType, Detector] | None = None,
        advisory: Screen | None = None,
    ) -> None:
        self.stage: Stage = stage
        # What a model only advises (`log` guardrails), screened apart: see `advice_apart`.
        self.advisory = advisory
        specs = list(specs)
        available = detectors if detectors is not None else default_detectors({s.type for s in specs})
        grouped: dict[GuardrailType, list[GuardrailSpec]] = {}
        for spec in specs:
            if spec.applies_to(stage):
                grouped.setdefault(spec.type, []).append(spec)
        self._groups: tuple[tuple[Detector, tuple[GuardrailSpec, ...]], ...] = tuple(
            (_for_stage(available[kind], stage, kind_specs), tuple(kind_specs))
            for kind, kind_specs in grouped.items()
        )
        # A detector with a model takes milliseconds per text: screen off the event loop.
        self.offload: bool = any(getattr(detector, "offload", False) for detector, _ in self._groups)
        self.specs: tuple[GuardrailSpec, ...] = tuple(s for _, group in self._groups for s in group)
        # Context a detector needs before a match: what a stream keeps of already-emitted text.
        self.lookbehind = max((detector.lookbehind for detector, _ in self._groups), default=0)
        # Answers are new text, and a stream screens growing prefixes: only input is remembered.
        self._memo: OrderedDict[bytes, tuple[Hit, ...]] | None = OrderedDict() if stage == "input" else None
        self._memo_lock = threading.Lock()  # screens run in worker threads when a model is involved

    @property
    def active(self) -> bool:
        return bool(self._groups)

    @property
    def may_change_text(self) -> bool:
        """Whether a guardrail here redacts or blocks (a `log`-only screen never alters output)."""
        return any(spec.action != "log" for spec in self.specs)

    def remembers(self, digest: bytes) -> bool:
        """Whether the text with this ``text_digest`` was screened before (its verdict is kept)."""
        with self._memo_lock:
            return self._memo is not None and digest in self._memo

    def hits(self, text: str, digest: bytes | None = None) -> list[Hit]:
        """Every (guardrail, match) pair that counts, in text order. ``digest`` is the text's
        ``text_digest`` when the caller has it already."""
        if self._memo is None:
            return self._find(text)
        if digest is None:
            digest = text_digest(text)
        with self._memo_lock:
            known = self._memo.get(digest)
            if known is not None:
                self._memo.move_to_end(digest)
                return list(known)
        found = self._find(text)
        with self._memo_lock:
            self._memo[digest] = tuple(found)
            if len(self._memo) > MEMO_SIZE:
                self._memo.popitem(last=False)
        return found

    def _find(self, text: str) -> list[Hit]:
        found: list[Hit] = []
        if not text:
            return found
        for detector, specs in self._groups:
            for match in detector.detect(text):
                for spec in specs:
                    if match.advisory and spec.action != "log":
                        continue
                    if spec.wants(match.entity, match.confidence):
                        found.append(Hit(spec, match))
        found.sort(key=lambda hit: (hit.match.start, -hit.match.end))
        return found

    def pending_start(self, text: str) -> int:
        """Where the tail that could still grow into a match begins (stream holdback)."""
        return min((detector.pending_start(text) for detector, _ in self._groups), default=len(text))

    def screen_text(self, text: str, *, field: str = "", digest: bytes | None = None) -> ScreenResult:
        if not self._groups or not text:
            return ScreenResult(text)
        hits = self.hits(text, digest)
        if not hits:
            return ScreenResult(text)
        violations = tuple(hit.violation(self.stage, field) for hit in hits)
        blocked = next((v for v in violations if v.action == "block"), None)
        return ScreenResult(redact(text, hits), violations, blocked)


def advice_apart(
    specs: Sequence[GuardrailSpec], stage: Stage, detectors: Mapping[GuardrailType, Detector]
) -> Screen:
    """The screen a gateway runs on a request's path, with what a model only advises apart.

    A model not validated for blocking only feeds `log` guardrails, so nothing the request gets or
    is refused waits on its verdict: the returned screen holds the rules (for every guardrail), and its
    `advisory` screen the model's verdict for the `log` guardrails alone, to run beside the upstream
    call and be recorded with the rest. Together they find what one screen with both would."""
    now = dict(detectors)
    later: dict[GuardrailType, Detector] = {}
    later_specs: list[GuardrailSpec] = []
    for kind, detector in detectors.items():
        if (
            stage != "input"
            or not isinstance(detector, ClassifiedInjectionDetector)
            or not detector.advisory_only
        ):
            continue
        now[kind] = detector.output_detector
        logs = [s for s in specs if s.type == kind and s.action == "log" and s.applies_to(stage)]
        if logs:
            later[kind] = detector.model_detector
            later_specs += logs
    advisory = Screen(later_specs, stage, detectors=later) if later_specs else None
    return Screen(specs, stage, detectors=now, advisory=advisory)


def redact(text: str, hits: Sequence[Hit], *, lo: int = 0, hi: int | None = None) -> str:
    """`text[lo:hi]` with every redacting hit replaced by its token; overlapping hits merge into one
    token (the earliest-starting, longest hit names it). Hits are clipped to [lo, hi)."""
    hi = len(text) if hi is None else hi
    spans: list[tuple[int, int, str]] = []
    for hit in hits:
        if hit.spec.action != "redact":
            continue
        start, end = max(hit.match.start, lo), min(hit.match.end, hi)
        if start < end:
            spans.append((start, end, redaction_token(hit.spec.type, hit.match.entity)))
    if not spans:
        return text[lo:hi]
    spans.sort(key=lambda span: (span[0], -span[1]))
    pieces: list[str] = []
    cursor = lo  # end of what has been consumed: text copied or covered by a token
    for start, end, token in spans:
        if start < cursor:
            # Overlaps the span just replaced: its token covers this one too.
            cursor = max(cursor, end)
            continue
        pieces.append(text[cursor:start])
        pieces.append(token)
        cursor = end
    pieces.append(text[cursor:hi])
    return "".join(pieces)
