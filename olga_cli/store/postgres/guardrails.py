"""Guardrails and their violations in PostgreSQL."""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from typing import Any

import asyncpg

from olga_cli.store.guardrails import (
    GuardrailRow,
    Scope,
    ViolationRow,
    guardrail_from_row,
    violation_from_row,
)
from olga_cli.store.postgres.connection import notify, transaction
from olga_cli.store.scopes import live_scope

_LIVE = live_scope("g", with_global=True)


class PostgresGuardrails:
    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool

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
        async with transaction(self._pool) as conn:
            guardrail_id = await conn.fetchval(
                "INSERT INTO guardrails (name, scope, scope_id, type, stage, action, entities, threshold, created_at)"
                " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING id",
                name,
                scope,
                scope_id,
                type,
                stage,
                action,
                json.dumps(list(entities)),
                float(threshold),
                time.time(),
            )
            await notify(conn)
        row = await self.get_guardrail(int(guardrail_id))
        assert row is not None
        return row

    async def get_guardrail(self, guardrail_id: int) -> GuardrailRow | None:
        row = await self._pool.fetchrow(
            f"SELECT g.* FROM guardrails g WHERE g.id = $1 AND {_LIVE}", guardrail_id
        )
        return None if row is None else guardrail_from_row(row)

    async def find_guardrails(self, name: str) -> list[GuardrailRow]:
        rows = await self._pool.fetch(
            f"SELECT g.* FROM guardrails g WHERE g.name = $1 AND {_LIVE} ORDER BY g.id", name
        )
        return [guardrail_from_row(row) for row in rows]

    async def list_guardrails(
        self, *, scope: Scope | None = None, scope_id: str | None = None
    ) -> list[GuardrailRow]:
        sql, params = f"SELECT g.* FROM guardrails g WHERE {_LIVE}", []
        if scope is not None:
            sql += " AND g.scope = $1 AND g.scope_id IS NOT DISTINCT FROM $2"
            params += [scope, scope_id]
        return [guardrail_from_row(row) for row in await self._pool.fetch(sql + " ORDER BY g.id", *params)]

    async def remove_guardrail(self, guardrail_id: int) -> None:
        async with transaction(self._pool) as conn:
            await conn.execute(
                "UPDATE guardrails SET deleted_at = $1 WHERE id = $2 AND deleted_at IS NULL",
                time.time(),
                guardrail_id,
            )
            await notify(conn)

    async def latest_violations(self, *, key_id: str | None = None, limit: int = 50) -> list[ViolationRow]:
        sql, params = "SELECT * FROM guardrail_violations", list[Any]()
        if key_id is not None:
            sql += " WHERE key_id = $1"
            params.append(key_id)
        params.append(limit)
        rows = await self._pool.fetch(sql + f" ORDER BY id DESC LIMIT ${len(params)}", *params)
        found = [violation_from_row(row) for row in rows]
        found.reverse()
        return found

    async def violations_after(
        self, after_id: int, *, key_id: str | None = None, limit: int = 1000
    ) -> list[ViolationRow]:
        sql = "SELECT * FROM guardrail_violations WHERE id > $1"
        params: list[Any] = [after_id]
        if key_id is not None:
            params.append(key_id)
            sql += " AND key_id = $2"
        params.append(limit)
        rows = await self._pool.fetch(sql + f" ORDER BY id LIMIT ${len(params)}", *params)
        return [violation_from_row(row) for row in rows]

    async def newest_violation_id(self) -> int:
        return int(await self._pool.fetchval("SELECT COALESCE(MAX(id), 0) FROM guardrail_violations"))
