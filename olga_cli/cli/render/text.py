"""Numbers, money and times formatted for people (exact amounts stay in ``money.pico_to_usd``)."""

from __future__ import annotations

import functools
import time

from olga_cli.money import pico_to_display

_BLOCKS = " ▏▎▍▌▋▊▉█"


def fmt_ms(ms: float | None) -> str:
    if ms is None:
        return "-"
    if ms < 1000:
        return f"{ms:.0f} ms"
    if ms < 60_000:
        return f"{ms / 1000:.2f} s"
    minutes, seconds = divmod(int(ms // 1000), 60)
    return f"{minutes}m {seconds:02d}s"


def fmt_int(n: int) -> str:
    return f"{n:,}"


def fmt_compact(n: int) -> str:
    """1234567 -> 1.2M: for bar-chart labels where width matters more than the last digit."""
    for limit, suffix in ((10**9, "B"), (10**6, "M"), (10**3, "k")):
        if abs(n) >= limit:
            return f"{n / limit:.1f}{suffix}"
    return str(n)


def fmt_cost(pico: int) -> str:
    """``$0.000006``; amounts of a dollar or more keep cents and a few more places."""
    return pico_to_display(pico, places=6)


def fmt_time(ts: float, *, now: float | None = None) -> str:
    """Local wall-clock time; the date too when it is not today."""
    day, clock, full = _local_second(int(ts))
    today = _local_second(int(time.time() if now is None else now))[0]
    return clock if day == today else full


@functools.lru_cache(maxsize=64)
def _local_second(second: int) -> tuple[tuple[int, int], str, str]:
    # The access log formats the same second for every request in it: localtime and strftime once.
    local = time.localtime(second)
    return (
        (local.tm_year, local.tm_yday),
        time.strftime("%H:%M:%S", local),
        time.strftime("%Y-%m-%d %H:%M:%S", local),
    )


def bar(value: float, maximum: float, width: int) -> str:
    """A horizontal bar of ``width`` cells at most, in eighths of a cell."""
    if maximum <= 0 or value <= 0 or width <= 0:
        return ""
    eighths = max(1, round(value / maximum * width * 8))
    full, part = divmod(eighths, 8)
    return "█" * full + (_BLOCKS[part] if part else "")
