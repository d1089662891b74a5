"""The usage roll-ups written with a batch (``store/rollups.py`` sums them): one upsert per roll-up
row the batch touches, in the transaction of its records.

Until migration 020 triggers kept them: ten upserts (most of them skipped by their WHERE) for every
record and admission inserted, 20-35 µs of the writer's CPU per record in a batch of 16. The sums
are those the triggers made; a sum past 64 bits goes in as a float, as SQLite's own addition makes it.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from olga_cli.records import GenerationRecord
from olga_cli.store import rollups

Statements = list[tuple[str, list[tuple[Any, ...]]]]  # (SQL, the params of each run), as a batch runs them
_INT64 = 2**63


def _upsert(table: str, keys: tuple[str, ...], columns: tuple[str, ...]) -> str:
    """Insert a roll-up row, or add its sums to the row already there for the same ``keys``."""
    added = ", ".join(f"{column} = {column} + excluded.{column}" for column in columns[len(keys) :])
    return (
        f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})"
        f" ON CONFLICT ({', '.join(keys)}) DO UPDATE SET {added}"
    )


_HOURLY = _upsert("usage_hourly", rollups.HOURLY_KEYS, rollups.HOURLY_COLUMNS)
_LABELS = _upsert("usage_labels_hourly", rollups.LABELS_KEYS, rollups.LABELS_COLUMNS)
_DAILY = _upsert("usage_daily", rollups.DAILY_KEYS, rollups.DAILY_COLUMNS)


def rollup_statements(
    records: Sequence[GenerationRecord], admissions: Iterable[tuple[Any, ...]]
) -> Statements:
    """The upserts for a batch's records and the params of its admission rows."""
    statements: Statements = []
    for sql, rows in (
        (_HOURLY, rollups.hourly(records)),
        (_LABELS, rollups.labels_hourly(records)),
        (_DAILY, rollups.daily(admissions)),
    ):
        if rows:
            statements.append((sql, [tuple(map(_bindable, row)) for row in rows]))
    return statements


def _bindable(value: Any) -> Any:
    """A sum past 64 bits becomes a float, as SQLite's own integer addition makes it."""
    if isinstance(value, int) and not -_INT64 <= value < _INT64:
        return float(value)
    return value
