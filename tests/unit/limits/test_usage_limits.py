"""Usage limits in memory: each metric and window, key and team, across resets, with in-flight holds."""

from __future__ import annotations

import calendar
import time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from olga_cli.errors import RateLimitExceeded, UsageLimitExceeded
from olga_cli.gateway.admission.usage_limits import Demand, Limits
from tests.unit.limits.builders import key, limit, record, snapshot, team


def ts(text: str) -> float:
    return float(calendar.timegm(time.strptime(text, "%Y-%m-%dT%H:%M:%S")))


# Sunday 2026-11-22, 13:00 UTC. Daily resets at 2026-11-23 00:00, weekly too (Monday), monthly on 12-01.
NOW = ts("2026-11-22T13:00:00")
RESETS = {
    "daily": ts("2026-11-23T00:00:00"),
    "weekly": ts("2026-11-23T00:00:00"),
    "monthly": ts("2026-12-01T00:00:00"),
}
USED_PER_REQUEST = {"cost": 3_000_000, "requests": 1, "tokens": 30}  # picodollars, requests, tokens
DEMAND = Demand(cost=5_000_000, tokens=50, rate_tokens=20)


def run_one(limits: Limits, snap, state, at: float, *, gen: str = "gen") -> None:  # type: ignore[no-untyped-def]
    ticket = limits.admit(snap, state, DEMAND, now=at)
    limits.settle(ticket, record(state, at, cost=3_000_000, prompt=20, completion=10, gen_id=gen))


@pytest.mark.parametrize("window", ["daily", "weekly", "monthly"])
@pytest.mark.parametrize("metric", ["cost", "requests", "tokens"])
def test_each_metric_and_window_refuses_at_the_threshold_until_the_reset(metric: str, window: str) -> None:
    state = key()
    snap = snapshot([state], limits=[limit(7, "key_1", metric, window, 3 * USED_PER_REQUEST[metric])])
    limits = Limits()
    for i in range(3):
        run_one(limits, snap, state, NOW + i)
    with pytest.raises(UsageLimitExceeded) as refused:
        limits.admit(snap, state, DEMAND, now=NOW + 10)
    error = refused.value
    assert error.status == 429 and error.code == "usage_limit_exceeded"
    assert error.headers["Retry-After"] == str(int(RESETS[window] - (NOW + 10)))
    assert error.headers["x-should-retry"] == "false"
    # The message names the scope, metric, window, threshold, usage and reset.
    assert "key 'k1' has used" in error.message
    assert f"its {window} {metric} limit" in error.message and "(limit 7)" in error.message
    expected_usage = {"cost": "$0.000009", "requests": "3 requests", "tokens": "90 tokens"}[metric]
    assert f"used {expected_usage} of" in error.message
    assert time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(RESETS[window])) in error.message
    # One second before the reset it still refuses; at the reset the window starts empty.
    with pytest.raises(UsageLimitExceeded):
        limits.admit(snap, state, DEMAND, now=RESETS[window] - 1)
    run_one(limits, snap, state, RESETS[window])


@pytest.mark.parametrize("metric", ["cost", "requests", "tokens"])
def test_all_time_limits_never_reset(metric: str) -> None:
    state = key()
    snap = snapshot([state], limits=[limit(1, "key_1", metric, "all-time", USED_PER_REQUEST[metric])])
    limits = Limits()
    run_one(limits, snap, state, NOW)
    with pytest.raises(UsageLimitExceeded) as refused:
        limits.admit(snap, state, DEMAND, now=NOW + 400 * 86400)
    assert "Retry-After" not in refused.value.headers
    assert refused.value.headers["x-should-retry"] == "false"
    assert "never resets" in refused.value.message


def test_a_team_limit_holds_every_key_of_the_team_and_names_the_team() -> None:
    alice, bob = key("key_a", name="alice", team_id="team_1"), key("key_b", name="bob", team_id="team_1")
    outsider = key("key_c", name="carol")
    snap = snapshot([alice, bob, outsider], [team()], [limit(2, "team_1", "requests", "daily", 3)])
    limits = Limits()
    run_one(limits, snap, alice, NOW)
    run_one(limits, snap, bob, NOW + 1)
    run_one(limits, snap, alice, NOW + 2)
    for member in (alice, bob):
        with pytest.raises(UsageLimitExceeded) as refused:
            limits.admit(snap, member, DEMAND, now=NOW + 3)
        assert (
            "team 'research' has used 3 requests of its daily requests limit of 3 requests"
            in refused.value.message
        )
    run_one(limits, snap, outsider, NOW + 3)


def test_a_key_is_held_to_its_own_limit_and_its_teams_whichever_comes_first() -> None:
    alice, bob = key("key_a", name="alice", team_id="team_1"), key("key_b", name="bob", team_id="team_1")
    snap = snapshot(
        [alice, bob],
        [team()],
        [
            limit(1, "key_a", "requests", "daily", 1),
            limit(2, "team_1", "requests", "daily", 3),
        ],
    )
    limits = Limits()
    run_one(limits, snap, alice, NOW)
    with pytest.raises(UsageLimitExceeded) as refused:
        limits.admit(snap, alice, DEMAND, now=NOW + 1)
    assert "key 'alice'" in refused.value.message
    run_one(limits, snap, bob, NOW + 1)
    run_one(limits, snap, bob, NOW + 2)
    with pytest.raises(UsageLimitExceeded) as refused:
        limits.admit(snap, bob, DEMAND, now=NOW + 3)
    assert "team 'research'" in refused.value.message


def test_requests_in_flight_count_by_their_reservation() -> None:
    state = key()
    snap = snapshot([state], limits=[limit(1, "key_1", "cost", "daily", 10_000_000)])
    limits = Limits()
    first = limits.admit(snap, state, DEMAND, now=NOW)  # holds 5_000_000
    second = limits.admit(snap, state, DEMAND, now=NOW)  # 5_000_000 held < 10_000_000: admitted
    with pytest.raises(UsageLimitExceeded) as refused:
        limits.admit(snap, state, DEMAND, now=NOW)
    assert "held by requests in flight" in refused.value.message
    # Settling to the real (smaller) cost frees the difference.
    limits.settle(first, record(state, NOW, cost=1_000_000))
    limits.settle(second, record(state, NOW, cost=1_000_000))
    limits.admit(snap, state, DEMAND, now=NOW)


def test_every_admitted_request_counts_but_a_cancelled_one_without_record_does_not() -> None:
    state = key()
    snap = snapshot([state], limits=[limit(1, "key_1", "requests", "daily", 2)])
    limits = Limits()
    cancelled = limits.admit(snap, state, DEMAND, now=NOW)
    cancelled.release()  # the request went away before it had a record
    blocked = limits.admit(snap, state, DEMAND, now=NOW + 1)
    settled = limits.settle(blocked, record(state, NOW + 1, reached=False))  # e.g. a guardrail refused it
    assert [extra.params[4:6] for extra in settled.extras] == [
        (0, 0)
    ]  # one admission row: no cost, no tokens
    run_one(limits, snap, state, NOW + 2)
    with pytest.raises(UsageLimitExceeded):
        limits.admit(snap, state, DEMAND, now=NOW + 3)


def test_release_then_settle_counts_the_usage_once() -> None:
    state = key()
    limits = Limits()
    snap = snapshot([state])
    ticket = limits.admit(snap, state, DEMAND, now=NOW)
    ticket.release()
    ticket.release()
    limits.settle(ticket, record(state, NOW, cost=42, prompt=3, completion=4))
    limits.settle(ticket, record(state, NOW, cost=42, prompt=3, completion=4))
    usage = limits.usage("key", "key_1")
    day = int(NOW / 86400)
    assert (
        usage.used("daily", day, "cost"),
        usage.used("daily", day, "tokens"),
        usage.used("daily", day, "requests"),
    ) == (42, 7, 1)


def test_rate_limits_are_checked_before_usage_and_a_refusal_holds_nothing() -> None:
    state = key(rpm=1)
    snap = snapshot([state], limits=[limit(1, "key_1", "requests", "daily", 100)])
    limits = Limits()
    run_one(limits, snap, state, NOW)
    with pytest.raises(RateLimitExceeded):
        limits.admit(snap, state, DEMAND, now=NOW + 1)
    assert limits.usage("key", "key_1").total_held.requests == 0


def test_alerts_fire_once_per_window_at_each_percentage() -> None:
    state = key()
    snap = snapshot([state], limits=[limit(5, "key_1", "requests", "daily", 4, alerts=(50, 100))])
    limits = Limits()
    fired: list[tuple[int, int]] = []
    for i in range(6):
        try:
            ticket = limits.admit(snap, state, DEMAND, now=NOW + i)
        except UsageLimitExceeded:
            continue
        alerts = limits.settle(ticket, record(state, NOW + i, gen_id=f"gen-{i}")).alerts
        fired += [(a.row.percent, a.row.usage) for a in alerts]
    assert fired == [(50, 2), (100, 4)]
    # The next day is a new window: the same thresholds fire again.
    later = RESETS["daily"] + 5
    for i in range(2):
        alerts = limits.settle(
            limits.admit(snap, state, DEMAND, now=later + i), record(state, later + i)
        ).alerts
        fired += [(a.row.percent, a.row.usage) for a in alerts]
    assert fired[-1] == (50, 2)
    payload = alerts[0].payload()
    assert payload["type"] == "usage_limit.alert" and payload["scope_name"] == "k1"
    assert payload["window_started_at"] == "2026-11-23T00:00:00Z"
    assert "50% of its daily requests limit" in payload["text"]


@settings(max_examples=150, deadline=None)
@given(
    ops=st.lists(st.tuples(st.booleans(), st.integers(0, 5_000_000)), min_size=1, max_size=120),
    threshold=st.integers(1, 30_000_000),
)
def test_concurrent_requests_never_overshoot_by_more_than_one_reservation(
    ops: list[tuple[bool, int]], threshold: int
) -> None:
    """Whatever the interleaving of arrivals and completions, settled cost <= limit + one reservation."""
    state = key()
    snap = snapshot([state], limits=[limit(1, "key_1", "cost", "daily", threshold)])
    limits = Limits()
    in_flight: list = []  # type: ignore[type-arg]
    settled = 0
    for arrive, cost in ops:
        if arrive:
            try:
                in_flight.append(limits.admit(snap, state, DEMAND, now=NOW))
            except UsageLimitExceeded:
                usage = limits.usage("key", "key_1")
                assert usage.used("daily", int(NOW / 86400), "cost") >= threshold
        elif in_flight:
            limits.settle(in_flight.pop(0), record(state, NOW, cost=min(cost, DEMAND.cost)))
            settled += min(cost, DEMAND.cost)
    for ticket in in_flight:
        limits.settle(ticket, record(state, NOW, cost=DEMAND.cost))
        settled += DEMAND.cost
    assert settled <= threshold + DEMAND.cost
