"""The JSON views of usage, limits and alerts, shared by ``GET /v1/key`` and the CLI."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from olga_cli.gateway.admission.usage_counts import ScopeUsage
from olga_cli.gateway.admission.windows import WINDOWS, Window, day_of, iso, period_start, resets_at
from olga_cli.money import pico_to_usd
from olga_cli.store.base import Store
from olga_cli.store.limits import AlertRow, LimitRow, Scope


def amount(metric: str, value: int) -> str:
    if metric == "cost":
        return f"${pico_to_usd(value)}"
    return f"{value} {metric}"


def json_amount(metric: str, value: int) -> str | int:
    """Money as an exact decimal string of USD, counts as integers."""
    return pico_to_usd(value) if metric == "cost" else value


def window_view(usage: ScopeUsage, window: Window, now: float) -> dict[str, Any]:
    day = day_of(now)
    return {
        "spend": pico_to_usd(usage.used(window, day, "cost", held=False)),
        "requests": usage.used(window, day, "requests", held=False),
        "tokens": usage.used(window, day, "tokens", held=False),
        "started_at": iso(period_start(window, now)),
        "resets_at": iso(resets_at(window, now)),
    }


def limit_view(limit: LimitRow, scope_name: str, usage: ScopeUsage, now: float) -> dict[str, Any]:
    day = day_of(now)
    settled = usage.used(limit.window, day, limit.metric, held=False)
    in_flight = usage.used(limit.window, day, limit.metric) - settled
    return {
        "id": limit.id,
        "scope": limit.scope,
        "scope_id": limit.scope_id,
        "scope_name": scope_name,
        "metric": limit.metric,
        "window": limit.window,
        "threshold": json_amount(limit.metric, limit.threshold),
        "usage": json_amount(limit.metric, settled),
        "in_flight": json_amount(limit.metric, in_flight),
        "remaining": json_amount(limit.metric, max(limit.threshold - settled - in_flight, 0)),
        "percent": round(settled * 100 / limit.threshold, 2),
        "reached": settled + in_flight >= limit.threshold,
        "resets_at": iso(resets_at(limit.window, now)),
        "alerts": list(limit.alerts),
    }


def alert_view(row: AlertRow, scope_name: str) -> dict[str, Any]:
    start = None if row.window == "all-time" else row.period_day * 86400.0
    return {
        "limit_id": row.limit_id,
        "scope": row.scope,
        "scope_id": row.scope_id,
        "scope_name": scope_name,
        "metric": row.metric,
        "window": row.window,
        "percent": row.percent,
        "threshold": json_amount(row.metric, row.threshold),
        "usage": json_amount(row.metric, row.usage),
        "window_started_at": iso(start),
        "generation_id": row.generation_id,
        "created_at": iso(row.created_at),
    }


def usage_report(
    scopes: Iterable[tuple[str, str, str, ScopeUsage, Iterable[LimitRow]]], now: float
) -> dict[str, Any]:
    """``usage`` of the first scope (the key) in each current window, and every limit of every scope."""
    report: dict[str, Any] = {"usage": None, "limits": []}
    for index, (_scope, _scope_id, name, usage, limits) in enumerate(scopes):
        if index == 0:
            report["usage"] = {window: window_view(usage, window, now) for window in WINDOWS}
        report["limits"].extend(limit_view(limit, name, usage, now) for limit in limits)
    return report


async def stored_report(
    db: Store, scopes: Sequence[tuple[Scope, str, str]], now: float, *, alerts: int = 20
) -> dict[str, Any]:
    """The report of ``GET /v1/key`` read from the store (settled usage only), with the latest alerts.

    ``scopes`` are (scope, id, name), the key (or team) first: ``usage`` is the first scope's.
    """
    entries = []
    for scope, scope_id, name in scopes:
        usage = ScopeUsage.from_days(await db.limits.scope_usage_by_day(scope, scope_id))
        entries.append(
            (scope, scope_id, name, usage, await db.limits.list_limits(scope=scope, scope_id=scope_id))
        )
    names = {(scope, scope_id): name for scope, scope_id, name in scopes}
    return _with_alerts(
        usage_report(entries, now), names, await db.alerts.list_alerts(list(names), limit=alerts)
    )


async def stored_reports(
    db: Store, reports: Sequence[Sequence[tuple[Scope, str, str]]], now: float, *, alerts: int = 20
) -> list[dict[str, Any]]:
    """``stored_report`` of each of ``reports`` (of keys and teams), read in three statements however
    many there are: what ``olga keys list`` shows of every key."""
    if not reports:
        return []
    kinds = sorted({scope for scopes in reports for scope, _, _ in scopes})
    days = await db.limits.usage_by_day(kinds)
    limits: dict[tuple[str, str], list[LimitRow]] = {}
    for limit in await db.limits.list_limits():
        limits.setdefault((limit.scope, limit.scope_id), []).append(limit)
    latest: dict[tuple[str, str], list[AlertRow]] = {}
    for row in await db.alerts.latest_alerts(kinds, per_scope=alerts):
        latest.setdefault((row.scope, row.scope_id), []).append(row)
    views = []
    for scopes in reports:
        entries = [
            (
                scope,
                scope_id,
                name,
                ScopeUsage.from_days(days.get((scope, scope_id), {})),
                limits.get((scope, scope_id), []),
            )
            for scope, scope_id, name in scopes
        ]
        names = {(scope, scope_id): name for scope, scope_id, name in scopes}
        rows = sorted((row for scope in names for row in latest.get(scope, [])), key=lambda row: -row.id)
        views.append(_with_alerts(usage_report(entries, now), names, rows[:alerts]))
    return views


def _with_alerts(
    report: dict[str, Any], names: Mapping[tuple[Scope, str], str], rows: Iterable[AlertRow]
) -> dict[str, Any]:
    report["alerts"] = [alert_view(row, names[(row.scope, row.scope_id)]) for row in rows]
    return report
