"""Usage limits and rate limits on the hot path: check and reserve at admission, settle on the record.

Usage is counted per key, team, tag, end user and end user of a key or team per UTC day, in memory, so a window (daily, weekly, monthly,
all-time) is a sum over days with no reset job: a new day simply starts empty. A request is admitted
while every limit of its key and team is below its threshold, counting the reservations of requests
in flight (worst-case cost and tokens, one request); it then holds its own reservation. So N
concurrent requests overshoot a limit by at most the reservation of the last one admitted, and
nothing between check and reserve awaits.

Every admitted request counts one request, whatever its outcome, and settles to the cost and tokens
(input + output) of its generation record. What it counted is written with the record (an
``admissions`` row, summed per day into ``usage_daily`` by a trigger), which is exactly what ``load``
rebuilds the counters from at start-up. A request that leaves no record (cancelled) counts nothing.
"""

from __future__ import annotations

import asyncio
import logging
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from olga_cli.errors import UsageLimitExceeded
from olga_cli.gateway.admission.attribution import NOBODY, Attribution
from olga_cli.gateway.admission.limit_views import alert_view, amount, usage_report
from olga_cli.gateway.admission.ratelimit import (
    RateHold,
    RateLimiter,
    RateLimits,
    explicit_max_output,
    go_duration,
)
from olga_cli.gateway.admission.usage_counts import Amounts, ScopeUsage
from olga_cli.gateway.admission.windows import day_of, first_day, iso, resets_at
from olga_cli.gateway.snapshot import KeyState, Snapshot
from olga_cli.providers.tokens import estimate_prompt_tokens
from olga_cli.records import GenerationRecord
from olga_cli.store import limits as limit_store
from olga_cli.store.base import Store
from olga_cli.store.generations import Extra
from olga_cli.store.holds import KeyFigures
from olga_cli.store.limits import USER_SEPARATOR, AlertRow, LimitRow, Scope

log = logging.getLogger("olga.limits")
OUTBOX_SIZE = 1000  # alerts waiting for the webhook; beyond that they are only recorded
PRUNE_EVERY = 1000  # settlements between two prunings of the admissions older than any sliding minute
KEEP_ADMISSIONS = 300.0  # seconds of admissions kept: the sliding minute with a wide margin


@dataclass(frozen=True, slots=True)
class Demand:
    """What one request may use, held against limits while it is in flight."""

    cost: int  # worst case, picodollars (the credits reservation)
    tokens: int  # worst case: an upper bound on input plus the output allowed
    rate_tokens: int  # counted against --tpm: estimated input plus the max_tokens asked for


@dataclass(frozen=True, slots=True)
class Holder:
    """Someone a request counts against: its usage counter and where its limits are filed."""

    usage: tuple[str, str]  # (scope, id) of the counter, as in usage_daily
    name: str  # what alerts call it: the key's or team's name, the tag, the user
    described: str  # what a 429 calls it: "team 'research'", "end user 'ada' of key 'laptop'"
    limits: tuple[tuple[str, str], ...]  # (scope, id) of the limits that apply, in Snapshot.limits


@dataclass(slots=True)
class _Watch:
    """A limit with alert thresholds, looked at again when the request settles."""

    limit: LimitRow
    scope_name: str
    usage: ScopeUsage


@dataclass(slots=True)
class Alert:
    row: AlertRow
    scope_name: str

    @property
    def extra(self) -> Extra:
        return limit_store.alert_insert(self.row)

    def payload(self) -> dict[str, Any]:
        row = self.row
        return {
            "type": "usage_limit.alert",
            **alert_view(row, self.scope_name),
            "text": (
                f"olga: {row.scope} '{self.scope_name}' reached {row.percent}% of its "
                f"{row.window} {row.metric} limit "
                f"({amount(row.metric, row.usage)} of {amount(row.metric, row.threshold)})"
            ),
        }


@dataclass(slots=True)
class Settlement:
    """What settling a request adds to its record's batch, and the alerts to announce once committed."""

    extras: list[Extra] = field(default_factory=list)
    alerts: list[Alert] = field(default_factory=list)


@dataclass(eq=False, slots=True)
class Ticket:
    """One admitted request's hold on its key's and team's limits."""

    key_id: str
    team_id: str | None
    tags: tuple[str, ...]
    end_user: str | None
    at: float
    day: int
    reserved: Amounts
    scopes: list[ScopeUsage]
    rate: RateHold
    headers: dict[str, str]
    watches: list[_Watch] = field(default_factory=list)
    released: bool = False
    settled: bool = False

    def release(self) -> None:
        """Give the reservation back (idempotent); settling later still counts what was used."""
        if self.released:
            return
        self.released = True
        for usage in self.scopes:
            usage.hold(self.day, self.reserved, -1)
        self.rate.release()


@dataclass(frozen=True, slots=True)
class WebhookPolicy:
    attempts: int = 5
    backoff: float = 1.0  # seconds before the first retry, doubled each time
    timeout: float = 10.0


class Limits:
    """Every key's and team's usage, every key's sliding minute, and the alerts raised so far."""

    def __init__(self) -> None:
        self.scopes: dict[tuple[str, str], ScopeUsage] = {}
        self.rates = RateLimiter()
        self.fired: set[tuple[int, int, int]] = set()
        self.outbox: asyncio.Queue[Alert] = asyncio.Queue(OUTBOX_SIZE)
        self.webhook = WebhookPolicy()
        self._since_prune = 0

    async def load(self, db: Store) -> None:
        """Rebuild from the store: usage per day, the last minute of requests, alerts already raised."""
        self.scopes = {
            scope: ScopeUsage.from_days(days) for scope, days in (await db.limits.usage_by_day()).items()
        }
        await db.limits.prune_admissions(KEEP_ADMISSIONS)
        self.rates.load(await db.limits.recent_admissions())
        self.fired = await db.alerts.fired_alerts()

    def usage(self, scope: str, scope_id: str) -> ScopeUsage:
        usage = self.scopes.get((scope, scope_id))
        if usage is None:
            usage = self.scopes[(scope, scope_id)] = ScopeUsage()
        return usage

    # -- admission and settlement --------------------------------------------------------------

    def admit(
        self, snapshot: Snapshot, key: KeyState, demand: Demand, *, now: float, who: Attribution = NOBODY
    ) -> Ticket:
        """429 if a rate limit or a usage limit of the key, its team, the request's tags or its end user
        is reached; else hold the demand against each of them."""
        rates = rate_limits_of(key)
        self.rates.check(rates, now)
        day = day_of(now)
        watches: list[_Watch] = []
        usages: list[ScopeUsage] = []
        for holder in holders_of(snapshot, key, who):
            usage = self.usage(*holder.usage)
            usages.append(usage)
            for where in holder.limits:
                for limit in snapshot.limits.get(where, ()):
                    used = usage.used(limit.window, day, limit.metric)
                    if used >= limit.threshold:
                        headers = self.rates.headers(rates, now)
                        raise self._refusal(limit, holder.described, usage, day, now, headers)
                    if limit.alerts:
                        watches.append(_Watch(limit, holder.name, usage))
        reserved = Amounts(demand.cost, 1, demand.tokens)
        for usage in usages:
            usage.hold(day, reserved)
        hold = self.rates.hold(rates, now, demand.rate_tokens)
        return Ticket(
            key.row.id,
            key.row.team_id,
            who.tags,
            who.end_user,
            now,
            day,
            reserved,
            usages,
            hold,
            self.rates.headers(rates, now),
            watches,
        )

    def settle(self, ticket: Ticket | None, record: GenerationRecord) -> Settlement:
        """Count what the request used, from its record: statements to commit with it, alerts raised."""
        if ticket is None or ticket.settled:
            return Settlement()
        ticket.settled = True
        ticket.release()
        actual = Amounts(record.cost_pico, 1, record.tokens_prompt + record.tokens_completion)
        for usage in ticket.scopes:
            usage.settle(ticket.day, actual)
        ticket.rate.settle(actual.tokens)
        alerts = self._raise_alerts(ticket, record)
        admission = limit_store.admission_insert(
            generation_id=record.id,
            key_id=ticket.key_id,
            team_id=ticket.team_id,
            at=ticket.at,
            cost=actual.cost,
            tokens=actual.tokens,
            tags=ticket.tags,
            end_user=ticket.end_user,
        )
        extras = [admission, *(alert.extra for alert in alerts)]
        self._since_prune += 1
        if self._since_prune >= PRUNE_EVERY:
            self._since_prune = 0
            extras.append(limit_store.admissions_prune(ticket.at - KEEP_ADMISSIONS))
        return Settlement(extras, alerts)

    def _raise_alerts(self, ticket: Ticket, record: GenerationRecord) -> list[Alert]:
        raised: list[Alert] = []
        for watch in ticket.watches:
            limit = watch.limit
            used = watch.usage.used(limit.window, ticket.day, limit.metric, held=False)
            first = first_day(limit.window, ticket.day)
            for percent in limit.alerts:
                mark = (limit.id, first, percent)
                if mark in self.fired or used * 100 < percent * limit.threshold:
                    continue
                self.fired.add(mark)
                row = AlertRow(
                    id=0,
                    limit_id=limit.id,
                    scope=limit.scope,
                    scope_id=limit.scope_id,
                    metric=limit.metric,
                    window=limit.window,
                    period_day=first,
                    percent=percent,
                    threshold=limit.threshold,
                    usage=used,
                    generation_id=record.id,
                    created_at=record.created_at,
                )
                raised.append(Alert(row, watch.scope_name))
        return raised

    def announce(self, alerts: Sequence[Alert]) -> None:
        """Queue committed alerts for the webhook (delivered in the background, see ``alerts.py``)."""
        for alert in alerts:
            try:
                self.outbox.put_nowait(alert)
            except asyncio.QueueFull:
                log.warning("webhook queue full: alert for limit %s only recorded", alert.row.limit_id)

    def headers(self, key: KeyState, ticket: Ticket | None, now: float) -> dict[str, str]:
        """The x-ratelimit-* headers for a response of this key."""
        return ticket.headers if ticket is not None else self.rates.headers(rate_limits_of(key), now)

    def _refusal(
        self,
        limit: LimitRow,
        name: str,
        usage: ScopeUsage,
        day: int,
        now: float,
        rate_headers: dict[str, str],
    ) -> UsageLimitExceeded:
        settled = usage.used(limit.window, day, limit.metric, held=False)
        in_flight = usage.used(limit.window, day, limit.metric) - settled
        used = f"{amount(limit.metric, settled)}"
        if in_flight:
            used += f" (plus {amount(limit.metric, in_flight)} held by requests in flight)"
        what = (
            f"Usage limit reached: {name} has used {used} of its "
            f"{limit.window} {limit.metric} "
            f"limit of {amount(limit.metric, limit.threshold)} (limit {limit.id})."
        )
        reset = resets_at(limit.window, now)
        if reset is None:
            return UsageLimitExceeded(
                f"{what} An all-time limit never resets: raise or remove it (`olga limits list`).",
                headers={"x-should-retry": "false", **rate_headers},
            )
        seconds = max(math.ceil(reset - now), 1)
        return UsageLimitExceeded(
            f"{what} It resets at {iso(reset)} (in {go_duration(seconds)}); "
            "wait until then or raise the limit "
            "(`olga limits list`).",
            # Retry-After is the reset; x-should-retry stops SDKs retrying a budget as if it were transient.
            headers={"Retry-After": str(seconds), "x-should-retry": "false", **rate_headers},
        )

    # -- what GET /v1/key shows ------------------------------------------------------------------

    def key_report(self, snapshot: Snapshot, key: KeyState, now: float) -> dict[str, Any]:
        report = usage_report(
            [
                (
                    scope,
                    scope_id,
                    name,
                    self.usage(scope, scope_id),
                    snapshot.limits.get((scope, scope_id), ()),
                )
                for scope, scope_id, name in scopes_of(snapshot, key)
            ],
            now,
        )
        report["rate_limits"] = self.rates.state(rate_limits_of(key), now)
        return report

    @staticmethod
    def shared_report(snapshot: Snapshot, key: KeyState, figures: KeyFigures, now: float) -> dict[str, Any]:
        """``key_report`` from every instance's figures (team mode): what one instance on SQLite shows."""
        entries = []
        for scope, scope_id, name in scopes_of(snapshot, key):
            usage = ScopeUsage.from_days(figures.settled.get((scope, scope_id), {}))
            for day, held in figures.held.get((scope, scope_id), {}).items():
                usage.hold(day, Amounts(held.cost, held.requests, held.tokens))
            entries.append((scope, scope_id, name, usage, snapshot.limits.get((scope, scope_id), ())))
        report = usage_report(entries, now)
        minute = RateLimiter()
        minute.load({key.row.id: figures.minute})
        report["rate_limits"] = minute.state(rate_limits_of(key), now)
        return report


def demand_of(body: dict[str, Any], *, cost: int, tokens: int, key: KeyState) -> Demand:
    """The request's hold: worst-case cost and tokens, and its --tpm estimate.

    The estimate walks every message, so it is only made for a key with --tpm: for any other key the
    in-flight count of its minute is never compared with anything, and settling puts the real tokens in.
    """
    if key.row.tpm is None:
        return Demand(cost=cost, tokens=tokens, rate_tokens=0)
    asked = explicit_max_output(
        body.get(n) for n in ("max_completion_tokens", "max_tokens", "max_output_tokens")
    )
    return Demand(cost=cost, tokens=tokens, rate_tokens=estimate_prompt_tokens(body) + asked)


def rate_limits_of(key: KeyState) -> RateLimits:
    return RateLimits(key.row.id, key.row.name, key.row.rpm, key.row.tpm)


def holders_of(snapshot: Snapshot, key: KeyState, who: Attribution) -> list[Holder]:
    """Everyone the request counts against: its key and team, each of its tags, its end user (across
    keys), and that end user under this key and under this team (for ``--each-user`` limits)."""
    owners = scopes_of(snapshot, key)
    holders = [
        Holder((scope, scope_id), name, f"{scope} '{name}'", ((scope, scope_id),))
        for scope, scope_id, name in owners
    ]
    holders += [Holder(("tag", tag), tag, f"tag '{tag}'", (("tag", tag),)) for tag in who.tags]
    user = who.end_user
    if user is not None:
        holders.append(Holder(("user", user), user, f"end user '{user}'", (("user", user),)))
        holders += [
            Holder(
                (f"{scope}_user", scope_id + USER_SEPARATOR + user),
                f"{name}/{user}",
                f"end user '{user}' of {scope} '{name}'",
                ((f"{scope}_each_user", scope_id),),
            )
            for scope, scope_id, name in owners
        ]
    return holders


def scopes_of(snapshot: Snapshot, key: KeyState) -> list[tuple[Scope, str, str]]:
    """(scope, id, name) of the key and of its team: a key is held to both sets of limits."""
    row = key.row
    scopes: list[tuple[Scope, str, str]] = [("key", row.id, row.name)]
    if row.team_id:
        team = snapshot.teams.get(row.team_id)
        scopes.append(("team", row.team_id, team.name if team else row.team_id))
    return scopes
