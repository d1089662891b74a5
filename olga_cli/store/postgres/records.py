"""Generation records and their charges in PostgreSQL, written together in batches.

What SQLite's triggers do (the hourly roll-up of records, the daily usage of admissions) is done
here in the same transaction, from the rows in hand; so is each key's ``balances.spent`` and the end
of the holds the batch settles. A batch is one call of ``olga_write_batch`` (migration 012), one
round trip, which takes the batch lock first: batches of all instances commit one at a time, so
``seq`` grows in commit order and `olga logs --follow` never skips a record committed behind its mark.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import asyncpg

from olga_cli import jsonwire
from olga_cli.records import GenerationRecord
from olga_cli.store import rollups
from olga_cli.store.generations import (
    RECORD_COLUMNS,
    Extra,
    ExtraKind,
    prefix_bounds,
    record_from_row,
    record_values,
)
from olga_cli.store.postgres.connection import BATCH_LOCK, locked_transaction, notify
from olga_cli.store.postgres.lanes import Lanes

# The batch in one round trip and one implicit transaction (migration 012): the batch lock, the
# records, the charges with each key's spend, the hourly roll-ups, the admissions with their daily
# usage, the holds' end and the pruning of old admissions. Bodies go as text beside the JSON (015);
# what requests admitted against a slice of credit cost comes off their slices (019).
_WRITE = "SELECT olga_write_batch($1::jsonb, $2, $3, $4::jsonb, $5::jsonb, $6::jsonb, $7::jsonb, $8, $9, $10::jsonb)"
_BODIES = ("request_body", "response_body")
# What the function writes itself; other rows of a batch (alerts, violations, key health: rare) go
# with it in an explicit transaction.
_IN_FUNCTION: frozenset[ExtraKind] = frozenset({"admission", "hold_settle", "slice_draw", "admissions_prune"})
_ADMISSION_COLUMNS = ("generation_id", "key_id", "team_id", "at", "cost_pico", "tokens", "tags", "end_user")

EXTRA_SQL: dict[ExtraKind, str] = {
    "alert": "INSERT INTO limit_alerts (limit_id, scope, scope_id, metric, time_window, period_day, percent,"
    " threshold, usage, generation_id, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)"
    " ON CONFLICT (limit_id, period_day, percent) DO NOTHING",
    "violation": "INSERT INTO guardrail_violations (generation_id, key_id, guardrail_id, guardrail_name, type,"
    " stage, entity, action, field, start_offset, end_offset, confidence, created_at)"
    " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)",
    "response_item": "INSERT INTO response_items (id, item, created_at) VALUES ($1, $2, $3)"
    " ON CONFLICT (id) DO NOTHING",
    "health_mark": """
INSERT INTO provider_health (provider, key_label, fingerprint, state, status, reason, until, updated_at, strikes)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
ON CONFLICT (provider, key_label) DO UPDATE SET
    fingerprint = excluded.fingerprint, state = excluded.state, status = excluded.status,
    reason = excluded.reason, until = excluded.until, updated_at = excluded.updated_at,
    strikes = excluded.strikes
WHERE excluded.updated_at >= provider_health.updated_at
""",
}


# A roll-up's sums stop here, as migration 017's function makes them in the table: a record stored
# with a provider's absurd usage (clamped to this) must not make its batch's sums unstorable.
_TOP = 2**63 - 1


def _capped(rows: list[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
    """Hourly roll-up rows with every integer sum stopped at ``_TOP``, as migration 017's function
    adds them (the daily sums do not saturate: past BIGINT the batch is refused and sanitised)."""
    return [tuple(min(v, _TOP) if type(v) is int else v for v in row) for row in rows]


async def write_batch(
    pool: asyncpg.Pool,
    records: Sequence[GenerationRecord],
    extras: Sequence[Extra],
    lanes: Lanes,
) -> None:
    args = _function_args(records, [e for e in extras if e.kind in _IN_FUNCTION])
    others = [e for e in extras if e.kind not in _IN_FUNCTION]
    if not others:  # the usual batch: one round trip, committed on its own
        await lanes.execute(_WRITE, *args)
        return
    async with locked_transaction(pool, BATCH_LOCK) as conn:
        await conn.execute(_WRITE, *args)
        for kind, params in _runs(others):
            await conn.executemany(EXTRA_SQL[kind], params)
        if any(e.kind == "health_mark" for e in others):
            await notify(conn)  # a provider key's health: every instance should know


def _function_args(records: Sequence[GenerationRecord], extras: Sequence[Extra]) -> tuple[Any, ...]:
    """``olga_write_batch``'s arguments: each table's rows as a JSON array of objects by column name,
    but the records' bodies, large, as two text arrays in the records' order."""
    admissions = [e.params for e in extras if e.kind == "admission"]
    prunes = [e.params[0] for e in extras if e.kind == "admissions_prune"]
    rows = [dict(zip(RECORD_COLUMNS, record_values(r), strict=True)) for r in records]
    bodies = [[row.pop(name) for row in rows] for name in _BODIES]
    return (
        _json(rows),
        *bodies,
        _rows(rollups.HOURLY_COLUMNS, _capped(rollups.hourly(records))),
        _rows(rollups.LABELS_COLUMNS, _capped(rollups.labels_hourly(records))),
        _rows(_ADMISSION_COLUMNS, admissions),
        _rows(rollups.DAILY_COLUMNS, rollups.daily(admissions)),
        [e.params[0] for e in extras if e.kind == "hold_settle"],
        max(prunes) if prunes else None,
        _slice_draws(extras),
    )


def _slice_draws(extras: Sequence[Extra]) -> str:
    """Each slice's draws summed: one row per slice, as the function updates each row once."""
    draws: dict[str, int] = {}
    for extra in extras:
        if extra.kind == "slice_draw":
            slice_id, credits = extra.params
            draws[slice_id] = draws.get(slice_id, 0) + credits
    return _json([{"id": slice_id, "credits": credits} for slice_id, credits in draws.items()])


def _rows(columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> str:
    return _json([dict(zip(columns, row, strict=True)) for row in rows])


# A batch's rows as JSON text: by orjson (a tenth of the standard library's time for a batch's rows),
# or where orjson refuses (an integer past 64 bits, a lone surrogate) by ``json``, which writes them
# and leaves PostgreSQL to refuse the batch, as before, for the recorder to sanitise.
_json = jsonwire.dumps_text


def _runs(extras: Sequence[Extra]) -> list[tuple[ExtraKind, list[tuple[Any, ...]]]]:
    runs: list[tuple[ExtraKind, list[tuple[Any, ...]]]] = []
    for extra in extras:
        if runs and runs[-1][0] == extra.kind:
            runs[-1][1].append(extra.params)
        else:
            runs.append((extra.kind, [extra.params]))
    return runs


class PostgresRecords:
    def __init__(self, pool: asyncpg.Pool, lanes: Lanes) -> None:
        self._pool = pool
        self._lanes = lanes

    async def write_batch(self, records: Sequence[GenerationRecord], extras: Sequence[Extra] = ()) -> None:
        await write_batch(self._pool, records, extras, self._lanes)

    async def tidy(self) -> None:
        """Nothing: PostgreSQL checkpoints in its own processes."""

    async def get_generation(self, ref: str, *, key_id: str | None = None) -> GenerationRecord | None:
        for column in ("id", "upstream_id"):
            sql = f"SELECT * FROM generations WHERE {column} = $1"
            params: list[Any] = [ref]
            if key_id is not None:
                sql += " AND key_id = $2"
                params.append(key_id)
            row = await self._pool.fetchrow(sql + " ORDER BY created_at DESC LIMIT 1", *params)
            if row is not None:
                return record_from_row(row)
        return None

    async def response_items(self, ids: Sequence[str]) -> list[dict[str, Any]]:
        rows = await self._pool.fetch("SELECT item FROM response_items WHERE id = ANY($1::text[])", list(ids))
        return [jsonwire.loads(row["item"]) for row in rows]

    async def ids_starting(self, prefix: str, *, limit: int = 3) -> list[str]:
        low, high = prefix_bounds(prefix)
        sql = "SELECT id FROM generations WHERE id >= $1 AND id < $2 ORDER BY id LIMIT $3"
        return [row["id"] for row in await self._pool.fetch(sql, low, high, limit)]

    async def recent_generations(
        self,
        *,
        limit: int = 50,
        key_id: str | None = None,
        model: str | None = None,
        status: int | None = None,
        since: float | None = None,
        after_rowid: int | None = None,
    ) -> list[tuple[int, GenerationRecord]]:
        where: list[str] = []
        params: list[Any] = []
        for clause, value in (
            ("key_id = {}", key_id),
            ("(model = {0} OR model_requested = {0})", model),
            ("status = {}", status),
            ("created_at >= {}", since),
            ("seq > {}", after_rowid),
        ):
            if value is not None:
                params.append(value)
                where.append(clause.format(f"${len(params)}"))
        sql = "SELECT * FROM generations"
        if where:
            sql += " WHERE " + " AND ".join(where)
        params.append(limit)
        rows = await self._pool.fetch(sql + f" ORDER BY seq DESC LIMIT ${len(params)}", *params)
        found = [(int(row["seq"]), record_from_row(row)) for row in rows]
        found.reverse()
        return found
