"""Windows are ranges of UTC days: daily from 00:00 UTC, weekly from Monday, monthly from the 1st."""

from __future__ import annotations

import calendar

import pytest

from olga_cli.gateway.admission.windows import day_of, first_day, iso, period_start, resets_at


def ts(text: str) -> float:
    """'2026-11-22T13:05:00' (UTC) -> Unix seconds."""
    import time

    return float(calendar.timegm(time.strptime(text, "%Y-%m-%dT%H:%M:%S")))


def test_day_numbers_match_the_store_expression() -> None:
    # The store computes CAST(created_at / 86400 AS INTEGER): the same division, truncated.
    for value in (0.0, 86399.999, 86400.0, ts("2026-11-22T23:59:59") + 0.999, ts("2026-11-23T00:00:00")):
        assert day_of(value) == int(value / 86400)
    assert day_of(ts("2026-11-22T23:59:59")) + 1 == day_of(ts("2026-11-23T00:00:00"))


@pytest.mark.parametrize(
    ("window", "at", "start", "reset"),
    [
        ("daily", "2026-11-22T13:05:00", "2026-11-22T00:00:00", "2026-11-23T00:00:00"),
        ("daily", "2026-12-31T23:59:59", "2026-12-31T00:00:00", "2027-01-01T00:00:00"),
        # 2026-11-22 is a Sunday: its week began on Monday the 16th and ends at Monday the 23rd.
        ("weekly", "2026-11-22T23:59:59", "2026-11-16T00:00:00", "2026-11-23T00:00:00"),
        ("weekly", "2026-11-23T00:00:00", "2026-11-23T00:00:00", "2026-11-30T00:00:00"),
        ("weekly", "2026-12-30T10:00:00", "2026-12-28T00:00:00", "2027-01-04T00:00:00"),
        ("monthly", "2026-11-22T13:05:00", "2026-11-01T00:00:00", "2026-12-01T00:00:00"),
        ("monthly", "2026-12-31T23:59:59", "2026-12-01T00:00:00", "2027-01-01T00:00:00"),
        ("monthly", "2028-02-29T12:00:00", "2028-02-01T00:00:00", "2028-03-01T00:00:00"),
    ],
)
def test_window_start_and_reset(window: str, at: str, start: str, reset: str) -> None:
    assert period_start(window, ts(at)) == ts(start)
    assert resets_at(window, ts(at)) == ts(reset)
    assert first_day(window, day_of(ts(at))) == day_of(ts(start))
    assert iso(resets_at(window, ts(at))) == reset + "Z"


def test_all_time_never_starts_or_resets() -> None:
    now = ts("2026-11-22T13:05:00")
    assert period_start("all-time", now) is None
    assert resets_at("all-time", now) is None
    assert first_day("all-time", day_of(now)) < 0
