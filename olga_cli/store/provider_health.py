"""Provider API key health as the server last saw it, so that `olga providers list` can show it.

The server keeps key health in memory (``gateway/keypool.py``) and mirrors each change here through
the recorder's batch (``Extra`` rows committed with the record of the request that found it).
A key is named by its label and a fingerprint (a short hash, never the key): when the key behind a
label changes, old marks no longer apply. `olga providers resume NAME` clears a provider's marks by
writing a reset row (``key_label = '*'``); marks older than the reset are ignored, so a mark still in
flight in a batch cannot bring back a cleared state.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Literal, Protocol

from olga_cli.store.extras import Extra

RESET = "*"
HealthState = Literal["rate_limited", "invalid"]


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
    strikes: int = 0  # 429s in a row (the rest's backoff doubles with each); 0 once the key answered


def mark(row: KeyHealthRow) -> Extra:
    """The statement that records ``row``, for ``Recorder.write(record, extras)``."""
    return Extra(
        "health_mark",
        (
            row.provider,
            row.key_label,
            row.fingerprint,
            row.state,
            row.status,
            row.reason,
            row.until,
            row.updated_at,
            row.strikes,
        ),
    )


class HealthStore(Protocol):
    async def load(self) -> tuple[list[KeyHealthRow], dict[str, float]]:
        """Marks newer than their provider's last reset, and each provider's reset time."""

    async def reset(self, provider: str, *, now: float) -> None:
        """Forget every mark of ``provider``'s keys (they all get another chance)."""
