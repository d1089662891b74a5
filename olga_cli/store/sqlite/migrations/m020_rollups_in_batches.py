"""Migration 020: the usage roll-ups are summed by the batch that writes the records, not by triggers."""

from __future__ import annotations

import aiosqlite


async def m020_rollups_in_batches(db: aiosqlite.Connection) -> None:
    """Drop the three triggers that summed each record and admission into ``usage_hourly``,
    ``usage_labels_hourly`` and ``usage_daily`` as it was inserted: ``store/sqlite/rollups.py`` now
    writes a batch's sums with it, one upsert per roll-up row the batch touches. The sums already
    stored stay as they are."""
    for trigger in ("generations_usage_hourly", "generations_usage_labels", "admissions_usage_daily"):
        await db.execute(f"DROP TRIGGER IF EXISTS {trigger}")
