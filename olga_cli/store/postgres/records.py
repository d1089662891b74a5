"""Generation records and their charges in PostgreSQL, written together in batches.

What SQLite's triggers do (the hourly roll-up of records, the daily usage of admissions) is done
here in the same transaction, from the rows in hand; so is each key's ``balances.spent``. Batches of
all instances commit one at a time (an advisory lock), so ``seq`` grows in commit order and
`olga logs --follow` never skips a record committed behind its mark.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from typing import Any

import asyncpg

from olga_cli.records import GenerationRecord
from olga_cli.store.generations import (
    RECORD_COLUMNS,
    Extra,
    ExtraKind,
    prefix_bounds,
    record_from_row,
    record_values,
)
from olga_cli.store.limits import USER_SEPARATOR
from olga_cli.store.postgres.connection import BATCH_LOCK, locked_transaction, notify
from olga_cli.store.postgres.holds import RELEASE_HOLD

_INSERT = (
    f"INSERT INTO generations ({', '.join(RECORD_COLUMNS)})"
    f" VALUES ({', '.join(f'${i + 1}' for i in range(len(RECORD_COLUMNS)))})"
)
# A charge and its key's spend in one statement (one round trip for all of a batch's charges).
_CHARGE = """
WITH charge AS (
    INSERT INTO ledger (key_id, generation_id, amount_pico, created_at) VALUES ($1, $2, $3, $4)
)
INSERT INTO balances (key_id, spent) VALUES ($1, $3)
ON CONFLICT (key_id) DO UPDATE SET spent = balances.spent + excluded.spent
"""
_HOURLY = """
INSERT INTO usage_hourly (hour, key_id, team_id, model, provider, app, requests, errors, tokens_prompt,
                          tokens_completion, tokens_cached, cost_pico, latency_ms, cache_saved_pico)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)
ON CONFLICT (hour, key_id, team_id, model, provider, app) DO UPDATE SET
    requests = usage_hourly.requests + excluded.requests,
    errors = usage_hourly.errors + excluded.errors,
    tokens_prompt = usage_hourly.tokens_prompt + excluded.tokens_prompt,
    tokens_completion = usage_hourly.tokens_completion + excluded.tokens_completion,
    tokens_cached = usage_hourly.tokens_cached + excluded.tokens_cached,
    cost_pico = usage_hourly.cost_pico + excluded.cost_pico,
    latency_ms = usage_hourly.latency_ms + excluded.latency_ms,
    cache_saved_pico = usage_hourly.cache_saved_pico + excluded.cache_saved_pico
"""
_LABELS_HOURLY = """
INSERT INTO usage_labels_hourly (hour, kind, label, requests, errors, tokens_prompt, tokens_completion,
                                 tokens_cached, cost_pico, latency_ms)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
ON CONFLICT (hour, kind, label) DO UPDATE SET
    requests = usage_labels_hourly.requests + excluded.requests,
    errors = usage_labels_hourly.errors + excluded.errors,
    tokens_prompt = usage_labels_hourly.tokens_prompt + excluded.tokens_prompt,
    tokens_completion = usage_labels_hourly.tokens_completion + excluded.tokens_completion,
    tokens_cached = usage_labels_hourly.tokens_cached + excluded.tokens_cached,
    cost_pico = usage_labels_hourly.cost_pico + excluded.cost_pico,
    latency_ms = usage_labels_hourly.latency_ms + excluded.latency_ms
"""
# An admission and the usage_daily rows it adds to (``_daily``), in one statement.
_ADMISSION_DAILY = """
WITH admitted AS (
    INSERT INTO admissions (generation_id, key_id, team_id, at, cost_pico, tokens, tags, end_user)
    VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
)
INSERT INTO usage_daily (scope, scope_id, day, cost_pico, requests, tokens)
SELECT scope, scope_id, day, cost, 1, tokens
  FROM unnest($9::text[], $10::text[], $11::bigint[], $12::bigint[], $13::bigint[])
       AS daily (scope, scope_id, day, cost, tokens)
ON CONFLICT (scope, scope_id, day) DO UPDATE SET
    cost_pico = usage_daily.cost_pico + excluded.cost_pico,
    requests = usage_daily.requests + 1,
    tokens = usage_daily.tokens + excluded.tokens
"""

EXTRA_SQL: dict[ExtraKind, str] = {
    "admissions_prune": "DELETE FROM admissions WHERE at < $1",
    "alert": "INSERT INTO limit_alerts (limit_id, scope, scope_id, metric, time_window, period_day, percent,"
    " threshold, usage, generation_id, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)"
    " ON CONFLICT (limit_id, period_day, percent) DO NOTHING",
    "violation": "INSERT INTO guardrail_violations (generation_id, key_id, guardrail_id, guardrail_name, type,"
    " stage, entity, action, field, start_offset, end_offset, confidence, created_at)"
    " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)",
    "hold_settle": RELEASE_HOLD,
    "health_mark": """
INSERT INTO provider_health (provider, key_label, fingerprint, state, status, reason, until, updated_at)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
ON CONFLICT (provider, key_label) DO UPDATE SET
    fingerprint = excluded.fingerprint, state = excluded.state, status = excluded.status,
    reason = excluded.reason, until = excluded.until, updated_at = excluded.updated_at
WHERE excluded.updated_at >= provider_health.updated_at
""",
}


def _add(row: list[Any], r: GenerationRecord) -> None:
    """One record into a roll-up row: requests, errors, prompt, completion and cached tokens, cost, latency."""
    for index, value in enumerate(
        (1, int(r.status >= 400), r.tokens_prompt, r.tokens_completion, r.tokens_cached, r.cost_pico)
    ):
        row[index] += value
    row[6] += float(r.latency_ms)


def _hourly(records: Sequence[GenerationRecord]) -> list[tuple[Any, ...]]:
    """The records' sums per hour and grouping, as migration 004's trigger adds them in SQLite."""
    sums: dict[tuple[Any, ...], list[Any]] = {}
    for r in records:
        group = (
            int(r.created_at // 3600) * 3600,
            r.key_id,
            r.team_id or "",
            r.model or r.model_requested or "",
            r.provider or "",
            r.app or "",
        )
        row = sums.setdefault(group, [0, 0, 0, 0, 0, 0, 0.0, 0])
        _add(row, r)
        row[7] += r.cache_saved_pico
    return [(*group, *values) for group, values in sorted(sums.items())]


def _daily(admission: tuple[Any, ...]) -> Iterable[tuple[Any, ...]]:
    """The usage_daily rows one admission adds to, as migration 007's trigger adds them in SQLite: its
    key's and team's, each of its tags', its end user's, and that end user's under its key and team."""
    _, key_id, team_id, at, cost, tokens, tags, end_user = admission
    day = int(at // 86400)
    yield ("key", key_id, day, cost, tokens)
    if team_id is not None:
        yield ("team", team_id, day, cost, tokens)
    for tag in dict.fromkeys(json.loads(tags)):
        yield ("tag", tag, day, cost, tokens)
    if end_user is not None:
        yield ("user", end_user, day, cost, tokens)
        yield ("key_user", key_id + USER_SEPARATOR + end_user, day, cost, tokens)
        if team_id is not None:
            yield ("team_user", team_id + USER_SEPARATOR + end_user, day, cost, tokens)


def _daily_arrays(admission: tuple[Any, ...]) -> tuple[list[Any], ...]:
    """``_daily``'s rows as five arrays (scope, scope_id, day, cost, tokens), for ``unnest``."""
    rows = list(_daily(admission))
    return tuple([row[i] for row in rows] for i in range(5))


def _labels_hourly(records: Sequence[GenerationRecord]) -> list[tuple[Any, ...]]:
    """The records' sums per hour, tag, end user and agent session (a request with two tags counts
    under both)."""
    sums: dict[tuple[Any, ...], list[Any]] = {}
    for r in records:
        hour = int(r.created_at // 3600) * 3600
        labels = [("tag", tag) for tag in dict.fromkeys(r.tags)]
        if r.end_user is not None:
            labels.append(("user", r.end_user))
        if r.session_id is not None:
            labels.append(("session", r.session_id))
        for kind, label in labels:
            _add(sums.setdefault((hour, kind, label), [0, 0, 0, 0, 0, 0, 0.0]), r)
    return [(*group, *values) for group, values in sorted(sums.items())]


async def write_batch(
    pool: asyncpg.Pool, records: Sequence[GenerationRecord], extras: Sequence[Extra]
) -> None:
    async with locked_transaction(pool, BATCH_LOCK) as conn:
        if records:
            await conn.executemany(_INSERT, [record_values(r) for r in records])
            # by key, so that balances' rows are locked in one order by every batch
            charges = sorted((r.key_id, r.id, r.cost_pico, r.created_at) for r in records if r.cost_pico)
            if charges:
                await conn.executemany(_CHARGE, charges)
            await conn.executemany(_HOURLY, _hourly(records))
            labels = _labels_hourly(records)
            if labels:  # an empty executemany is still a round trip
                await conn.executemany(_LABELS_HOURLY, labels)
        changed = False
        for kind, params in _runs(extras):
            if kind == "admission":  # with the usage it adds to, one statement each
                await conn.executemany(_ADMISSION_DAILY, [(*p, *_daily_arrays(p)) for p in params])
            else:
                await conn.executemany(EXTRA_SQL[kind], params)
            changed = changed or kind == "health_mark"
        if changed:
            await notify(conn)  # a provider key's health: every instance should know


def _runs(extras: Sequence[Extra]) -> list[tuple[ExtraKind, list[tuple[Any, ...]]]]:
    runs: list[tuple[ExtraKind, list[tuple[Any, ...]]]] = []
    for extra in extras:
        if runs and runs[-1][0] == extra.kind:
            runs[-1][1].append(extra.params)
        else:
            runs.append((extra.kind, [extra.params]))
    return runs


class PostgresRecords:
    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool

    async def write_batch(self, records: Sequence[GenerationRecord], extras: Sequence[Extra] = ()) -> None:
        await write_batch(self._pool, records, extras)

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
