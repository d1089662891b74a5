"""Usage limits, admissions, per-day usage and limit alerts in PostgreSQL."""

from __future__ import annotations

import json
import time
from collections import defaultdict
from collections.abc import Sequence
from typing import Any

import asyncpg

from olga_cli.store.limits import (
    USER_SEPARATOR,
    AlertRow,
    DayUsage,
    LimitRow,
    Scope,
    alert_from_row,
    limit_from_row,
)
from olga_cli.store.postgres.connection import notify, transaction
from olga_cli.store.scopes import live_scope

_LIVE = live_scope("l")


class PostgresLimits:
    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool

    async def create_limit(
        self,
        *,
        scope: Scope,
        scope_id: str,
        metric: str,
        window: str,
        threshold: int,
        alerts: tuple[int, ...] = (),
    ) -> LimitRow:
        async with transaction(self._pool) as conn:
            limit_id = await conn.fetchval(
                "INSERT INTO limits (scope, scope_id, metric, time_window, threshold, alerts, created_at)"
                " VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
                scope,
                scope_id,
                metric,
                window,
                threshold,
                json.dumps(sorted(set(alerts))),
                time.time(),
            )
            await notify(conn)
        row = await self.get_limit(int(limit_id))
        assert row is not None
        return row

    async def get_limit(self, limit_id: int) -> LimitRow | None:
        row = await self._pool.fetchrow(f"SELECT l.* FROM limits l WHERE l.id = $1 AND {_LIVE}", limit_id)
        return None if row is None else limit_from_row(row)

    async def list_limits(self, *, scope: Scope | None = None, scope_id: str | None = None) -> list[LimitRow]:
        sql, params = f"SELECT l.* FROM limits l WHERE {_LIVE}", []
        if scope is not None and scope_id is not None:
            sql += " AND l.scope = $1 AND l.scope_id = $2"
            params += [scope, scope_id]
        return [limit_from_row(row) for row in await self._pool.fetch(sql + " ORDER BY l.id", *params)]

    async def remove_limit(self, limit_id: int) -> None:
        async with transaction(self._pool) as conn:
            await conn.execute("UPDATE limits SET deleted_at = $1 WHERE id = $2", time.time(), limit_id)
            await notify(conn)

    async def usage_by_day(
        self, kinds: Sequence[str] | None = None
    ) -> dict[tuple[str, str], dict[int, DayUsage]]:
        usage: dict[tuple[str, str], dict[int, DayUsage]] = defaultdict(dict)
        sql = "SELECT scope, scope_id, day, cost_pico, requests, tokens FROM usage_daily"
        params: list[Any] = []
        if kinds is not None:
            sql += " WHERE scope = ANY($1::text[])"
            params.append(list(kinds))
        for row in await self._pool.fetch(sql, *params):
            usage[(row["scope"], row["scope_id"])][int(row["day"])] = DayUsage(
                int(row["cost_pico"]), int(row["requests"]), int(row["tokens"])
            )
        return dict(usage)

    async def scope_usage_by_day(self, scope: str, scope_id: str) -> dict[int, DayUsage]:
        rows = await self._pool.fetch(
            "SELECT day, cost_pico, requests, tokens FROM usage_daily WHERE scope = $1 AND scope_id = $2",
            scope,
            scope_id,
        )
        return {
            int(row["day"]): DayUsage(int(row["cost_pico"]), int(row["requests"]), int(row["tokens"]))
            for row in rows
        }

    async def users_usage_by_day(self, scope: str, owner_id: str) -> dict[str, dict[int, DayUsage]]:
        prefix = owner_id + USER_SEPARATOR
        rows = await self._pool.fetch(
            "SELECT scope_id, day, cost_pico, requests, tokens FROM usage_daily"
            " WHERE scope = $1 AND scope_id >= $2 AND scope_id < $3",
            scope,
            prefix,
            owner_id + chr(ord(USER_SEPARATOR) + 1),
        )
        usage: dict[str, dict[int, DayUsage]] = {}
        for row in rows:
            user = str(row["scope_id"])[len(prefix) :]
            usage.setdefault(user, {})[int(row["day"])] = DayUsage(
                int(row["cost_pico"]), int(row["requests"]), int(row["tokens"])
            )
        return usage

    async def recent_admissions(self, seconds: float = 60.0) -> dict[str, list[tuple[float, int]]]:
        events: dict[str, list[tuple[float, int]]] = defaultdict(list)
        rows = await self._pool.fetch(
            "SELECT key_id, at, tokens FROM admissions"
            " WHERE at > (SELECT MAX(at) FROM admissions) - $1 ORDER BY at",
            seconds,
        )
        for row in rows:
            events[row["key_id"]].append((float(row["at"]), int(row["tokens"])))
        return dict(events)

    async def prune_admissions(self, keep_seconds: float = 300.0) -> None:
        await self._pool.execute(
            "DELETE FROM admissions WHERE at < (SELECT MAX(at) FROM admissions) - $1", keep_seconds
        )


class PostgresAlerts:
    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool

    async def fired_alerts(self) -> set[tuple[int, int, int]]:
        rows = await self._pool.fetch("SELECT limit_id, period_day, percent FROM limit_alerts")
        return {(int(r["limit_id"]), int(r["period_day"]), int(r["percent"])) for r in rows}

    async def list_alerts(
        self, scopes: list[tuple[Scope, str]] | None = None, *, limit: int = 50
    ) -> list[AlertRow]:
        sql, params = "SELECT * FROM limit_alerts", list[Any]()
        if scopes is not None:
            if not scopes:
                return []
            clauses = []
            for scope, scope_id in scopes:
                params += [scope, scope_id]
                clauses.append(f"(scope = ${len(params) - 1} AND scope_id = ${len(params)})")
            sql += " WHERE " + " OR ".join(clauses)
        params.append(limit)
        rows = await self._pool.fetch(sql + f" ORDER BY id DESC LIMIT ${len(params)}", *params)
        return [alert_from_row(row) for row in rows]

    async def latest_alerts(self, kinds: Sequence[str], *, per_scope: int) -> list[AlertRow]:
        rows = await self._pool.fetch(
            "SELECT * FROM (SELECT *, ROW_NUMBER() OVER (PARTITION BY scope, scope_id ORDER BY id DESC) AS n"
            " FROM limit_alerts WHERE scope = ANY($1::text[])) AS latest WHERE n <= $2 ORDER BY id DESC",
            list(kinds),
            per_scope,
        )
        return [alert_from_row(row) for row in rows]

    async def alerts_after(
        self, *, after_id: int = 0, since: float | None = None, limit: int = 200
    ) -> list[AlertRow]:
        sql = "SELECT * FROM limit_alerts WHERE id > $1"
        params: list[Any] = [after_id]
        if since is not None:
            params.append(since)
            sql += " AND created_at >= $2"
        params.append(limit)
        rows = await self._pool.fetch(sql + f" ORDER BY id LIMIT ${len(params)}", *params)
        return [alert_from_row(row) for row in rows]

    async def last_alert_id(self) -> int:
        return int(await self._pool.fetchval("SELECT COALESCE(MAX(id), 0) FROM limit_alerts"))
