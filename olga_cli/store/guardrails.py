"""Guardrails as configured with `olga guardrails add`, and the violations they recorded.

A guardrail belongs to a key, a team or everyone (``global``). Removing one marks it deleted rather
than dropping the row, so the violations that name it still resolve. A violation row is metadata only
(guardrail, stage, entity type, action, field and offsets), never the matched text; it is written in
the same batch as its generation record (``violation_insert`` makes it).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal, Protocol

from olga_cli.guardrails.spec import GuardrailSpec, Violation
from olga_cli.store.extras import Extra

Scope = Literal["key", "team", "global"]


@dataclass(frozen=True, slots=True)
class GuardrailRow:
    id: int
    name: str
    scope: Scope
    scope_id: str | None  # None for a global guardrail
    type: str  # pii | secrets | prompt-injection
    stage: str  # input | output | both
    action: str  # block | redact | log
    entities: tuple[str, ...]  # empty: every entity of the type
    threshold: float
    created_at: float

    def spec(self) -> GuardrailSpec:
        """The engine's view of this guardrail (the store's columns are checked by the migration)."""
        return GuardrailSpec(
            id=str(self.id),
            name=self.name,
            type=self.type,  # type: ignore[arg-type]
            stage=self.stage,  # type: ignore[arg-type]
            action=self.action,  # type: ignore[arg-type]
            entities=self.entities,
            threshold=self.threshold,
        )


@dataclass(frozen=True, slots=True)
class ViolationRow:
    id: int
    generation_id: str
    key_id: str
    guardrail_id: str
    guardrail_name: str
    type: str
    stage: str
    entity: str
    action: str
    field: str
    start: int
    end: int
    confidence: float
    created_at: float


# -- violations ----------------------------------------------------------------------------------


def violation_insert(violation: Violation, *, generation_id: str, key_id: str, at: float) -> Extra:
    """The statement that records one violation, committed in the same batch as its generation record."""
    return Extra(
        "violation",
        (
            generation_id,
            key_id,
            violation.guardrail_id,
            violation.guardrail_name,
            violation.type,
            violation.stage,
            violation.entity,
            violation.action,
            violation.field,
            violation.start,
            violation.end,
            violation.confidence,
            at,
        ),
    )


def guardrail_from_row(row: Any) -> GuardrailRow:
    return GuardrailRow(
        id=row["id"],
        name=row["name"],
        scope=row["scope"],
        scope_id=row["scope_id"],
        type=row["type"],
        stage=row["stage"],
        action=row["action"],
        entities=tuple(json.loads(row["entities"])),
        threshold=float(row["threshold"]),
        created_at=row["created_at"],
    )


def violation_from_row(row: Any) -> ViolationRow:
    return ViolationRow(
        id=row["id"],
        generation_id=row["generation_id"],
        key_id=row["key_id"],
        guardrail_id=row["guardrail_id"],
        guardrail_name=row["guardrail_name"],
        type=row["type"],
        stage=row["stage"],
        entity=row["entity"],
        action=row["action"],
        field=row["field"],
        start=row["start_offset"],
        end=row["end_offset"],
        confidence=float(row["confidence"]),
        created_at=row["created_at"],
    )


class GuardrailStore(Protocol):
    """Guardrails of live keys and teams, and global ones: those of deleted owners never apply again."""

    async def create_guardrail(
        self,
        *,
        name: str,
        scope: Scope,
        scope_id: str | None,
        type: str,
        stage: str,
        action: str,
        entities: Sequence[str] = (),
        threshold: float = 0.5,
    ) -> GuardrailRow: ...

    async def get_guardrail(self, guardrail_id: int) -> GuardrailRow | None: ...

    async def find_guardrails(self, name: str) -> list[GuardrailRow]:
        """Live guardrails named ``name`` (names need not be unique)."""

    async def list_guardrails(
        self, *, scope: Scope | None = None, scope_id: str | None = None
    ) -> list[GuardrailRow]: ...

    async def remove_guardrail(self, guardrail_id: int) -> None: ...

    async def latest_violations(self, *, key_id: str | None = None, limit: int = 50) -> list[ViolationRow]:
        """The newest ``limit`` violations (of one key when ``key_id`` is set), oldest first."""

    async def violations_after(
        self, after_id: int, *, key_id: str | None = None, limit: int = 1000
    ) -> list[ViolationRow]:
        """Violations committed since row ``after_id``, oldest first (`olga guardrails violations --follow`)."""

    async def newest_violation_id(self) -> int: ...
