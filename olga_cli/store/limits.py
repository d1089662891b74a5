"""Usage limits, the alerts they raised, and the usage they are measured against, as stored.

Every request admitted past the limits is written as an admission in the same batch as its record;
the store adds it to the per key and team per UTC day totals (``usage_daily``). The gateway rebuilds
its counters from those at start-up and ``olga keys show`` reports from them, so the running gateway,
a restarted one and the CLI all count the same requests.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal, Protocol

from olga_cli.store.extras import Extra

# Who a limit holds: a key, a team, a request tag, an end user (across every key), or each end user
# of one key or team (``key_each_user``, ``team_each_user``: the scope id is the key's or team's).
Scope = Literal["key", "team", "tag", "user", "key_each_user", "team_each_user"]
SCOPES: tuple[str, ...] = ("key", "team", "tag", "user", "key_each_user", "team_each_user")
# Usage of one end user under a key or team is counted as ("key_user" | "team_user", "<id>\x1f<user>").
USER_SEPARATOR = "\x1f"


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


def admission_insert(
    *,
    generation_id: str,
    key_id: str,
    team_id: str | None,
    at: float,
    cost: int,
    tokens: int,
    tags: Sequence[str] = (),
    end_user: str | None = None,
) -> Extra:
    """One admitted request and what it used, committed with its record; it counts in usage_daily
    for its key, team, tags and end user."""
    return Extra(
        "admission", (generation_id, key_id, team_id, at, cost, tokens, json.dumps(list(tags)), end_user)
    )


def admissions_prune(before: float) -> Extra:
    """Drop admissions older than ``before``, in the recorder's batch (the running gateway's pruning)."""
    return Extra("admissions_prune", (before,))


def alert_insert(alert: AlertRow) -> Extra:
    """Record an alert (once per limit, window and percent), in the batch of the record that raised it."""
    return Extra(
        "alert",
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


def limit_from_row(row: Any) -> LimitRow:
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


def alert_from_row(row: Any) -> AlertRow:
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


class LimitStore(Protocol):
    """Limits of live keys and teams only: those of deleted ones can never fire again."""

    async def create_limit(
        self,
        *,
        scope: Scope,
        scope_id: str,
        metric: str,
        window: str,
        threshold: int,
        alerts: tuple[int, ...] = (),
    ) -> LimitRow: ...

    async def get_limit(self, limit_id: int) -> LimitRow | None: ...

    async def list_limits(
        self, *, scope: Scope | None = None, scope_id: str | None = None
    ) -> list[LimitRow]: ...

    async def remove_limit(self, limit_id: int) -> None: ...

    async def usage_by_day(
        self, kinds: Sequence[str] | None = None
    ) -> dict[tuple[str, str], dict[int, DayUsage]]:
        """Usage per UTC day of every key, team, tag, end user, and end user of a key or team (what
        the gateway rebuilds its counters from); only of the scopes of ``kinds`` ("key", "team") when
        given."""

    async def scope_usage_by_day(self, scope: str, scope_id: str) -> dict[int, DayUsage]:
        """One key's, team's, tag's or end user's usage per UTC day (what ``olga keys show`` reports)."""

    async def users_usage_by_day(self, scope: str, owner_id: str) -> dict[str, dict[int, DayUsage]]:
        """Per end user of one key (``scope`` "key_user") or team ("team_user"), usage per UTC day."""

    async def recent_admissions(self, seconds: float = 60.0) -> dict[str, list[tuple[float, int]]]:
        """Per key, (time, tokens) of the requests admitted in the last ``seconds`` of admissions.

        Measured back from the newest admission rather than from the clock, so whatever the time is
        when the gateway starts again, every request that can still be inside a sliding minute is there.
        """

    async def prune_admissions(self, keep_seconds: float = 300.0) -> None:
        """Drop admissions older than any sliding minute needs (their usage stays in usage_daily)."""


class AlertStore(Protocol):
    async def fired_alerts(self) -> set[tuple[int, int, int]]:
        """(limit id, first day of the window, percent) of every alert already raised."""

    async def list_alerts(
        self, scopes: list[tuple[Scope, str]] | None = None, *, limit: int = 50
    ) -> list[AlertRow]:
        """Newest first; only those of the given scopes when ``scopes`` is set."""

    async def latest_alerts(self, kinds: Sequence[str], *, per_scope: int) -> list[AlertRow]:
        """The newest ``per_scope`` alerts of every scope of ``kinds`` ("key", "team"), newest first:
        ``list_alerts`` of every key at once."""

    async def alerts_after(
        self, *, after_id: int = 0, since: float | None = None, limit: int = 200
    ) -> list[AlertRow]:
        """Alerts recorded after ``after_id`` (and at or after ``since``), oldest first: for ``olga logs``."""

    async def last_alert_id(self) -> int: ...
