"""What a guardrail is and what it reports: the configured spec and the violation metadata.

A violation never carries the matched text, only where it was (field path and offsets) and what it
was (entity type, confidence), so it can be stored and shown even for zero-data-retention keys.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal, get_args

GuardrailType = Literal["pii", "secrets", "prompt-injection"]
SpecStage = Literal["input", "output", "both"]
Stage = Literal["input", "output"]
Action = Literal["block", "redact", "log"]
Api = Literal["chat", "messages", "responses", "embeddings"]

GUARDRAIL_TYPES: tuple[GuardrailType, ...] = get_args(GuardrailType)
ACTIONS: tuple[Action, ...] = get_args(Action)
SPEC_STAGES: tuple[SpecStage, ...] = get_args(SpecStage)

PII_ENTITIES: tuple[str, ...] = ("email", "phone", "credit_card", "ssn", "iban", "ip_address")
SECRET_ENTITIES: tuple[str, ...] = (
    "openai_api_key",
    "anthropic_api_key",
    "olga_api_key",
    "aws_access_key",
    "aws_secret_key",
    "github_token",
    "gitlab_token",
    "slack_token",
    "slack_webhook",
    "stripe_key",
    "google_api_key",
    "huggingface_token",
    "sendgrid_key",
    "npm_token",
    "jwt",
    "bearer_token",
    "basic_auth",
    "private_key",
    "high_entropy_secret",
    "password",
    "azure_storage_key",
    "azure_sas_token",
)
INJECTION_ENTITIES: tuple[str, ...] = (
    "instruction_override",
    "role_hijack",
    "system_prompt_extraction",
    "delimiter_injection",
    "encoded_instructions",
    "invisible_unicode",
    "homoglyph",
    "injection_classifier",
)

# The entity names each built-in guardrail type can report; `--entities` is checked against these.
ENTITIES: Mapping[GuardrailType, frozenset[str]] = {
    "pii": frozenset(PII_ENTITIES),
    "secrets": frozenset(SECRET_ENTITIES),
    "prompt-injection": frozenset(INJECTION_ENTITIES),
}


@dataclass(frozen=True, slots=True)
class GuardrailSpec:
    """One configured guardrail. `entities` empty means every entity of the type."""

    id: str
    name: str
    type: GuardrailType
    stage: SpecStage
    action: Action
    entities: tuple[str, ...] = ()
    threshold: float = 0.5

    def applies_to(self, stage: Stage) -> bool:
        return self.stage == stage or self.stage == "both"

    def wants(self, entity: str, confidence: float) -> bool:
        """Whether a detection of `entity` at `confidence` counts as a violation of this guardrail."""
        if confidence < self.threshold:
            return False
        return not self.entities or entity in self.entities


def validate_spec(spec: GuardrailSpec) -> None:
    """Raise ValueError naming the first field that a guardrail cannot have.

    The CLI calls this before storing a guardrail, so a typo in `--entities` is caught when it is
    typed rather than silently matching nothing on every request.
    """
    if spec.type not in GUARDRAIL_TYPES:
        raise ValueError(f"unknown guardrail type {spec.type!r}; use one of {', '.join(GUARDRAIL_TYPES)}")
    if spec.stage not in SPEC_STAGES:
        raise ValueError(f"unknown stage {spec.stage!r}; use one of {', '.join(SPEC_STAGES)}")
    if spec.action not in ACTIONS:
        raise ValueError(f"unknown action {spec.action!r}; use one of {', '.join(ACTIONS)}")
    if not 0.0 <= spec.threshold <= 1.0:
        raise ValueError(f"threshold must be between 0.0 and 1.0, got {spec.threshold}")
    known = ENTITIES[spec.type]
    for entity in spec.entities:
        if entity not in known:
            raise ValueError(f"unknown {spec.type} entity {entity!r}; use any of {', '.join(sorted(known))}")


@dataclass(frozen=True, slots=True)
class Violation:
    """One detection that crossed a guardrail's threshold: metadata only, never the matched text.

    `start` and `end` are character offsets into the original text of `field` (for a stream, into
    the whole text streamed under that field so far), before any redaction.
    """

    guardrail_id: str
    guardrail_name: str
    type: GuardrailType
    stage: Stage
    entity: str
    action: Action
    start: int
    end: int
    confidence: float
    field: str = ""

    def as_record(self) -> dict[str, object]:
        """The JSON-ready form stored with the generation record."""
        return {
            "guardrail_id": self.guardrail_id,
            "guardrail_name": self.guardrail_name,
            "type": self.type,
            "stage": self.stage,
            "entity": self.entity,
            "action": self.action,
            "field": self.field,
            "start": self.start,
            "end": self.end,
            "confidence": round(self.confidence, 3),
        }
