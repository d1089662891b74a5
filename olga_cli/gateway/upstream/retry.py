"""When to try a provider again, when to move on to the next target, and how long to wait.

Every attempt ends in one ``Verdict``. The rule that keeps a caller from paying twice: the same request
goes to the same provider again only when the failure is known to have happened before the provider
accepted the work (connection refused, connect timeout, 429, 503, 529), or when the operator listed the
failure in the provider's ``retry_on`` (500, 502, 504...). A dropped connection after sending counts as
502 there, and a read timeout (first byte or idle) as 504. Moving on to a *fallback* target is always
allowed after a provider-side failure: it is a different model, chosen by the caller or the operator.

A 400 that says the prompt does not fit the model's context window moves on only to a target with a
larger window, and says nothing about the provider's health.

Waiting: exponential backoff with jitter, or the provider's ``retry-after`` when it gives one, never
past ``max_wait`` (a longer rest means "try elsewhere") nor past the request's total ``deadline``.
Sleep, clock and randomness are injected (``Timing``) so tests need not wait.
"""

from __future__ import annotations

import asyncio
import email.utils
import json
import random
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Literal

from olga_cli.config import ProviderConfig, RetryPolicy
from olga_cli.errors import UpstreamFailure
from olga_cli.gateway.upstream.breaker import Breakers

# Statuses that mean "not done, try again": rate limited, unavailable, overloaded (Anthropic's 529),
# and 408 (the provider gave up reading the request, so it never started on it).
SAFE_STATUSES = frozenset({408, 429, 503, 529})
KEY_REJECTED = frozenset({401, 403})

BreakerSignal = Literal["failure", "success", "neutral"]
KeyHealth = Literal["ok", "rest", "reject"]


@dataclass(slots=True)
class Timing:
    """The clocks and dice of retrying, injectable in tests."""

    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep
    monotonic: Callable[[], float] = time.monotonic
    random: Callable[[], float] = field(default=random.random)


@dataclass(slots=True)
class Resilience:
    """What a running gateway keeps between requests for retrying: circuits, and the injectable timing."""

    breakers: Breakers = field(default_factory=Breakers)
    timing: Timing = field(default_factory=Timing)


@dataclass(frozen=True, slots=True)
class Verdict:
    retry: bool  # the same target again is safe (and wanted)
    fall_over: bool  # a later target may serve the request
    breaker: BreakerSignal
    key: KeyHealth = "ok"
    timeout: bool = False
    larger_window: bool = False  # only a target with a larger context window will do

    @property
    def final(self) -> bool:
        return not self.retry and not self.fall_over


SUCCESS = Verdict(retry=False, fall_over=False, breaker="success")


def classify_status(status: int, body: bytes, provider: ProviderConfig) -> Verdict:
    """What a provider's HTTP status (and error body) means for retrying, failing over and health."""
    if status < 300:
        return SUCCESS
    if status < 400:  # a redirect olga does not follow: the provider is misconfigured or moved
        return Verdict(retry=False, fall_over=True, breaker="failure")
    if status in KEY_REJECTED:
        # The key, not the provider: another key may do; the provider itself is fine.
        return Verdict(retry=True, fall_over=True, breaker="neutral", key="reject")
    if status == 429:
        return Verdict(retry=True, fall_over=True, breaker="neutral", key="rest")
    if status in SAFE_STATUSES:
        return Verdict(retry=True, fall_over=True, breaker="failure")
    if status >= 500:
        return Verdict(retry=status in provider.retry_on, fall_over=True, breaker="failure")
    if status == 400 and is_context_length_error(body):
        return Verdict(retry=False, fall_over=True, breaker="neutral", larger_window=True)
    # The caller's own mistake (a bad parameter...): passed through; the provider answered sensibly.
    return Verdict(retry=False, fall_over=False, breaker="success")


def classify_failure(failure: UpstreamFailure, provider: ProviderConfig) -> Verdict:
    """What a failure to get an answer at all means. Only failures before sending are always safe."""
    if failure.before_send or failure.kind in ("connect", "connect_timeout"):
        return Verdict(retry=True, fall_over=True, breaker="failure", timeout=failure.is_timeout)
    if failure.kind == "total_timeout":  # the request's time with this provider is spent: never again
        return Verdict(retry=False, fall_over=True, breaker="failure", timeout=True)
    if failure.is_timeout:
        return Verdict(retry=504 in provider.retry_on, fall_over=True, breaker="failure", timeout=True)
    return Verdict(retry=502 in provider.retry_on, fall_over=True, breaker="failure")


def is_context_length_error(body: bytes) -> bool:
    """OpenAI's ``context_length_exceeded`` or Anthropic's "prompt is too long" (and close relatives)."""
    try:
        parsed = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        return False
    error = parsed.get("error") if isinstance(parsed, dict) else None
    if not isinstance(error, dict):
        return False
    if error.get("code") == "context_length_exceeded":
        return True
    message = str(error.get("message") or "").lower()
    return "prompt is too long" in message or "maximum context length" in message


def retry_after(headers: Mapping[str, str], *, now: float) -> float | None:
    """Seconds the provider asks us to wait: ``retry-after-ms``, else ``retry-after`` (seconds or a date)."""
    millis = headers.get("retry-after-ms")
    if millis:
        try:
            return max(float(millis) / 1000.0, 0.0)
        except ValueError:
            pass
    value = headers.get("retry-after")
    if not value:
        return None
    try:
        return max(float(value), 0.0)
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(when.timestamp() - now, 0.0)


def backoff(policy: RetryPolicy, retry_number: int, rand: Callable[[], float]) -> float:
    """The wait before retry ``retry_number`` (1, 2, ...): exponential, capped, with "equal jitter".

    Half the delay is fixed so retries never pile up at once; the other half is random so many
    requests failing together spread out instead of retrying in lockstep.
    """
    ceiling = min(policy.backoff_max, policy.backoff_base * 2.0 ** max(retry_number - 1, 0))
    return ceiling / 2 + rand() * ceiling / 2


def key_rest(policy: RetryPolicy, strikes: int, asked: float | None) -> float:
    """How long a rate-limited key rests: what the provider asked, else a backoff per strike."""
    if asked is not None:
        return asked
    return min(policy.key_rest_max, policy.key_rest * 2.0 ** max(strikes - 1, 0))
