"""The reporting queries in SQLite, each bounded on a store of millions of records:

- the newest N records walk one index ending in ``created_at`` backwards (migration 004 gives every
  filter one) and stop after N, one walk per filter value, merged here;
- following the log reads only rows past a rowid high-water mark;
- usage sums ``usage_hourly`` (kept by a trigger) for whole hours and only the records of the first,
  partial hour from ``generations``;
- pruning deletes or blanks in small batches, each its own short transaction, so the server's writer
  is never held up for long. It never touches ``ledger`` or ``usage_hourly``.
"""

from __future__ import annotations

import heapq
from collections.abc import Sequence
from typing import Any

import aiosqlite

from olga_cli.records import GenerationRecord
from olga_cli.store.generations import record_from_row
from olga_cli.store.reports import (
    GROUPS,
    LABEL_GROUPS,
    PRUNE_BATCH,
    GroupBy,
    LogFilter,
    ModelSpend,
    Row,
    Usage,
    UsageRow,
    first_whole_hour,
)
from olga_cli.store.sqlite.connection import transaction
from olga_cli.store.sqlite.records import RECORD_SELECT


def clauses(
    filters: LogFilter, *, indexed: str | None, by_rowid: bool = False
) -> tuple[list[str], list[Any]]:
    """WHERE clauses; columns other than ``indexed`` get a unary ``+`` so no other index is used
    (and with ``by_rowid`` not even ``created_at``'s, so a rowid range drives the query)."""

    def col(name: str) -> str:
        return name if name == indexed else f"+{name}"

    where: list[str] = []
    params: list[Any] = []
    if filters.key_id is not None and indexed != "key_id":
        where.append(f"{col('key_id')} = ?")
        params.append(filters.key_id)
    if filters.models and indexed not in ("model", "model_requested"):
        marks = ", ".join("?" * len(filters.models))
        where.append(f"(+model IN ({marks}) OR +model_requested IN ({marks}))")
        params.extend(filters.models * 2)
    if filters.status is not None and indexed != "status":
        where.append("+status BETWEEN ? AND ?")
        params.extend(filters.status)
    if filters.end_user is not None and indexed != "end_user":
        where.append("+end_user = ?")
        params.append(filters.end_user)
    if filters.session_id is not None and indexed != "session_id":
        where.append("+session_id = ?")
        params.append(filters.session_id)
    if filters.tag is not None:
        where.append("EXISTS (SELECT 1 FROM json_each(generations.tags) WHERE value = ?)")
        params.append(filters.tag)
    if filters.since is not None:
        where.append("+created_at >= ?" if by_rowid else "created_at >= ?")
        params.append(filters.since)
    return where, params


async def _select(db: aiosqlite.Connection, sql: str, params: Sequence[Any]) -> list[Row]:
    async with db.execute(sql, tuple(params)) as cursor:
        return [(row["_rowid"], record_from_row(row)) async for row in cursor]


async def high_water(db: aiosqlite.Connection) -> int:
    """The newest rowid: `olga logs --follow` shows only what is committed after it."""
    async with db.execute("SELECT MAX(rowid) FROM generations") as cursor:
        row = await cursor.fetchone()
    return int(row[0]) if row and row[0] is not None else 0


async def _statuses_in(db: aiosqlite.Connection, low: int, high: int) -> list[int]:
    """The distinct statuses present in a range, by skipping through the status index (no scan)."""
    sql = """
        WITH RECURSIVE s(v) AS (
            SELECT (SELECT MIN(status) FROM generations WHERE status >= ?)
            UNION ALL
            SELECT (SELECT MIN(status) FROM generations WHERE status > s.v) FROM s WHERE s.v <= ?
        )
        SELECT v FROM s WHERE v IS NOT NULL AND v <= ?
    """
    async with db.execute(sql, (low, high, high)) as cursor:
        return [int(row[0]) async for row in cursor]


async def latest(db: aiosqlite.Connection, filters: LogFilter, *, limit: int) -> list[Row]:
    """The newest ``limit`` records matching ``filters``, oldest first.

    One probe per value of the most selective filter, each down its own ``(column, created_at)``
    index, newest first, ``LIMIT limit``; the probes are merged here.
    """
    probes: list[tuple[str | None, Any]]
    if filters.session_id is not None:  # a session is the narrowest: one agent's requests
        probes = [("session_id", filters.session_id)]
    elif filters.key_id is not None:
        probes = [("key_id", filters.key_id)]
    elif filters.end_user is not None:
        probes = [("end_user", filters.end_user)]
    elif filters.models:
        probes = [(column, model) for model in filters.models for column in ("model", "model_requested")]
    elif filters.status is not None:
        probes = [("status", s) for s in await _statuses_in(db, *filters.status)]
    else:
        probes = [(None, None)]
    found: dict[int, GenerationRecord] = {}
    for column, value in probes:
        where, params = clauses(filters, indexed=column)
        if column is not None:
            where.insert(0, f"{column} = ?")
            params.insert(0, value)
        sql = f"SELECT rowid AS _rowid, {RECORD_SELECT} FROM generations"
        if where:
            sql += " WHERE " + " AND ".join(where)
        sql += " ORDER BY created_at DESC LIMIT ?"
        for rowid, record in await _select(db, sql, [*params, limit]):
            found[rowid] = record
    newest = heapq.nlargest(limit, found.items(), key=lambda item: (item[1].created_at, item[0]))
    newest.reverse()
    return newest


async def after(
    db: aiosqlite.Connection, filters: LogFilter, *, after_rowid: int, up_to: int, limit: int = 1000
) -> list[Row]:
    """Records committed in ``(after_rowid, up_to]`` that match, in commit order (for --follow).

    The caller advances its mark to ``up_to`` even when nothing matched, so a quiet filter never
    re-reads the same rows; the filters are kept off their indexes so the rowid range drives.
    """
    where, params = clauses(filters, indexed=None, by_rowid=True)
    where[:0] = ["rowid > ?", "rowid <= ?"]
    params[:0] = [after_rowid, up_to]
    sql = (
        f"SELECT rowid AS _rowid, {RECORD_SELECT} FROM generations"
        f" WHERE {' AND '.join(where)} ORDER BY rowid LIMIT ?"
    )
    return await _select(db, sql, [*params, limit])


# -- usage --------------------------------------------------------------------------------------


_ROLLUP_GROUP = {
    "key": "key_id",
    "team": "team_id",
    "model": "model",
    "provider": "provider",
    "app": "app",
    "day": "strftime('%Y-%m-%d', hour, 'unixepoch')",
}
_RAW_GROUP = {
    "key": "key_id",
    "team": "COALESCE(team_id, '')",
    "model": "COALESCE(model, model_requested, '')",
    "provider": "COALESCE(provider, '')",
    "app": "COALESCE(app, '')",
    "day": "strftime('%Y-%m-%d', created_at, 'unixepoch')",
    "tag": "j.value",
    "user": "end_user",
    "session": "session_id",
}
# Records without a tag or an end user are not in those roll-ups, so the partial hour leaves them out too.
_RAW_FROM = {"tag": "generations, json_each(generations.tags) j"}
_RAW_WHERE = {"user": " AND end_user IS NOT NULL", "session": " AND session_id IS NOT NULL"}


async def usage(db: aiosqlite.Connection, *, since: float | None, until: float, by: GroupBy) -> Usage:
    """Requests, tokens and cost since ``since`` (None: all time), grouped ``by``; exact integer sums.

    Whole hours come from ``usage_hourly``; the records of the partial hour ``since`` falls in come
    from ``generations`` through its ``created_at`` index.
    """
    if by not in GROUPS:
        raise ValueError(f"cannot group by {by!r}")
    first_hour = first_whole_hour(since)
    groups: dict[str, UsageRow] = {}

    async def collect(sql: str, params: tuple[Any, ...]) -> None:
        async with db.execute(sql, params) as cursor:
            async for row in cursor:
                counts = [int(v or 0) for v in row[1:7]]
                part = UsageRow(
                    str(row[0]),
                    counts[0],
                    counts[1],
                    counts[2],
                    counts[3],
                    counts[4],
                    counts[5],
                    float(row[7] or 0.0),
                    int(row[8] or 0),
                )
                groups.setdefault(part.group, UsageRow(part.group)).add(part)

    sums = (
        "SUM(requests), SUM(errors), SUM(tokens_prompt), SUM(tokens_completion), SUM(tokens_cached), "
        "SUM(cost_pico), SUM(latency_ms)"
    )
    if by in LABEL_GROUPS:
        # Tags, end users and sessions have a roll-up of their own; a request with two tags counts under both.
        # (Its hours do not keep what prompt caching saved: that is summed by key, model... only.)
        rollup = f"SELECT label AS g, {sums}, 0 FROM usage_labels_hourly WHERE kind = '{by}'"
        hour_clause = " AND hour >= ? GROUP BY g"
    else:
        rollup = f"SELECT {_ROLLUP_GROUP[by]} AS g, {sums}, SUM(cache_saved_pico) FROM usage_hourly"
        hour_clause = " WHERE hour >= ? GROUP BY g"
    if first_hour is not None:
        await collect(rollup + hour_clause, (first_hour,))
        raw = (
            f"SELECT {_RAW_GROUP[by]} AS g, COUNT(*), SUM(status >= 400), SUM(tokens_prompt), "
            "SUM(tokens_completion), SUM(tokens_cached), SUM(cost_pico), SUM(latency_ms), SUM(cache_saved_pico) "
            f"FROM {_RAW_FROM.get(by, 'generations')} WHERE created_at >= ? AND created_at < ?{_RAW_WHERE.get(by, '')} GROUP BY g"
        )
        await collect(raw, (since, first_hour))
    else:
        await collect(rollup + " GROUP BY g", ())
    result = Usage(since=since, until=until, by=by, rows=list(groups.values()))
    result.sort()
    if by in ("key", "team"):
        result.names = await _names(
            db, "keys" if by == "key" else "teams", [r.group for r in result.rows if r.group]
        )
    return result


async def _names(db: aiosqlite.Connection, table: str, ids: list[str]) -> dict[str, str]:
    names: dict[str, str] = {}
    for start in range(0, len(ids), 500):
        chunk = ids[start : start + 500]
        sql = f"SELECT id, name FROM {table} WHERE id IN ({', '.join('?' * len(chunk))})"
        async with db.execute(sql, chunk) as cursor:
            names.update({row[0]: row[1] async for row in cursor})
    return names


async def spend_by_model(db: aiosqlite.Connection, key_id: str) -> list[ModelSpend]:
    """What one key's requests cost, per model (the summary `olga run` prints)."""
    sql = (
        "SELECT COALESCE(model, model_requested, ''), COUNT(*), SUM(tokens_prompt), SUM(tokens_completion), "
        "SUM(cost_pico) FROM generations WHERE key_id = ? GROUP BY 1 ORDER BY SUM(cost_pico) DESC, 1"
    )
    async with db.execute(sql, (key_id,)) as cursor:
        return [
            ModelSpend(row[0], int(row[1]), int(row[2]), int(row[3]), int(row[4])) async for row in cursor
        ]


# -- retention ----------------------------------------------------------------------------------


async def prune(
    db: aiosqlite.Connection, *, before: float, bodies_only: bool = False, batch: int = PRUNE_BATCH
) -> int:
    """Delete records created before ``before`` (or blank their bodies); returns how many changed.

    The ledger keeps every charge and ``usage_hourly`` every total, so balances and usage reports
    are unchanged by pruning.
    """
    changed = 0
    last: tuple[float, int] = (float("-inf"), 0)
    while True:
        async with transaction(db):
            if bodies_only:
                # Walk the created_at index past what is done, so blanked rows are never read again.
                async with db.execute(
                    "SELECT created_at, rowid FROM generations WHERE created_at < ? AND (created_at, rowid) > (?, ?)"
                    " ORDER BY created_at, rowid LIMIT ?",
                    (before, *last, batch),
                ) as cursor:
                    picked = [(row[0], row[1]) async for row in cursor]
                if picked:
                    last = picked[-1]
                    marks = ", ".join("?" * len(picked))
                    cursor = await db.execute(
                        "UPDATE generations SET request_body = NULL, response_body = NULL, request_part = NULL"
                        f" WHERE rowid IN ({marks})"
                        " AND (request_body IS NOT NULL OR response_body IS NOT NULL)",
                        [rowid for _, rowid in picked],
                    )
                    count = cursor.rowcount
                else:
                    count = 0
            else:
                cursor = await db.execute(
                    "DELETE FROM generations WHERE rowid IN"
                    " (SELECT rowid FROM generations WHERE created_at < ? ORDER BY created_at LIMIT ?)",
                    (before, batch),
                )
                picked, count = [], cursor.rowcount
        changed += max(count, 0)
        if (bodies_only and len(picked) < batch) or (not bodies_only and count < batch):
            await _prune_parts(db, before)
            return changed


async def _prune_parts(db: aiosqlite.Connection, before: float) -> None:
    """Drop the shared body parts no record names any more (the recorder writes a part again with
    every record that names it, so one dropped here while a batch is on its way comes back with it),
    and the Responses items made before ``before``: answers' text, kept as long as bodies are."""
    async with transaction(db):
        await db.execute(
            "DELETE FROM body_parts WHERE NOT EXISTS (SELECT 1 FROM generations WHERE request_part = body_parts.hash)"
        )
        await db.execute("DELETE FROM response_items WHERE created_at < ?", (before,))


async def count_before(db: aiosqlite.Connection, before: float) -> int:
    """How many records are older than ``before`` (for `prune --dry-run`); reads the created_at index."""
    async with db.execute("SELECT COUNT(*) FROM generations WHERE created_at < ?", (before,)) as cursor:
        row = await cursor.fetchone()
    return int(row[0]) if row else 0


class SqliteReports:
    def __init__(self, db: aiosqlite.Connection) -> None:
        self._db = db

    async def high_water(self) -> int:
        return await high_water(self._db)

    async def latest(self, filters: LogFilter, *, limit: int) -> list[Row]:
        return await latest(self._db, filters, limit=limit)

    async def after(
        self, filters: LogFilter, *, after_rowid: int, up_to: int, limit: int = 1000
    ) -> list[Row]:
        return await after(self._db, filters, after_rowid=after_rowid, up_to=up_to, limit=limit)

    async def usage(self, *, since: float | None, until: float, by: GroupBy) -> Usage:
        return await usage(self._db, since=since, until=until, by=by)

    async def spend_by_model(self, key_id: str) -> list[ModelSpend]:
        return await spend_by_model(self._db, key_id)

    async def prune(self, *, before: float, bodies_only: bool = False, batch: int = PRUNE_BATCH) -> int:
        return await prune(self._db, before=before, bodies_only=bodies_only, batch=batch)

    async def count_before(self, before: float) -> int:
        return await count_before(self._db, before)
