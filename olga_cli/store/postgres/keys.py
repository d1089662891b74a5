"""Keys and teams in PostgreSQL. Every change notifies the listening instances."""

from __future__ import annotations

import json
import secrets
import time
from decimal import Decimal
from typing import Any

import asyncpg

from olga_cli.store.keys import (
    KEY_PREFIX,
    KEY_UPDATABLE,
    TEAM_UPDATABLE,
    KeyRow,
    TeamRow,
    column_values,
    hash_key,
    key_from_row,
    mint_key,
    team_from_row,
)
from olga_cli.store.postgres.connection import notify, transaction


def _assignments(fields: dict[str, Any], first: int) -> str:
    return ", ".join(f"{name} = ${first + i}" for i, name in enumerate(fields))


class PostgresKeys:
    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool

    async def create_key(
        self,
        *,
        name: str,
        user_id: str | None = None,
        team_id: str | None = None,
        credits_pico: int | None = None,
        rpm: int | None = None,
        tpm: int | None = None,
        models: tuple[str, ...] | None = None,
        rate_multiplier: Decimal = Decimal(1),
        expires_at: float | None = None,
        zdr: bool = False,
        note: str | None = None,
    ) -> tuple[KeyRow, str]:
        plaintext = mint_key()
        key_id = "key_" + secrets.token_hex(8)
        now = time.time()
        async with transaction(self._pool) as conn:
            await conn.execute(
                "INSERT INTO keys (id, name, hash, prefix, user_id, team_id, credits_enabled, rpm, tpm, models,"
                " rate_multiplier, expires_at, zdr, disabled, created_at, updated_at)"
                " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, 0, $14, $15)",
                key_id,
                name,
                hash_key(plaintext),
                plaintext[: len(KEY_PREFIX) + 4],
                user_id,
                team_id,
                int(credits_pico is not None),
                rpm,
                tpm,
                None if models is None else json.dumps(list(models)),
                str(rate_multiplier),
                expires_at,
                int(zdr),
                now,
                now,
            )
            await conn.execute(
                "INSERT INTO balances (key_id, credits) VALUES ($1, $2)", key_id, credits_pico or 0
            )
            if credits_pico:
                await conn.execute(
                    "INSERT INTO credits (key_id, amount_pico, note, created_at) VALUES ($1, $2, $3, $4)",
                    key_id,
                    credits_pico,
                    note or "initial credits",
                    now,
                )
            await notify(conn)
        row = await self.get_key(key_id)
        assert row is not None
        return row, plaintext

    async def get_key(self, ref: str) -> KeyRow | None:
        row = await self._pool.fetchrow(
            "SELECT * FROM keys WHERE (id = $1 OR name = $1) AND deleted_at IS NULL ORDER BY id = $1 DESC LIMIT 1",
            ref,
        )
        return None if row is None else key_from_row(row)

    async def get_key_any(self, key_id: str) -> KeyRow | None:
        row = await self._pool.fetchrow("SELECT * FROM keys WHERE id = $1", key_id)
        return None if row is None else key_from_row(row)

    async def find_key_id(self, ref: str) -> str | None:
        found = await self._pool.fetchval(
            "SELECT id FROM keys WHERE id = $1 OR name = $1"
            " ORDER BY id = $1 DESC, deleted_at IS NULL DESC, created_at DESC LIMIT 1",
            ref,
        )
        return None if found is None else str(found)

    async def list_keys(self, *, include_deleted: bool = False) -> list[KeyRow]:
        where = "" if include_deleted else "WHERE deleted_at IS NULL"
        return [
            key_from_row(row)
            for row in await self._pool.fetch(f"SELECT * FROM keys {where} ORDER BY created_at")
        ]

    async def update_key(self, key_id: str, **fields: Any) -> None:
        unknown = set(fields) - KEY_UPDATABLE
        if unknown:
            raise ValueError(f"cannot update {', '.join(sorted(unknown))}")
        if not fields:
            return
        n = len(fields)
        async with transaction(self._pool) as conn:
            await conn.execute(
                f"UPDATE keys SET {_assignments(fields, 1)}, updated_at = ${n + 1} WHERE id = ${n + 2}",
                *column_values(fields),
                time.time(),
                key_id,
            )
            await notify(conn)

    async def delete_key(self, key_id: str) -> None:
        now = time.time()
        async with transaction(self._pool) as conn:
            await conn.execute("UPDATE keys SET deleted_at = $1, updated_at = $1 WHERE id = $2", now, key_id)
            await notify(conn)

    async def create_team(
        self, *, name: str, models: tuple[str, ...] | None = None, rate_multiplier: Decimal = Decimal(1)
    ) -> TeamRow:
        team_id = "team_" + secrets.token_hex(6)
        async with transaction(self._pool) as conn:
            await conn.execute(
                "INSERT INTO teams (id, name, models, rate_multiplier, created_at) VALUES ($1, $2, $3, $4, $5)",
                team_id,
                name,
                None if models is None else json.dumps(list(models)),
                str(rate_multiplier),
                time.time(),
            )
            await notify(conn)
        team = await self.get_team(team_id)
        assert team is not None
        return team

    async def get_team(self, ref: str) -> TeamRow | None:
        row = await self._pool.fetchrow(
            "SELECT * FROM teams WHERE (id = $1 OR name = $1) AND deleted_at IS NULL ORDER BY id = $1 DESC LIMIT 1",
            ref,
        )
        return None if row is None else team_from_row(row)

    async def list_teams(self) -> list[TeamRow]:
        rows = await self._pool.fetch("SELECT * FROM teams WHERE deleted_at IS NULL ORDER BY created_at")
        return [team_from_row(row) for row in rows]

    async def update_team(self, team_id: str, **fields: Any) -> None:
        for name in fields:
            if name not in TEAM_UPDATABLE:
                raise ValueError(f"cannot update {name}")
        if not fields:
            return
        async with transaction(self._pool) as conn:
            await conn.execute(
                f"UPDATE teams SET {_assignments(fields, 1)} WHERE id = ${len(fields) + 1}",
                *column_values(fields),
                team_id,
            )
            await notify(conn)

    async def delete_team(self, team_id: str) -> None:
        now = time.time()
        async with transaction(self._pool) as conn:
            await conn.execute("UPDATE teams SET deleted_at = $1 WHERE id = $2", now, team_id)
            await conn.execute(
                "UPDATE keys SET team_id = NULL, updated_at = $1 WHERE team_id = $2", now, team_id
            )
            await conn.execute(
                "UPDATE limits SET deleted_at = $1 WHERE scope = 'team' AND scope_id = $2 AND deleted_at IS NULL",
                now,
                team_id,
            )
            await notify(conn)

    async def scope_names(self) -> dict[tuple[str, str], str]:
        names: dict[tuple[str, str], str] = {}
        for table, scope in (("keys", "key"), ("teams", "team")):
            for row in await self._pool.fetch(f"SELECT id, name FROM {table}"):
                names[(scope, row["id"])] = row["name"]
        return names
