"""Sliding-minute rate limits per key: exactly --rpm requests a minute, --tpm tokens, OpenAI's headers."""

from __future__ import annotations

import pytest

from olga_cli.errors import RateLimitExceeded
from olga_cli.gateway.admission.ratelimit import RateLimiter, RateLimits, go_duration

T0 = 1_795_000_000.0


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (0, "0s"),
        (-3, "0s"),
        (0.12, "120ms"),
        (0.0004, "0s"),
        (1, "1s"),
        (1.5, "1.5s"),
        (59.956, "59.956s"),
        (60, "1m0s"),
        (360, "6m0s"),
        (61.25, "1m1.25s"),
        (3600, "1h0m0s"),
        (3661, "1h1m1s"),
        (90000, "25h0m0s"),
    ],
)
def test_reset_values_are_written_as_go_durations_like_openai(seconds: float, text: str) -> None:
    assert go_duration(seconds) == text


def test_exactly_rpm_requests_pass_within_the_minute_then_one_per_freed_slot() -> None:
    limiter = RateLimiter()
    limits = RateLimits("key_1", "laptop", rpm=60, tpm=None)
    for i in range(60):
        limiter.check(limits, T0 + i * 0.5)
        limiter.hold(limits, T0 + i * 0.5, tokens=10)
    with pytest.raises(RateLimitExceeded) as refused:
        limiter.check(limits, T0 + 40)
    # The oldest request (at T0) leaves the minute at T0 + 60: 20 seconds from now.
    assert refused.value.headers["Retry-After"] == "20"
    assert refused.value.headers["x-ratelimit-remaining-requests"] == "0"
    assert "60 requests in the last minute" in refused.value.message and "laptop" in refused.value.message
    with pytest.raises(RateLimitExceeded):
        limiter.check(limits, T0 + 59.999)
    limiter.check(limits, T0 + 60)  # the first request has left the window: one slot is free
    limiter.hold(limits, T0 + 60, tokens=10)
    with pytest.raises(RateLimitExceeded) as again:
        limiter.check(limits, T0 + 60.2)
    assert again.value.headers["Retry-After"] == "1"  # the second one leaves at T0 + 60.5


def test_a_request_cancelled_before_its_record_gives_its_slot_back_until_it_settles() -> None:
    limiter = RateLimiter()
    limits = RateLimits("key_1", "laptop", rpm=2, tpm=None)
    first = limiter.hold(limits, T0, tokens=5)
    limiter.hold(limits, T0, tokens=5)
    with pytest.raises(RateLimitExceeded):
        limiter.check(limits, T0 + 1)
    first.release()
    limiter.check(limits, T0 + 1)
    first.release()  # idempotent: releasing again changes nothing
    assert limiter.minute("key_1", T0 + 1).requests == 1
    first.settle(3)  # its record was written after all: it counts again, with its real tokens
    assert (limiter.minute("key_1", T0 + 1).requests, limiter.minute("key_1", T0 + 1).tokens) == (2, 8)


def test_tokens_count_by_estimate_in_flight_then_by_real_usage() -> None:
    limiter = RateLimiter()
    limits = RateLimits("key_1", "laptop", rpm=None, tpm=1000)
    hold = limiter.hold(limits, T0, tokens=900)
    headers = limiter.headers(limits, T0 + 15)
    assert headers == {
        "x-ratelimit-limit-tokens": "1000",
        "x-ratelimit-remaining-tokens": "100",
        "x-ratelimit-reset-tokens": "45s",
    }
    limiter.check(limits, T0 + 15)  # 900 < 1000: admitted, even though its own estimate may pass the limit
    other = limiter.hold(limits, T0 + 15, tokens=300)
    with pytest.raises(RateLimitExceeded) as refused:
        limiter.check(limits, T0 + 20)
    # 1200 tokens in the minute; dropping the 900 at T0 + 60 brings it under 1000.
    assert refused.value.headers["Retry-After"] == "40"
    hold.settle(50)
    other.settle(20)
    assert limiter.headers(limits, T0 + 20)["x-ratelimit-remaining-tokens"] == str(1000 - 70)
    assert limiter.headers(limits, T0 + 20)["x-ratelimit-reset-tokens"] == "55s"
    assert limiter.headers(limits, T0 + 75)["x-ratelimit-remaining-tokens"] == "1000"
    assert limiter.headers(limits, T0 + 75)["x-ratelimit-reset-tokens"] == "0s"


def test_request_headers_count_down_and_reset_when_the_minute_is_empty() -> None:
    limiter = RateLimiter()
    limits = RateLimits("key_1", "laptop", rpm=5, tpm=None)
    limiter.hold(limits, T0, tokens=0)
    limiter.hold(limits, T0 + 10, tokens=0)
    assert limiter.headers(limits, T0 + 10) == {
        "x-ratelimit-limit-requests": "5",
        "x-ratelimit-remaining-requests": "3",
        "x-ratelimit-reset-requests": "1m0s",
    }
    assert limiter.headers(limits, T0 + 30.5)["x-ratelimit-reset-requests"] == "39.5s"
    assert limiter.headers(limits, T0 + 65)["x-ratelimit-remaining-requests"] == "4"
    assert limiter.state(limits, T0 + 65) == {
        "requests": {"limit": 5, "remaining": 4, "reset": "5s"},
        "tokens": None,
    }


def test_a_request_outliving_the_minute_does_not_corrupt_the_totals() -> None:
    limiter = RateLimiter()
    limits = RateLimits("key_1", "laptop", rpm=3, tpm=100)
    hold = limiter.hold(limits, T0, tokens=40)
    limiter.check(limits, T0 + 61)  # expires the event while the request is still in flight
    hold.settle(70)
    minute = limiter.minute("key_1", T0 + 61)
    assert (minute.requests, minute.tokens) == (0, 0)


def test_keys_without_limits_send_no_headers_but_are_still_counted() -> None:
    limiter = RateLimiter()
    limits = RateLimits("key_1", "laptop", rpm=None, tpm=None)
    limiter.check(limits, T0)
    limiter.hold(limits, T0, tokens=7)
    assert limiter.headers(limits, T0) == {}
    # So that adding --rpm later (or restarting) sees the same minute.
    assert limiter.minute("key_1", T0).requests == 1


def test_load_rebuilds_the_minute_from_recorded_requests() -> None:
    limiter = RateLimiter()
    limiter.load({"key_1": [(T0 + 5, 10), (T0, 20)]})
    limits = RateLimits("key_1", "laptop", rpm=2, tpm=None)
    with pytest.raises(RateLimitExceeded) as refused:
        limiter.check(limits, T0 + 30)
    assert refused.value.headers["Retry-After"] == "30"
    assert limiter.minute("key_1", T0 + 30).tokens == 30
