"""Keys and teams as stored: an olga key is kept only as its SHA-256, with a short prefix to recognise it.

``KeyStore`` is what the rest of olga may ask of the store about keys and teams; each backend
(``store/sqlite/``) implements it.
"""

from __future__ import annotations

import hashlib
import json
import secrets
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Protocol

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


# Columns `update_key` may change (it raises ValueError for any other).
KEY_UPDATABLE = frozenset(
    {
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
)
TEAM_UPDATABLE = frozenset({"name", "models", "rate_multiplier"})


def _models(raw: str | None) -> tuple[str, ...] | None:
    return None if raw is None else tuple(json.loads(raw))


def key_from_row(row: Any) -> KeyRow:
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


def team_from_row(row: Any) -> TeamRow:
    return TeamRow(
        id=row["id"],
        name=row["name"],
        models=_models(row["models"]),
        rate_multiplier=Decimal(row["rate_multiplier"]),
        created_at=row["created_at"],
        deleted_at=row["deleted_at"],
    )


def column_values(fields: dict[str, Any]) -> list[Any]:
    """Python values as the columns hold them: model lists as JSON, multipliers as text, bools as 0/1."""
    values = []
    for name, value in fields.items():
        if name == "models" and value is not None:
            value = json.dumps(list(value))
        elif name == "rate_multiplier":
            value = str(value)
        elif isinstance(value, bool):
            value = int(value)
        values.append(value)
    return values


class KeyStore(Protocol):
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
        """Mint a key; returns the stored row and the full key, which exists nowhere else afterwards."""

    async def get_key(self, ref: str) -> KeyRow | None:
        """A live (not deleted) key by id or name."""

    async def get_key_any(self, key_id: str) -> KeyRow | None:
        """A key by id, deleted or not."""

    async def find_key_id(self, ref: str) -> str | None:
        """A key's id by id or name, deleted keys included (their records stay): live ones first."""

    async def list_keys(self, *, include_deleted: bool = False) -> list[KeyRow]: ...

    async def update_key(self, key_id: str, **fields: Any) -> None:
        """Change the ``KEY_UPDATABLE`` columns given; ValueError names any other."""

    async def delete_key(self, key_id: str) -> None:
        """Soft delete: the row stays so that records and the ledger keep naming it."""

    async def create_team(
        self, *, name: str, models: tuple[str, ...] | None = None, rate_multiplier: Decimal = Decimal(1)
    ) -> TeamRow: ...

    async def get_team(self, ref: str) -> TeamRow | None:
        """A live team by id or name."""

    async def list_teams(self) -> list[TeamRow]: ...

    async def update_team(self, team_id: str, **fields: Any) -> None:
        """Change the ``TEAM_UPDATABLE`` columns given; ValueError names any other."""

    async def delete_team(self, team_id: str) -> None:
        """Soft delete, all at once: its keys stay without a team and its usage limits go."""

    async def scope_names(self) -> dict[tuple[str, str], str]:
        """(scope, id) -> name for every key and team, deleted ones included, to name alerts."""
