"""Guardrails as configured with `olga guardrails add`, and the violations they recorded.

A guardrail belongs to a key, a team or everyone (``global``). Removing one marks it deleted rather
than dropping the row, so the violations that name it still resolve. A violation row is metadata only
(guardrail, stage, entity type, action, field and offsets), never the matched text; it is written in
the same batch as its generation record (``violation_insert`` gives the statement).
"""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import aiosqlite

from olga_cli.guardrails.spec import GuardrailSpec, Violation
from olga_cli.store.generations import Extra
from olga_cli.store.scopes import live_scope

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


def _guardrail(row: aiosqlite.Row) -> GuardrailRow:
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


async def create_guardrail(
    db: aiosqlite.Connection,
    *,
    name: str,
    scope: Scope,
    scope_id: str | None,
    type: str,
    stage: str,
    action: str,
    entities: Sequence[str] = (),
    threshold: float = 0.5,
) -> GuardrailRow:
    cursor = await db.execute(
        "INSERT INTO guardrails (name, scope, scope_id, type, stage, action, entities, threshold, created_at)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (name, scope, scope_id, type, stage, action, json.dumps(list(entities)), threshold, time.time()),
    )
    guardrail_id = cursor.lastrowid
    await cursor.close()
    assert guardrail_id is not None
    row = await get_guardrail(db, guardrail_id)
    assert row is not None
    return row


# Guardrails of deleted keys and teams are left out: they can never apply again.
_LIVE = live_scope("g", with_global=True)


async def get_guardrail(db: aiosqlite.Connection, guardrail_id: int) -> GuardrailRow | None:
    async with db.execute(
        f"SELECT g.* FROM guardrails g WHERE g.id = ? AND {_LIVE}", (guardrail_id,)
    ) as cursor:
        row = await cursor.fetchone()
    return None if row is None else _guardrail(row)


async def find_guardrails(db: aiosqlite.Connection, name: str) -> list[GuardrailRow]:
    """Live guardrails named ``name`` (names need not be unique)."""
    async with db.execute(
        f"SELECT g.* FROM guardrails g WHERE g.name = ? AND {_LIVE} ORDER BY g.id", (name,)
    ) as cursor:
        return [_guardrail(row) async for row in cursor]


async def list_guardrails(
    db: aiosqlite.Connection, *, scope: Scope | None = None, scope_id: str | None = None
) -> list[GuardrailRow]:
    sql, params = f"SELECT g.* FROM guardrails g WHERE {_LIVE}", []
    if scope is not None:
        sql += " AND g.scope = ? AND g.scope_id IS ?"
        params += [scope, scope_id]
    async with db.execute(sql + " ORDER BY g.id", params) as cursor:
        return [_guardrail(row) async for row in cursor]


async def remove_guardrail(db: aiosqlite.Connection, guardrail_id: int) -> None:
    await db.execute(
        "UPDATE guardrails SET deleted_at = ? WHERE id = ? AND deleted_at IS NULL",
        (time.time(), guardrail_id),
    )


# -- violations ----------------------------------------------------------------------------------

_INSERT_VIOLATION = (
    "INSERT INTO guardrail_violations (generation_id, key_id, guardrail_id, guardrail_name, type, stage, entity,"
    " action, field, start_offset, end_offset, confidence, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)


def violation_insert(violation: Violation, *, generation_id: str, key_id: str, at: float) -> Extra:
    """The statement that records one violation, committed in the same batch as its generation record."""
    return Extra(
        _INSERT_VIOLATION,
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


def _violation(row: aiosqlite.Row) -> ViolationRow:
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


async def latest_violations(
    db: aiosqlite.Connection, *, key_id: str | None = None, limit: int = 50
) -> list[ViolationRow]:
    """The newest ``limit`` violations (of one key when ``key_id`` is set), oldest first."""
    sql, params = "SELECT * FROM guardrail_violations", []
    if key_id is not None:
        sql += " WHERE key_id = ?"
        params.append(key_id)
    async with db.execute(sql + " ORDER BY id DESC LIMIT ?", [*params, limit]) as cursor:
        rows = [_violation(row) async for row in cursor]
    rows.reverse()
    return rows


async def violations_after(
    db: aiosqlite.Connection, after_id: int, *, key_id: str | None = None, limit: int = 1000
) -> list[ViolationRow]:
    """Violations committed since row ``after_id``, oldest first (`olga guardrails violations --follow`)."""
    sql = "SELECT * FROM guardrail_violations WHERE id > ?"
    params: list[object] = [after_id]
    if key_id is not None:
        sql += " AND key_id = ?"
        params.append(key_id)
    async with db.execute(sql + " ORDER BY id LIMIT ?", [*params, limit]) as cursor:
        return [_violation(row) async for row in cursor]


async def newest_violation_id(db: aiosqlite.Connection) -> int:
    async with db.execute("SELECT COALESCE(MAX(id), 0) FROM guardrail_violations") as cursor:
        row = await cursor.fetchone()
    return int(row[0]) if row else 0
