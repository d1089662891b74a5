"""Guardrails and their violations in SQLite (tables of migration 003)."""

from __future__ import annotations

import json
import time
from collections.abc import Sequence

import aiosqlite

from olga_cli.store.guardrails import (
    GuardrailRow,
    Scope,
    ViolationRow,
    guardrail_from_row,
    violation_from_row,
)
from olga_cli.store.scopes import live_scope

# Guardrails of deleted keys and teams are left out: they can never apply again.
_LIVE = live_scope("g", with_global=True)


class SqliteGuardrails:
    def __init__(self, db: aiosqlite.Connection) -> None:
        self._db = db

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
    ) -> GuardrailRow:
        cursor = await self._db.execute(
            "INSERT INTO guardrails (name, scope, scope_id, type, stage, action, entities, threshold, created_at)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (name, scope, scope_id, type, stage, action, json.dumps(list(entities)), threshold, time.time()),
        )
        guardrail_id = cursor.lastrowid
        await cursor.close()
        assert guardrail_id is not None
        row = await self.get_guardrail(guardrail_id)
        assert row is not None
        return row

    async def get_guardrail(self, guardrail_id: int) -> GuardrailRow | None:
        async with self._db.execute(
            f"SELECT g.* FROM guardrails g WHERE g.id = ? AND {_LIVE}", (guardrail_id,)
        ) as cursor:
            row = await cursor.fetchone()
        return None if row is None else guardrail_from_row(row)

    async def find_guardrails(self, name: str) -> list[GuardrailRow]:
        async with self._db.execute(
            f"SELECT g.* FROM guardrails g WHERE g.name = ? AND {_LIVE} ORDER BY g.id", (name,)
        ) as cursor:
            return [guardrail_from_row(row) async for row in cursor]

    async def list_guardrails(
        self, *, scope: Scope | None = None, scope_id: str | None = None
    ) -> list[GuardrailRow]:
        sql, params = f"SELECT g.* FROM guardrails g WHERE {_LIVE}", []
        if scope is not None:
            sql += " AND g.scope = ? AND g.scope_id IS ?"
            params += [scope, scope_id]
        async with self._db.execute(sql + " ORDER BY g.id", params) as cursor:
            return [guardrail_from_row(row) async for row in cursor]

    async def remove_guardrail(self, guardrail_id: int) -> None:
        await self._db.execute(
            "UPDATE guardrails SET deleted_at = ? WHERE id = ? AND deleted_at IS NULL",
            (time.time(), guardrail_id),
        )

    async def latest_violations(self, *, key_id: str | None = None, limit: int = 50) -> list[ViolationRow]:
        sql, params = "SELECT * FROM guardrail_violations", []
        if key_id is not None:
            sql += " WHERE key_id = ?"
            params.append(key_id)
        async with self._db.execute(sql + " ORDER BY id DESC LIMIT ?", [*params, limit]) as cursor:
            rows = [violation_from_row(row) async for row in cursor]
        rows.reverse()
        return rows

    async def violations_after(
        self, after_id: int, *, key_id: str | None = None, limit: int = 1000
    ) -> list[ViolationRow]:
        sql = "SELECT * FROM guardrail_violations WHERE id > ?"
        params: list[object] = [after_id]
        if key_id is not None:
            sql += " AND key_id = ?"
            params.append(key_id)
        async with self._db.execute(sql + " ORDER BY id LIMIT ?", [*params, limit]) as cursor:
            return [violation_from_row(row) async for row in cursor]

    async def newest_violation_id(self) -> int:
        async with self._db.execute("SELECT COALESCE(MAX(id), 0) FROM guardrail_violations") as cursor:
            row = await cursor.fetchone()
        return int(row[0]) if row else 0
