"""Keys and teams as stored: an olga key is kept only as its SHA-256, with a short prefix to recognise it."""

from __future__ import annotations

import hashlib
import json
import secrets
import time
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import aiosqlite

KEY_PREFIX = "sk-olga-"


def hash_key(key: str) -> str:
    # Keys carry 256 random bits, so a fast unsalted hash is safe: nothing to brute-force.
    return hashlib.sha256(key.encode()).hexdigest()


def mint_key() -> str:
    return KEY_PREFIX + secrets.token_urlsafe(32)


@dataclass(frozen=True, slots=True)
class KeyRow:
    id: str
    name: str
    hash: str
    prefix: str
    user_id: str | None
    team_id: str | None
    credits_enabled: bool
    rpm: int | None
    tpm: int | None
    models: tuple[str, ...] | None
    rate_multiplier: Decimal
    expires_at: float | None
    zdr: bool
    disabled: bool
    created_at: float
    updated_at: float
    deleted_at: float | None

    def status(self, now: float) -> str:
        if self.deleted_at is not None:
            return "deleted"
        if self.disabled:
            return "disabled"
        if self.expires_at is not None and self.expires_at <= now:
            return "expired"
        return "active"


@dataclass(frozen=True, slots=True)
class TeamRow:
    id: str
    name: str
    models: tuple[str, ...] | None
    rate_multiplier: Decimal
    created_at: float
    deleted_at: float | None


def _models(raw: str | None) -> tuple[str, ...] | None:
    return None if raw is None else tuple(json.loads(raw))


def key_from_row(row: aiosqlite.Row) -> KeyRow:
    return KeyRow(
        id=row["id"],
        name=row["name"],
        hash=row["hash"],
        prefix=row["prefix"],
        user_id=row["user_id"],
        team_id=row["team_id"],
        credits_enabled=bool(row["credits_enabled"]),
        rpm=row["rpm"],
        tpm=row["tpm"],
        models=_models(row["models"]),
        rate_multiplier=Decimal(row["rate_multiplier"]),
        expires_at=row["expires_at"],
        zdr=bool(row["zdr"]),
        disabled=bool(row["disabled"]),
        created_at=row["created_at"],
        updated_at=row["updated_at"],
        deleted_at=row["deleted_at"],
    )


def team_from_row(row: aiosqlite.Row) -> TeamRow:
    return TeamRow(
        id=row["id"],
        name=row["name"],
        models=_models(row["models"]),
        rate_multiplier=Decimal(row["rate_multiplier"]),
        created_at=row["created_at"],
        deleted_at=row["deleted_at"],
    )


async def create_key(
    db: aiosqlite.Connection,
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
    """Mint a key; returns the stored row and the full key, which exists nowhere else afterwards."""
    plaintext = mint_key()
    key_id = "key_" + secrets.token_hex(8)
    now = time.time()
    await db.execute("BEGIN IMMEDIATE")
    try:
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
        await db.execute("COMMIT")
    except BaseException:
        await db.execute("ROLLBACK")
        raise
    row = await get_key(db, key_id)
    assert row is not None
    return row, plaintext


async def get_key(db: aiosqlite.Connection, ref: str) -> KeyRow | None:
    """A live (not deleted) key by id or name."""
    async with db.execute(
        "SELECT * FROM keys WHERE (id = ? OR name = ?) AND deleted_at IS NULL ORDER BY id = ? DESC LIMIT 1",
        (ref, ref, ref),
    ) as cursor:
        row = await cursor.fetchone()
    return None if row is None else key_from_row(row)


async def get_key_any(db: aiosqlite.Connection, key_id: str) -> KeyRow | None:
    async with db.execute("SELECT * FROM keys WHERE id = ?", (key_id,)) as cursor:
        row = await cursor.fetchone()
    return None if row is None else key_from_row(row)


async def list_keys(db: aiosqlite.Connection, *, include_deleted: bool = False) -> list[KeyRow]:
    where = "" if include_deleted else "WHERE deleted_at IS NULL"
    async with db.execute(f"SELECT * FROM keys {where} ORDER BY created_at") as cursor:
        return [key_from_row(row) async for row in cursor]


_UPDATABLE = {
    "name",
    "user_id",
    "team_id",
    "rpm",
    "tpm",
    "models",
    "rate_multiplier",
    "expires_at",
    "zdr",
    "disabled",
    "credits_enabled",
}


async def update_key(db: aiosqlite.Connection, key_id: str, **fields: Any) -> None:
    unknown = set(fields) - _UPDATABLE
    if unknown:
        raise ValueError(f"cannot update {', '.join(sorted(unknown))}")
    if not fields:
        return
    values = []
    for name, value in fields.items():
        if name == "models" and value is not None:
            value = json.dumps(list(value))
        elif name == "rate_multiplier":
            value = str(value)
        elif isinstance(value, bool):
            value = int(value)
        values.append(value)
    assignments = ", ".join(f"{name} = ?" for name in fields)
    await db.execute(
        f"UPDATE keys SET {assignments}, updated_at = ? WHERE id = ?", (*values, time.time(), key_id)
    )


async def delete_key(db: aiosqlite.Connection, key_id: str) -> None:
    """Soft delete: the row stays so that records and the ledger keep naming it."""
    now = time.time()
    await db.execute("UPDATE keys SET deleted_at = ?, updated_at = ? WHERE id = ?", (now, now, key_id))


async def create_team(
    db: aiosqlite.Connection,
    *,
    name: str,
    models: tuple[str, ...] | None = None,
    rate_multiplier: Decimal = Decimal(1),
) -> TeamRow:
    team_id = "team_" + secrets.token_hex(6)
    await db.execute(
        "INSERT INTO teams (id, name, models, rate_multiplier, created_at) VALUES (?, ?, ?, ?, ?)",
        (
            team_id,
            name,
            None if models is None else json.dumps(list(models)),
            str(rate_multiplier),
            time.time(),
        ),
    )
    team = await get_team(db, team_id)
    assert team is not None
    return team


async def get_team(db: aiosqlite.Connection, ref: str) -> TeamRow | None:
    async with db.execute(
        "SELECT * FROM teams WHERE (id = ? OR name = ?) AND deleted_at IS NULL ORDER BY id = ? DESC LIMIT 1",
        (ref, ref, ref),
    ) as cursor:
        row = await cursor.fetchone()
    return None if row is None else team_from_row(row)


async def list_teams(db: aiosqlite.Connection) -> list[TeamRow]:
    async with db.execute("SELECT * FROM teams WHERE deleted_at IS NULL ORDER BY created_at") as cursor:
        return [team_from_row(row) async for row in cursor]


async def update_team(db: aiosqlite.Connection, team_id: str, **fields: Any) -> None:
    values = []
    for name, value in fields.items():
        if name not in {"name", "models", "rate_multiplier"}:
            raise ValueError(f"cannot update {name}")
        if name == "models" and value is not None:
            value = json.dumps(list(value))
        elif name == "rate_multiplier":
            value = str(value)
        values.append(value)
    if values:
        assignments = ", ".join(f"{name} = ?" for name in fields)
        await db.execute(f"UPDATE teams SET {assignments} WHERE id = ?", (*values, team_id))


async def delete_team(db: aiosqlite.Connection, team_id: str) -> None:
    await db.execute("UPDATE teams SET deleted_at = ? WHERE id = ?", (time.time(), team_id))
    await db.execute(
        "UPDATE keys SET team_id = NULL, updated_at = ? WHERE team_id = ?", (time.time(), team_id)
    )
