"""Credits and charges. A key's balance is always SUM(credits) - SUM(ledger), both integers."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

# Every live key's (id, credits, spent) in one statement, which SQLite and PostgreSQL run as written.
ALL_KEY_TOTALS_SQL = (
    "SELECT k.id, (SELECT COALESCE(SUM(amount_pico), 0) FROM credits WHERE key_id = k.id) AS credits,"
    " (SELECT COALESCE(SUM(amount_pico), 0) FROM ledger WHERE key_id = k.id) AS spent"
    " FROM keys k WHERE k.deleted_at IS NULL"
)


@dataclass(frozen=True, slots=True)
class CreditEntry:
    id: int
    key_id: str
    amount_pico: int
    note: str | None
    created_at: float


class LedgerStore(Protocol):
    async def add_credits(self, key_id: str, amount_pico: int, note: str | None = None) -> None:
        """A top-up (or, negative, a correction); the key's credits are enforced from then on."""

    async def credit_totals(self) -> dict[str, int]: ...

    async def spend_totals(self) -> dict[str, int]: ...

    async def key_totals(self, key_id: str) -> tuple[int, int]:
        """(credits, spend) of one key, read in one snapshot so the balance is consistent."""

    async def all_key_totals(self) -> dict[str, tuple[int, int]]:
        """``key_totals`` of every live key in one statement (``olga keys list``)."""

    async def credit_history(self, key_id: str) -> list[CreditEntry]: ...

    async def charge_summary(self, key_id: str) -> tuple[int, int]:
        """(number of charged requests, total charged) for a key."""
