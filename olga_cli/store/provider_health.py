"""Provider API key health as the server last saw it, so that `olga providers list` can show it.

The server keeps key health in memory (``gateway/keypool.py``) and mirrors each change here through
the recorder's batch (``Extra`` statements committed with the record of the request that found it).
A key is named by its label and a fingerprint (a short hash, never the key): when the key behind a
label changes, old marks no longer apply. `olga providers resume NAME` clears a provider's marks by
writing a reset row (``key_label = '*'``); marks older than the reset are ignored, so a mark still in
flight in a batch cannot bring back a cleared state.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Literal

import aiosqlite

from olga_cli.store.generations import Extra

RESET = "*"
HealthState = Literal["rate_limited", "invalid"]

_UPSERT = """
INSERT INTO provider_health (provider, key_label, fingerprint, state, status, reason, until, updated_at)
VALUES (?, ?, ?, ?, ?, ?, ?, ?)
ON CONFLICT (provider, key_label) DO UPDATE SET
    fingerprint = excluded.fingerprint, state = excluded.state, status = excluded.status,
    reason = excluded.reason, until = excluded.until, updated_at = excluded.updated_at
WHERE excluded.updated_at >= provider_health.updated_at
"""


def fingerprint(secret: str) -> str:
    """Enough to tell two keys apart, far too little to recover one."""
    return hashlib.sha256(secret.encode()).hexdigest()[:16]


@dataclass(frozen=True, slots=True)
class KeyHealthRow:
    provider: str
    key_label: str
    fingerprint: str
    state: str  # "rate_limited", "invalid", or "reset" for the reset row
    status: int | None
    reason: str | None
    until: float | None  # rate_limited: unix time the key may be used again
    updated_at: float


def mark(row: KeyHealthRow) -> Extra:
    """The statement that records ``row``, for ``Recorder.write(record, extras)``."""
    return Extra(
        _UPSERT,
        (
            row.provider,
            row.key_label,
            row.fingerprint,
            row.state,
            row.status,
            row.reason,
            row.until,
            row.updated_at,
        ),
    )


async def load(db: aiosqlite.Connection) -> tuple[list[KeyHealthRow], dict[str, float]]:
    """Marks newer than their provider's last reset, and each provider's reset time."""
    async with db.execute(
        "SELECT provider, key_label, fingerprint, state, status, reason, until, updated_at FROM provider_health"
    ) as cursor:
        rows = [KeyHealthRow(*tuple(row)) async for row in cursor]
    resets = {row.provider: row.updated_at for row in rows if row.key_label == RESET}
    marks = [r for r in rows if r.key_label != RESET and r.updated_at > resets.get(r.provider, float("-inf"))]
    return marks, resets


async def reset(db: aiosqlite.Connection, provider: str, *, now: float) -> None:
    """Forget every mark of ``provider``'s keys (they all get another chance)."""
    await db.execute("BEGIN IMMEDIATE")
    try:
        await db.execute("DELETE FROM provider_health WHERE provider = ?", (provider,))
        await db.execute(
            "INSERT INTO provider_health (provider, key_label, fingerprint, state, updated_at) VALUES (?, ?, '', 'reset', ?)",
            (provider, RESET, now),
        )
        await db.execute("COMMIT")
    except BaseException:
        await db.execute("ROLLBACK")
        raise
