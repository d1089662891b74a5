"""Usage-limit windows, aligned on UTC days: daily (00:00 UTC), weekly (Monday), monthly (the 1st), all-time.

Usage is kept per UTC day, so a window is a range of days: ``first_day(window, day)`` up to the day of
the request. Days are numbered from the Unix epoch with ``int(ts / 86400)``, the same expression the
store uses in SQL, so the gateway and the store always put a record in the same day.
"""

from __future__ import annotations

import datetime as dt
import time
from typing import Literal, get_args

Window = Literal["daily", "weekly", "monthly", "all-time"]
Metric = Literal["cost", "requests", "tokens"]
WINDOWS: tuple[Window, ...] = get_args(Window)
METRICS: tuple[Metric, ...] = get_args(Metric)

SECONDS_PER_DAY = 86400
_EPOCH = dt.date(1970, 1, 1)
ALL_TIME_FIRST_DAY = -(10**9)  # before any record


def day_of(ts: float) -> int:
    """The UTC day number of a Unix timestamp (``int(ts / 86400)``, as the store computes it)."""
    return int(ts / SECONDS_PER_DAY)


def _date(day: int) -> dt.date:
    return _EPOCH + dt.timedelta(days=day)


def _day(date: dt.date) -> int:
    return (date - _EPOCH).days


def first_day(window: str, day: int) -> int:
    """The first day of the window that holds ``day``."""
    if window == "daily":
        return day
    if window == "weekly":
        return day - _date(day).weekday()  # Monday is weekday 0
    if window == "monthly":
        return _day(_date(day).replace(day=1))
    return ALL_TIME_FIRST_DAY


def period_start(window: str, ts: float) -> float | None:
    """When the window holding ``ts`` began (None for all-time: it never began or resets)."""
    return None if window == "all-time" else first_day(window, day_of(ts)) * float(SECONDS_PER_DAY)


def resets_at(window: str, ts: float) -> float | None:
    """When the window holding ``ts`` ends and usage starts from zero (None for all-time)."""
    day = day_of(ts)
    if window == "daily":
        return (day + 1) * float(SECONDS_PER_DAY)
    if window == "weekly":
        return (first_day("weekly", day) + 7) * float(SECONDS_PER_DAY)
    if window == "monthly":
        first = _date(day).replace(day=1)
        following = (first + dt.timedelta(days=32)).replace(day=1)
        return _day(following) * float(SECONDS_PER_DAY)
    return None


def iso(ts: float | None) -> str | None:
    return None if ts is None else time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(ts))
