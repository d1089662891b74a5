"""The reporting queries in PostgreSQL: the same answers as SQLite's, positions are ``seq``."""

from __future__ import annotations

from typing import Any

import asyncpg

from olga_cli.store.generations import record_from_row
from olga_cli.store.postgres.connection import transaction
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


def _clauses(filters: LogFilter, params: list[Any]) -> list[str]:
    def arg(value: Any) -> str:
        params.append(value)
        return f"${len(params)}"

    where: list[str] = []
    if filters.key_id is not None:
        where.append(f"key_id = {arg(filters.key_id)}")
    if filters.models:
        models = arg(list(filters.models))
        where.append(f"(model = ANY({models}::text[]) OR model_requested = ANY({models}::text[]))")
    if filters.status is not None:
        where.append(f"status BETWEEN {arg(filters.status[0])} AND {arg(filters.status[1])}")
    if filters.end_user is not None:
        where.append(f"end_user = {arg(filters.end_user)}")
    if filters.session_id is not None:
        where.append(f"session_id = {arg(filters.session_id)}")
    if filters.tag is not None:
        where.append(f"tags::jsonb ? {arg(filters.tag)}")
    if filters.since is not None:
        where.append(f"created_at >= {arg(filters.since)}")
    return where


_ROLLUP_GROUP = {
    "key": "key_id",
    "team": "team_id",
    "model": "model",
    "provider": "provider",
    "app": "app",
    "day": "to_char(to_timestamp(hour) AT TIME ZONE 'UTC', 'YYYY-MM-DD')",
}
_RAW_GROUP = {
    "key": "key_id",
    "team": "COALESCE(team_id, '')",
    "model": "COALESCE(model, model_requested, '')",
    "provider": "COALESCE(provider, '')",
    "app": "COALESCE(app, '')",
    "day": "to_char(to_timestamp(created_at) AT TIME ZONE 'UTC', 'YYYY-MM-DD')",
    "tag": "t.tag",
    "user": "end_user",
    "session": "session_id",
}
# Records without a tag or an end user are not in those roll-ups, so the partial hour leaves them out too.
_RAW_FROM = {"tag": "generations, jsonb_array_elements_text(generations.tags::jsonb) AS t(tag)"}
_RAW_WHERE = {"user": " AND end_user IS NOT NULL", "session": " AND session_id IS NOT NULL"}
_SUMS = (
    "SUM(requests), SUM(errors), SUM(tokens_prompt), SUM(tokens_completion), SUM(tokens_cached),"
    " SUM(cost_pico), SUM(latency_ms)"
)
_RAW_SUMS = (
    "COUNT(*), SUM(CASE WHEN status >= 400 THEN 1 ELSE 0 END), SUM(tokens_prompt), SUM(tokens_completion),"
    " SUM(tokens_cached), SUM(cost_pico), SUM(latency_ms), SUM(cache_saved_pico)"
)


class PostgresReports:
    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool

    async def high_water(self) -> int:
        return int(await self._pool.fetchval("SELECT COALESCE(MAX(seq), 0) FROM generations"))

    async def latest(self, filters: LogFilter, *, limit: int) -> list[Row]:
        params: list[Any] = []
        where = _clauses(filters, params)
        sql = "SELECT * FROM generations"
        if where:
            sql += " WHERE " + " AND ".join(where)
        params.append(limit)
        rows = await self._pool.fetch(
            sql + f" ORDER BY created_at DESC, seq DESC LIMIT ${len(params)}", *params
        )
        found = [(int(row["seq"]), record_from_row(row)) for row in rows]
        found.reverse()
        return found

    async def after(
        self, filters: LogFilter, *, after_rowid: int, up_to: int, limit: int = 1000
    ) -> list[Row]:
        params: list[Any] = [after_rowid, up_to]
        where = ["seq > $1", "seq <= $2", *_clauses(filters, params)]
        params.append(limit)
        rows = await self._pool.fetch(
            f"SELECT * FROM generations WHERE {' AND '.join(where)} ORDER BY seq LIMIT ${len(params)}",
            *params,
        )
        return [(int(row["seq"]), record_from_row(row)) for row in rows]

    async def usage(self, *, since: float | None, until: float, by: GroupBy) -> Usage:
        if by not in GROUPS:
            raise ValueError(f"cannot group by {by!r}")
        first_hour = first_whole_hour(since)
        groups: dict[str, UsageRow] = {}
        queries: list[tuple[str, tuple[Any, ...]]] = []
        if by in LABEL_GROUPS:  # a request with two tags counts under both
            # (The labels' hours do not keep what prompt caching saved: that is summed by key, model...)
            rollup = f"SELECT label AS g, {_SUMS}, 0 FROM usage_labels_hourly WHERE kind = '{by}'"
            hour_clause = " AND hour >= $1 GROUP BY g"
        else:
            rollup = f"SELECT {_ROLLUP_GROUP[by]} AS g, {_SUMS}, SUM(cache_saved_pico) FROM usage_hourly"
            hour_clause = " WHERE hour >= $1 GROUP BY g"
        if first_hour is not None:
            queries.append((rollup + hour_clause, (first_hour,)))
            raw = f"SELECT {_RAW_GROUP[by]} AS g, {_RAW_SUMS} FROM {_RAW_FROM.get(by, 'generations')}"
            queries.append(
                (
                    raw + f" WHERE created_at >= $1 AND created_at < $2{_RAW_WHERE.get(by, '')} GROUP BY g",
                    (since, float(first_hour)),
                )
            )
        else:
            queries.append((rollup + " GROUP BY g", ()))
        for sql, params in queries:
            for row in await self._pool.fetch(sql, *params):
                n = [int(v or 0) for v in tuple(row)[1:7]]
                part = UsageRow(
                    str(row[0]), n[0], n[1], n[2], n[3], n[4], n[5], float(row[7] or 0.0), int(row[8] or 0)
                )
                groups.setdefault(part.group, UsageRow(part.group)).add(part)
        result = Usage(since=since, until=until, by=by, rows=list(groups.values()))
        result.sort()
        if by in ("key", "team"):
            ids = [r.group for r in result.rows if r.group]
            table = "keys" if by == "key" else "teams"
            rows = await self._pool.fetch(f"SELECT id, name FROM {table} WHERE id = ANY($1::text[])", ids)
            result.names = {row["id"]: row["name"] for row in rows}
        return result

    async def spend_by_model(self, key_id: str) -> list[ModelSpend]:
        rows = await self._pool.fetch(
            "SELECT COALESCE(model, model_requested, '') AS m, COUNT(*), SUM(tokens_prompt), SUM(tokens_completion),"
            " SUM(cost_pico) FROM generations WHERE key_id = $1 GROUP BY 1 ORDER BY SUM(cost_pico) DESC, 1",
            key_id,
        )
        return [ModelSpend(r[0], int(r[1]), int(r[2]), int(r[3]), int(r[4])) for r in rows]

    async def prune(self, *, before: float, bodies_only: bool = False, batch: int = PRUNE_BATCH) -> int:
        changed = 0
        while True:
            async with transaction(self._pool) as conn:
                if bodies_only:
                    status = await conn.execute(
                        "UPDATE generations SET request_body = NULL, response_body = NULL WHERE seq IN"
                        " (SELECT seq FROM generations WHERE created_at < $1"
                        " AND (request_body IS NOT NULL OR response_body IS NOT NULL) ORDER BY created_at LIMIT $2)",
                        before,
                        batch,
                    )
                else:
                    status = await conn.execute(
                        "DELETE FROM generations WHERE seq IN"
                        " (SELECT seq FROM generations WHERE created_at < $1 ORDER BY created_at LIMIT $2)",
                        before,
                        batch,
                    )
            count = int(status.split()[-1])
            changed += count
            if count < batch:
                # Responses items are answers' text, kept as long as bodies are.
                await self._pool.execute("DELETE FROM response_items WHERE created_at < $1", before)
                return changed

    async def count_before(self, before: float) -> int:
        return int(
            await self._pool.fetchval("SELECT COUNT(*) FROM generations WHERE created_at < $1", before)
        )
