"""Rate limits per key (``--rpm``, ``--tpm``): a sliding minute of requests, in memory.

Each admitted request is an event at its admission time holding its token estimate; the estimate is
replaced by the real tokens when it settles, and a request that leaves no record (cancelled) stops
counting. A key is admitted while it is below its limit, so concurrent requests can pass a token
limit by at most their estimates, never a request limit. Every key's minute is kept (with or without
limits), so the state rebuilt from the records at start-up is the state the gateway had.

Headers follow OpenAI's: ``x-ratelimit-{limit,remaining,reset}-{requests,tokens}``, the reset being
the time until the key's minute is empty again, written as Go durations ("1s", "6m0s", "120ms").
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass, field

from olga_cli.errors import RateLimitExceeded

WINDOW_SECONDS = 60.0


@dataclass(slots=True)
class _Event:
    at: float
    tokens: int
    counted: bool = True
    expired: bool = False


@dataclass(slots=True)
class KeyMinute:
    """The requests of one key inside the sliding minute, with running totals."""

    events: deque[_Event] = field(default_factory=deque)
    requests: int = 0
    tokens: int = 0

    def expire(self, now: float) -> None:
        horizon = now - WINDOW_SECONDS
        events = self.events
        while events and events[0].at <= horizon:
            event = events.popleft()
            event.expired = True
            if event.counted:
                self.requests -= 1
                self.tokens -= event.tokens

    def wait_for_requests(self, rpm: int, now: float) -> float:
        """Seconds until fewer than ``rpm`` requests are inside the minute."""
        excess = self.requests - rpm + 1
        for event in self.events:
            if event.counted:
                excess -= 1
                if excess <= 0:
                    return event.at + WINDOW_SECONDS - now
        return 0.0

    def wait_for_tokens(self, tpm: int, now: float) -> float:
        """Seconds until fewer than ``tpm`` tokens are inside the minute."""
        excess = self.tokens - tpm + 1
        for event in self.events:
            if event.counted and event.tokens:
                excess -= event.tokens
                if excess <= 0:
                    return event.at + WINDOW_SECONDS - now
        return 0.0

    def empty_in(self, now: float, *, tokens: bool) -> float:
        """Seconds until the minute holds nothing: OpenAI's "time until the limit resets"."""
        for event in reversed(self.events):
            if event.counted and (event.tokens or not tokens):
                return max(event.at + WINDOW_SECONDS - now, 0.0)
        return 0.0


@dataclass(slots=True)
class RateHold:
    """One admitted request's place in its key's minute."""

    minute: KeyMinute
    event: _Event

    def release(self) -> None:
        """The request stops counting (until it settles: a request cancelled before its record never does)."""
        event = self.event
        if event.counted and not event.expired:
            self.minute.requests -= 1
            self.minute.tokens -= event.tokens
        event.counted, event.tokens = False, 0

    def settle(self, tokens: int) -> None:
        """Replace the estimate by what the request really used."""
        self.release()
        if not self.event.expired:
            self.event.counted, self.event.tokens = True, tokens
            self.minute.requests += 1
            self.minute.tokens += tokens


@dataclass(frozen=True, slots=True)
class RateLimits:
    """The limits of one key, and how to name it in messages."""

    key_id: str
    key_name: str
    rpm: int | None
    tpm: int | None


class RateLimiter:
    def __init__(self) -> None:
        self._minutes: dict[str, KeyMinute] = {}

    def minute(self, key_id: str, now: float) -> KeyMinute:
        minute = self._minutes.get(key_id)
        if minute is None:
            minute = self._minutes[key_id] = KeyMinute()
        minute.expire(now)
        return minute

    def load(self, events: dict[str, list[tuple[float, int]]]) -> None:
        """The requests admitted lately, oldest first, as stored with their records."""
        self._minutes = {}
        for key_id, items in events.items():
            minute = self._minutes[key_id] = KeyMinute()
            for at, tokens in sorted(items):
                minute.events.append(_Event(at, tokens))
                minute.requests += 1
                minute.tokens += tokens

    def check(self, limits: RateLimits, now: float) -> None:
        """Refuse (429 with Retry-After) when the key is at its rpm or tpm; reserve nothing."""
        minute = self.minute(limits.key_id, now)
        waits: list[tuple[float, str]] = []
        if limits.rpm is not None and minute.requests >= limits.rpm:
            waits.append(
                (
                    minute.wait_for_requests(limits.rpm, now),
                    f"{minute.requests} requests in the last minute (limit {limits.rpm} per minute, --rpm)",
                )
            )
        if limits.tpm is not None and minute.tokens >= limits.tpm:
            waits.append(
                (
                    minute.wait_for_tokens(limits.tpm, now),
                    f"{minute.tokens} tokens in the last minute (limit {limits.tpm} per minute, --tpm)",
                )
            )
        if not waits:
            return
        wait, what = max(waits)
        seconds = max(math.ceil(wait), 1)
        raise RateLimitExceeded(
            f"Rate limit reached: key '{limits.key_name}' used {what}. "
            f"Retry after {seconds}s, or raise the limit "
            f"with `olga keys update {limits.key_name} --rpm N --tpm N`.",
            headers={"Retry-After": str(seconds), **self.headers(limits, now)},
        )

    def hold(self, limits: RateLimits, now: float, tokens: int) -> RateHold:
        """Count an admitted request (with its token estimate) in its key's minute."""
        minute = self.minute(limits.key_id, now)
        event = _Event(now, tokens)
        minute.events.append(event)
        minute.requests += 1
        minute.tokens += tokens
        return RateHold(minute, event)

    def headers(self, limits: RateLimits, now: float) -> dict[str, str]:
        if limits.rpm is None and limits.tpm is None:
            return {}
        minute = self.minute(limits.key_id, now)
        headers: dict[str, str] = {}
        if limits.rpm is not None:
            headers["x-ratelimit-limit-requests"] = str(limits.rpm)
            headers["x-ratelimit-remaining-requests"] = str(max(limits.rpm - minute.requests, 0))
            headers["x-ratelimit-reset-requests"] = go_duration(minute.empty_in(now, tokens=False))
        if limits.tpm is not None:
            headers["x-ratelimit-limit-tokens"] = str(limits.tpm)
            headers["x-ratelimit-remaining-tokens"] = str(max(limits.tpm - minute.tokens, 0))
            headers["x-ratelimit-reset-tokens"] = go_duration(minute.empty_in(now, tokens=True))
        return headers

    def state(self, limits: RateLimits, now: float) -> dict[str, dict[str, int | str] | None]:
        """What ``GET /v1/key`` shows: the same numbers as the headers."""
        headers = self.headers(limits, now)

        def part(kind: str) -> dict[str, int | str] | None:
            if f"x-ratelimit-limit-{kind}" not in headers:
                return None
            return {
                "limit": int(headers[f"x-ratelimit-limit-{kind}"]),
                "remaining": int(headers[f"x-ratelimit-remaining-{kind}"]),
                "reset": headers[f"x-ratelimit-reset-{kind}"],
            }

        return {"requests": part("requests"), "tokens": part("tokens")}


def go_duration(seconds: float) -> str:
    """Seconds as Go prints a duration, as OpenAI's reset headers are: "0s", "120ms", "1.5s", "6m0s"."""
    ms = round(seconds * 1000)
    if ms <= 0:
        return "0s"
    if ms < 1000:
        return f"{ms}ms"
    hours, rest = divmod(ms, 3_600_000)
    minutes, rest = divmod(rest, 60_000)
    whole, frac = divmod(rest, 1000)
    secs = f"{whole}" if not frac else f"{whole}.{frac:03d}".rstrip("0")
    text = f"{secs}s"
    if hours or minutes:
        text = f"{minutes}m" + text
    if hours:
        text = f"{hours}h" + text
    return text


def explicit_max_output(values: Iterable[object]) -> int:
    """The first positive integer among the request's ``max_tokens`` spellings, else 0."""
    for value in values:
        if isinstance(value, int) and not isinstance(value, bool) and value > 0:
            return value
    return 0
