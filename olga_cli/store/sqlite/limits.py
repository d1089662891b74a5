"""Usage limits, admissions, per-day usage and limit alerts in SQLite (tables of migration 002)."""

from __future__ import annotations

import json
import time
from collections import defaultdict
from collections.abc import Sequence

import aiosqlite

from olga_cli.store.limits import (
    USER_SEPARATOR,
    AlertRow,
    DayUsage,
    LimitRow,
    Scope,
    alert_from_row,
    limit_from_row,
)
from olga_cli.store.scopes import live_scope

# Limits of deleted keys and teams are left out: they can never fire again.
_LIVE = live_scope("l")


class SqliteLimits:
    def __init__(self, db: aiosqlite.Connection) -> None:
        self._db = db

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
        cursor = await self._db.execute(
            "INSERT INTO limits (scope, scope_id, metric, time_window, threshold, alerts, created_at)"
            " VALUES (?, ?, ?, ?, ?, ?, ?)",
            (scope, scope_id, metric, window, threshold, json.dumps(sorted(set(alerts))), time.time()),
        )
        limit_id = cursor.lastrowid
        await cursor.close()
        assert limit_id is not None
        row = await self.get_limit(limit_id)
        assert row is not None
        return row

    async def get_limit(self, limit_id: int) -> LimitRow | None:
        async with self._db.execute(
            f"SELECT l.* FROM limits l WHERE l.id = ? AND {_LIVE}", (limit_id,)
        ) as cursor:
            row = await cursor.fetchone()
        return None if row is None else limit_from_row(row)

    async def list_limits(self, *, scope: Scope | None = None, scope_id: str | None = None) -> list[LimitRow]:
        sql, params = f"SELECT l.* FROM limits l WHERE {_LIVE}", []
        if scope is not None and scope_id is not None:
            sql += " AND l.scope = ? AND l.scope_id = ?"
            params += [scope, scope_id]
        async with self._db.execute(sql + " ORDER BY l.id", params) as cursor:
            return [limit_from_row(row) async for row in cursor]

    async def remove_limit(self, limit_id: int) -> None:
        await self._db.execute("UPDATE limits SET deleted_at = ? WHERE id = ?", (time.time(), limit_id))

    async def usage_by_day(
        self, kinds: Sequence[str] | None = None
    ) -> dict[tuple[str, str], dict[int, DayUsage]]:
        usage: dict[tuple[str, str], dict[int, DayUsage]] = defaultdict(dict)
        sql = "SELECT scope, scope_id, day, cost_pico, requests, tokens FROM usage_daily"
        if kinds is not None:
            sql += f" WHERE scope IN ({', '.join('?' for _ in kinds)})"
        async with self._db.execute(sql, tuple(kinds or ())) as cursor:
            async for row in cursor:
                usage[(row[0], row[1])][int(row[2])] = DayUsage(int(row[3]), int(row[4]), int(row[5]))
        return dict(usage)

    async def scope_usage_by_day(self, scope: str, scope_id: str) -> dict[int, DayUsage]:
        async with self._db.execute(
            "SELECT day, cost_pico, requests, tokens FROM usage_daily WHERE scope = ? AND scope_id = ?",
            (scope, scope_id),
        ) as cursor:
            return {int(row[0]): DayUsage(int(row[1]), int(row[2]), int(row[3])) async for row in cursor}

    async def users_usage_by_day(self, scope: str, owner_id: str) -> dict[str, dict[int, DayUsage]]:
        usage: dict[str, dict[int, DayUsage]] = defaultdict(dict)
        prefix = owner_id + USER_SEPARATOR
        async with self._db.execute(
            "SELECT scope_id, day, cost_pico, requests, tokens FROM usage_daily"
            " WHERE scope = ? AND scope_id >= ? AND scope_id < ?",
            (scope, prefix, owner_id + chr(ord(USER_SEPARATOR) + 1)),
        ) as cursor:
            async for row in cursor:
                user = str(row[0])[len(prefix) :]
                usage[user][int(row[1])] = DayUsage(int(row[2]), int(row[3]), int(row[4]))
        return dict(usage)

    async def recent_admissions(self, seconds: float = 60.0) -> dict[str, list[tuple[float, int]]]:
        events: dict[str, list[tuple[float, int]]] = defaultdict(list)
        async with self._db.execute(
            "SELECT key_id, at, tokens FROM admissions"
            " WHERE at > (SELECT MAX(at) FROM admissions) - ? ORDER BY at",
            (seconds,),
        ) as cursor:
            async for row in cursor:
                events[row[0]].append((float(row[1]), int(row[2])))
        return dict(events)

    async def prune_admissions(self, keep_seconds: float = 300.0) -> None:
        await self._db.execute(
            "DELETE FROM admissions WHERE at < (SELECT MAX(at) FROM admissions) - ?", (keep_seconds,)
        )


class SqliteAlerts:
    def __init__(self, db: aiosqlite.Connection) -> None:
        self._db = db

    async def fired_alerts(self) -> set[tuple[int, int, int]]:
        async with self._db.execute("SELECT limit_id, period_day, percent FROM limit_alerts") as cursor:
            return {(int(r[0]), int(r[1]), int(r[2])) async for r in cursor}

    async def list_alerts(
        self, scopes: list[tuple[Scope, str]] | None = None, *, limit: int = 50
    ) -> list[AlertRow]:
        sql, params = "SELECT * FROM limit_alerts", []
        if scopes is not None:
            if not scopes:
                return []
            sql += " WHERE " + " OR ".join("(scope = ? AND scope_id = ?)" for _ in scopes)
            params = [part for scope in scopes for part in scope]
        sql += " ORDER BY id DESC LIMIT ?"
        async with self._db.execute(sql, (*params, limit)) as cursor:
            return [alert_from_row(row) async for row in cursor]

    async def latest_alerts(self, kinds: Sequence[str], *, per_scope: int) -> list[AlertRow]:
        async with self._db.execute(
            "SELECT * FROM (SELECT *, ROW_NUMBER() OVER (PARTITION BY scope, scope_id ORDER BY id DESC) AS n"
            f" FROM limit_alerts WHERE scope IN ({', '.join('?' for _ in kinds)})) WHERE n <= ? ORDER BY id DESC",
            (*kinds, per_scope),
        ) as cursor:
            return [alert_from_row(row) async for row in cursor]

    async def alerts_after(
        self, *, after_id: int = 0, since: float | None = None, limit: int = 200
    ) -> list[AlertRow]:
        sql = "SELECT * FROM limit_alerts WHERE id > ?"
        params: list[float] = [after_id]
        if since is not None:
            sql += " AND created_at >= ?"
            params.append(since)
        sql += " ORDER BY id LIMIT ?"
        async with self._db.execute(sql, (*params, limit)) as cursor:
            return [alert_from_row(row) async for row in cursor]

    async def last_alert_id(self) -> int:
        async with self._db.execute("SELECT COALESCE(MAX(id), 0) FROM limit_alerts") as cursor:
            row = await cursor.fetchone()
        return int(row[0]) if row else 0
