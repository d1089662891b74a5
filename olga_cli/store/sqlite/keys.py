"""Keys and teams in SQLite."""

from __future__ import annotations

import json
import secrets
import time
from decimal import Decimal
from typing import Any

import aiosqlite

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
from olga_cli.store.sqlite.connection import transaction


class SqliteKeys:
    def __init__(self, db: aiosqlite.Connection) -> None:
        self._db = db

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
        async with transaction(self._db) as db:
            await db.execute(
                "INSERT INTO keys (id, name, hash, prefix, user_id, team_id, credits_enabled, rpm, tpm, models,"
                " rate_multiplier, expires_at, zdr, disabled, created_at, updated_at)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 0, ?, ?)",
                (
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
                ),
            )
            if credits_pico:
                await db.execute(
                    "INSERT INTO credits (key_id, amount_pico, note, created_at) VALUES (?, ?, ?, ?)",
                    (key_id, credits_pico, note or "initial credits", now),
                )
        row = await self.get_key(key_id)
        assert row is not None
        return row, plaintext

    async def get_key(self, ref: str) -> KeyRow | None:
        async with self._db.execute(
            "SELECT * FROM keys WHERE (id = ? OR name = ?) AND deleted_at IS NULL ORDER BY id = ? DESC LIMIT 1",
            (ref, ref, ref),
        ) as cursor:
            row = await cursor.fetchone()
        return None if row is None else key_from_row(row)

    async def get_key_any(self, key_id: str) -> KeyRow | None:
        async with self._db.execute("SELECT * FROM keys WHERE id = ?", (key_id,)) as cursor:
            row = await cursor.fetchone()
        return None if row is None else key_from_row(row)

    async def find_key_id(self, ref: str) -> str | None:
        async with self._db.execute(
            "SELECT id FROM keys WHERE id = ? OR name = ?"
            " ORDER BY id = ? DESC, deleted_at IS NULL DESC, created_at DESC LIMIT 1",
            (ref, ref, ref),
        ) as cursor:
            row = await cursor.fetchone()
        return None if row is None else str(row[0])

    async def list_keys(self, *, include_deleted: bool = False) -> list[KeyRow]:
        where = "" if include_deleted else "WHERE deleted_at IS NULL"
        async with self._db.execute(f"SELECT * FROM keys {where} ORDER BY created_at") as cursor:
            return [key_from_row(row) async for row in cursor]

    async def update_key(self, key_id: str, **fields: Any) -> None:
        unknown = set(fields) - KEY_UPDATABLE
        if unknown:
            raise ValueError(f"cannot update {', '.join(sorted(unknown))}")
        if not fields:
            return
        assignments = ", ".join(f"{name} = ?" for name in fields)
        await self._db.execute(
            f"UPDATE keys SET {assignments}, updated_at = ? WHERE id = ?",
            (*column_values(fields), time.time(), key_id),
        )

    async def delete_key(self, key_id: str) -> None:
        now = time.time()
        await self._db.execute(
            "UPDATE keys SET deleted_at = ?, updated_at = ? WHERE id = ?", (now, now, key_id)
        )

    async def create_team(
        self, *, name: str, models: tuple[str, ...] | None = None, rate_multiplier: Decimal = Decimal(1)
    ) -> TeamRow:
        team_id = "team_" + secrets.token_hex(6)
        await self._db.execute(
            "INSERT INTO teams (id, name, models, rate_multiplier, created_at) VALUES (?, ?, ?, ?, ?)",
            (
                team_id,
                name,
                None if models is None else json.dumps(list(models)),
                str(rate_multiplier),
                time.time(),
            ),
        )
        team = await self.get_team(team_id)
        assert team is not None
        return team

    async def get_team(self, ref: str) -> TeamRow | None:
        async with self._db.execute(
            "SELECT * FROM teams WHERE (id = ? OR name = ?) AND deleted_at IS NULL ORDER BY id = ? DESC LIMIT 1",
            (ref, ref, ref),
        ) as cursor:
            row = await cursor.fetchone()
        return None if row is None else team_from_row(row)

    async def list_teams(self) -> list[TeamRow]:
        async with self._db.execute(
            "SELECT * FROM teams WHERE deleted_at IS NULL ORDER BY created_at"
        ) as cursor:
            return [team_from_row(row) async for row in cursor]

    async def update_team(self, team_id: str, **fields: Any) -> None:
        for name in fields:
            if name not in TEAM_UPDATABLE:
                raise ValueError(f"cannot update {name}")
        if fields:
            assignments = ", ".join(f"{name} = ?" for name in fields)
            await self._db.execute(
                f"UPDATE teams SET {assignments} WHERE id = ?", (*column_values(fields), team_id)
            )

    async def delete_team(self, team_id: str) -> None:
        now = time.time()
        async with transaction(self._db) as db:
            await db.execute("UPDATE teams SET deleted_at = ? WHERE id = ?", (now, team_id))
            await db.execute(
                "UPDATE keys SET team_id = NULL, updated_at = ? WHERE team_id = ?", (now, team_id)
            )
            await db.execute(
                "UPDATE limits SET deleted_at = ? WHERE scope = 'team' AND scope_id = ? AND deleted_at IS NULL",
                (now, team_id),
            )

    async def scope_names(self) -> dict[tuple[str, str], str]:
        names: dict[tuple[str, str], str] = {}
        for table, scope in (("keys", "key"), ("teams", "team")):
            async with self._db.execute(f"SELECT id, name FROM {table}") as cursor:
                async for row in cursor:
                    names[(scope, row[0])] = row[1]
        return names
