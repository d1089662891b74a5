"""Usage limits, the alerts they raised, and the usage they are measured against, as stored.

Every request admitted past the limits is written to ``admissions`` in the same batch as its record;
a trigger adds it to ``usage_daily`` (per key and team per UTC day, migration 002). The gateway rebuilds
its counters from those two tables at start-up and ``olga keys show`` reports from ``usage_daily``, so
the running gateway, a restarted one and the CLI all count the same requests.
"""

from __future__ import annotations

import json
import time
from collections import defaultdict
from dataclasses import dataclass
from typing import Literal

import aiosqlite

from olga_cli.store.generations import Extra
from olga_cli.store.scopes import live_scope

Scope = Literal["key", "team"]


@dataclass(frozen=True, slots=True)
class LimitRow:
    id: int
    scope: Scope
    scope_id: str
    metric: str  # cost | requests | tokens
    window: str  # daily | weekly | monthly | all-time
    threshold: int  # picodollars for cost, else a count
    alerts: tuple[int, ...]  # percentages of the threshold that raise an alert
    created_at: float


@dataclass(frozen=True, slots=True)
class AlertRow:
    id: int
    limit_id: int
    scope: Scope
    scope_id: str
    metric: str
    window: str
    period_day: int
    percent: int
    threshold: int
    usage: int
    generation_id: str | None
    created_at: float


@dataclass(frozen=True, slots=True)
class DayUsage:
    cost: int
    requests: int
    tokens: int


# -- limits --------------------------------------------------------------------------------------


def _limit(row: aiosqlite.Row) -> LimitRow:
    return LimitRow(
        id=row["id"],
        scope=row["scope"],
        scope_id=row["scope_id"],
        metric=row["metric"],
        window=row["time_window"],
        threshold=row["threshold"],
        alerts=tuple(json.loads(row["alerts"])),
        created_at=row["created_at"],
    )


async def create_limit(
    db: aiosqlite.Connection,
    *,
    scope: Scope,
    scope_id: str,
    metric: str,
    window: str,
    threshold: int,
    alerts: tuple[int, ...] = (),
) -> LimitRow:
    cursor = await db.execute(
        "INSERT INTO limits (scope, scope_id, metric, time_window, threshold, alerts, created_at)"
        " VALUES (?, ?, ?, ?, ?, ?, ?)",
        (scope, scope_id, metric, window, threshold, json.dumps(sorted(set(alerts))), time.time()),
    )
    limit_id = cursor.lastrowid
    await cursor.close()
    assert limit_id is not None
    row = await get_limit(db, limit_id)
    assert row is not None
    return row


# Limits of deleted keys and teams are left out: they can never fire again.
_LIVE = live_scope("l")


async def get_limit(db: aiosqlite.Connection, limit_id: int) -> LimitRow | None:
    async with db.execute(f"SELECT l.* FROM limits l WHERE l.id = ? AND {_LIVE}", (limit_id,)) as cursor:
        row = await cursor.fetchone()
    return None if row is None else _limit(row)


async def list_limits(
    db: aiosqlite.Connection, *, scope: Scope | None = None, scope_id: str | None = None
) -> list[LimitRow]:
    sql, params = f"SELECT l.* FROM limits l WHERE {_LIVE}", []
    if scope is not None and scope_id is not None:
        sql += " AND l.scope = ? AND l.scope_id = ?"
        params += [scope, scope_id]
    async with db.execute(sql + " ORDER BY l.id", params) as cursor:
        return [_limit(row) async for row in cursor]


async def remove_limit(db: aiosqlite.Connection, limit_id: int) -> None:
    await db.execute("UPDATE limits SET deleted_at = ? WHERE id = ?", (time.time(), limit_id))


async def remove_limits_of(db: aiosqlite.Connection, scope: Scope, scope_id: str) -> None:
    await db.execute(
        "UPDATE limits SET deleted_at = ? WHERE scope = ? AND scope_id = ? AND deleted_at IS NULL",
        (time.time(), scope, scope_id),
    )


# -- usage, read back from the records -----------------------------------------------------------


async def usage_by_day(db: aiosqlite.Connection) -> dict[tuple[Scope, str], dict[int, DayUsage]]:
    """Every key's and team's usage per UTC day (what the gateway rebuilds its counters from)."""
    usage: dict[tuple[Scope, str], dict[int, DayUsage]] = defaultdict(dict)
    async with db.execute(
        "SELECT scope, scope_id, day, cost_pico, requests, tokens FROM usage_daily"
    ) as cursor:
        async for row in cursor:
            usage[(row[0], row[1])][int(row[2])] = DayUsage(int(row[3]), int(row[4]), int(row[5]))
    return dict(usage)


async def scope_usage_by_day(db: aiosqlite.Connection, scope: Scope, scope_id: str) -> dict[int, DayUsage]:
    """One key's or team's usage per UTC day (what ``olga keys show`` reports)."""
    async with db.execute(
        "SELECT day, cost_pico, requests, tokens FROM usage_daily WHERE scope = ? AND scope_id = ?",
        (scope, scope_id),
    ) as cursor:
        return {int(row[0]): DayUsage(int(row[1]), int(row[2]), int(row[3])) async for row in cursor}


_INSERT_ADMISSION = (
    "INSERT INTO admissions (generation_id, key_id, team_id, at, cost_pico, tokens) VALUES (?, ?, ?, ?, ?, ?)"
)


def admission_insert(
    *, generation_id: str, key_id: str, team_id: str | None, at: float, cost: int, tokens: int
) -> Extra:
    """One admitted request and what it used, committed with its record; a trigger adds it to usage_daily."""
    return Extra(_INSERT_ADMISSION, (generation_id, key_id, team_id, at, cost, tokens))


async def recent_admissions(
    db: aiosqlite.Connection, seconds: float = 60.0
) -> dict[str, list[tuple[float, int]]]:
    """Per key, (time, tokens) of the requests admitted in the last ``seconds`` of admissions.

    Measured back from the newest admission rather than from the clock, so whatever the time is when
    the gateway starts again, every request that can still be inside a sliding minute is there.
    """
    events: dict[str, list[tuple[float, int]]] = defaultdict(list)
    async with db.execute(
        "SELECT key_id, at, tokens FROM admissions"
        " WHERE at > (SELECT MAX(at) FROM admissions) - ? ORDER BY at",
        (seconds,),
    ) as cursor:
        async for row in cursor:
            events[row[0]].append((float(row[1]), int(row[2])))
    return dict(events)


def admissions_prune(before: float) -> Extra:
    """Drop admissions older than ``before``, in the recorder's batch (the running gateway's pruning)."""
    return Extra("DELETE FROM admissions WHERE at < ?", (before,))


async def prune_admissions(db: aiosqlite.Connection, keep_seconds: float = 300.0) -> None:
    """Drop admissions older than any sliding minute needs (their usage stays in usage_daily)."""
    await db.execute(
        "DELETE FROM admissions WHERE at < (SELECT MAX(at) FROM admissions) - ?", (keep_seconds,)
    )


# -- alerts --------------------------------------------------------------------------------------

_INSERT_ALERT = (
    "INSERT OR IGNORE INTO limit_alerts (limit_id, scope, scope_id, metric, time_window, period_day, percent,"
    " threshold, usage, generation_id, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)


def alert_insert(alert: AlertRow) -> Extra:
    """The statement that records an alert, committed in the same batch as the record that raised it."""
    return Extra(
        _INSERT_ALERT,
        (
            alert.limit_id,
            alert.scope,
            alert.scope_id,
            alert.metric,
            alert.window,
            alert.period_day,
            alert.percent,
            alert.threshold,
            alert.usage,
            alert.generation_id,
            alert.created_at,
        ),
    )


def _alert(row: aiosqlite.Row) -> AlertRow:
    return AlertRow(
        id=row["id"],
        limit_id=row["limit_id"],
        scope=row["scope"],
        scope_id=row["scope_id"],
        metric=row["metric"],
        window=row["time_window"],
        period_day=row["period_day"],
        percent=row["percent"],
        threshold=row["threshold"],
        usage=row["usage"],
        generation_id=row["generation_id"],
        created_at=row["created_at"],
    )


async def fired_alerts(db: aiosqlite.Connection) -> set[tuple[int, int, int]]:
    """(limit id, first day of the window, percent) of every alert already raised."""
    async with db.execute("SELECT limit_id, period_day, percent FROM limit_alerts") as cursor:
        return {(int(r[0]), int(r[1]), int(r[2])) async for r in cursor}


async def list_alerts(
    db: aiosqlite.Connection, scopes: list[tuple[Scope, str]] | None = None, *, limit: int = 50
) -> list[AlertRow]:
    """Newest first; only those of the given scopes when ``scopes`` is set."""
    sql, params = "SELECT * FROM limit_alerts", []
    if scopes is not None:
        if not scopes:
            return []
        sql += " WHERE " + " OR ".join("(scope = ? AND scope_id = ?)" for _ in scopes)
        params = [part for scope in scopes for part in scope]
    sql += " ORDER BY id DESC LIMIT ?"
    async with db.execute(sql, (*params, limit)) as cursor:
        return [_alert(row) async for row in cursor]


async def alerts_after(
    db: aiosqlite.Connection, *, after_id: int = 0, since: float | None = None, limit: int = 200
) -> list[AlertRow]:
    """Alerts recorded after ``after_id`` (and at or after ``since``), oldest first: for ``olga logs``."""
    sql = "SELECT * FROM limit_alerts WHERE id > ?"
    params: list[float] = [after_id]
    if since is not None:
        sql += " AND created_at >= ?"
        params.append(since)
    sql += " ORDER BY id LIMIT ?"
    async with db.execute(sql, (*params, limit)) as cursor:
        return [_alert(row) async for row in cursor]


async def last_alert_id(db: aiosqlite.Connection) -> int:
    async with db.execute("SELECT COALESCE(MAX(id), 0) FROM limit_alerts") as cursor:
        row = await cursor.fetchone()
    return int(row[0]) if row else 0


async def scope_names(db: aiosqlite.Connection) -> dict[tuple[str, str], str]:
    """(scope, id) -> name for every key and team, deleted ones included, to name alerts."""
    names: dict[tuple[str, str], str] = {}
    for table, scope in (("keys", "key"), ("teams", "team")):
        async with db.execute(f"SELECT id, name FROM {table}") as cursor:
            async for row in cursor:
                names[(scope, row[0])] = row[1]
    return names
