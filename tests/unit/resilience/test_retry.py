"""Which failures are retried, which fall over, and how long olga waits in between."""

from __future__ import annotations

import email.utils
import json
import logging
from pathlib import Path

import pytest

from olga_cli.config import Config, ProviderConfig, RetryPolicy, resilience_of, retention_of
from olga_cli.errors import UpstreamFailure
from olga_cli.gateway.upstream.retry import (
    backoff,
    classify_failure,
    classify_status,
    is_context_length_error,
    key_rest,
    retry_after,
)

PROVIDER = ProviderConfig(name="p", kind="openai", base_url="http://127.0.0.1:9/v1")
GENEROUS = ProviderConfig(name="p", kind="openai", base_url="http://127.0.0.1:9/v1", retry_on=(500, 502, 504))


def body(message: str, code: str | None = None) -> bytes:
    return json.dumps({"error": {"message": message, "type": "invalid_request_error", "code": code}}).encode()


@pytest.mark.parametrize("status", [429, 503, 529, 408])
def test_failures_before_the_provider_took_the_work_are_retried(status: int) -> None:
    verdict = classify_status(status, b"{}", PROVIDER)
    assert verdict.retry and verdict.fall_over


@pytest.mark.parametrize("status", [500, 502, 504])
def test_server_errors_are_retried_only_where_the_config_says(status: int) -> None:
    assert not classify_status(status, b"{}", PROVIDER).retry
    assert classify_status(status, b"{}", PROVIDER).fall_over  # another model may still serve it
    assert classify_status(status, b"{}", GENEROUS).retry


def test_rate_limits_rest_the_key_and_rejections_set_it_aside_without_blaming_the_provider() -> None:
    limited = classify_status(429, b"{}", PROVIDER)
    assert (limited.key, limited.breaker) == ("rest", "neutral")
    for status in (401, 403):
        rejected = classify_status(status, b"{}", PROVIDER)
        assert (rejected.key, rejected.breaker) == ("reject", "neutral")
    assert classify_status(503, b"{}", PROVIDER).breaker == "failure"


def test_a_client_error_is_final_and_proves_the_provider_alive() -> None:
    verdict = classify_status(400, body("temperature out of range"), PROVIDER)
    assert verdict.final and verdict.breaker == "success"
    assert classify_status(404, body("no such model"), PROVIDER).final


@pytest.mark.parametrize(
    "payload",
    [
        body("This model's maximum context length is 128000 tokens.", "context_length_exceeded"),
        json.dumps(
            {
                "type": "error",
                "error": {
                    "type": "invalid_request_error",
                    "message": "prompt is too long: 210000 tokens > 200000 maximum",
                },
            }
        ).encode(),
    ],
)
def test_a_context_length_400_falls_over_to_a_larger_window_without_blame(payload: bytes) -> None:
    assert is_context_length_error(payload)
    verdict = classify_status(400, payload, PROVIDER)
    assert verdict.larger_window and verdict.fall_over and not verdict.retry and verdict.breaker == "neutral"


def test_failures_before_sending_are_safe_after_sending_only_if_configured() -> None:
    refused = classify_failure(UpstreamFailure("connect", "refused", before_send=True), PROVIDER)
    assert refused.retry and not refused.timeout
    connect_timeout = classify_failure(UpstreamFailure("connect_timeout", "slow", before_send=True), PROVIDER)
    assert connect_timeout.retry and connect_timeout.timeout
    read_timeout = UpstreamFailure("first_byte_timeout", "silent")
    assert (
        not classify_failure(read_timeout, PROVIDER).retry
        and classify_failure(read_timeout, PROVIDER).timeout
    )
    assert classify_failure(read_timeout, GENEROUS).retry  # 504 in retry_on covers read timeouts
    dropped = UpstreamFailure("disconnected", "reset after sending")
    assert not classify_failure(dropped, PROVIDER).retry and classify_failure(dropped, GENEROUS).retry
    assert classify_failure(dropped, PROVIDER).fall_over


def test_retry_after_in_seconds_milliseconds_or_a_date() -> None:
    assert retry_after({"retry-after": "7"}, now=0) == 7.0
    assert retry_after({"retry-after-ms": "250", "retry-after": "7"}, now=0) == 0.25
    date = email.utils.formatdate(1_000_030, usegmt=True)
    assert retry_after({"retry-after": date}, now=1_000_000) == pytest.approx(30.0)
    assert retry_after({"retry-after": "soon"}, now=0) is None
    assert retry_after({}, now=0) is None


def test_backoff_doubles_up_to_its_cap_with_half_of_it_random() -> None:
    policy = RetryPolicy(backoff_base=0.5, backoff_max=4.0)
    assert [backoff(policy, n, lambda: 0.0) for n in (1, 2, 3, 4, 5)] == [0.25, 0.5, 1.0, 2.0, 2.0]
    assert [backoff(policy, n, lambda: 1.0) for n in (1, 2, 3, 4, 5)] == [0.5, 1.0, 2.0, 4.0, 4.0]


def test_a_rate_limited_key_rests_as_asked_else_longer_each_strike() -> None:
    policy = RetryPolicy(key_rest=1.0, key_rest_max=5.0)
    assert key_rest(policy, 1, 12.0) == 12.0
    assert [key_rest(policy, n, None) for n in (1, 2, 3, 4)] == [1.0, 2.0, 4.0, 5.0]


def test_policy_from_config_keeps_defaults_for_missing_or_bad_values(tmp_path: Path) -> None:
    policy = resilience_of({"resilience": {"deadline": 12, "breaker_threshold": 3, "max_wait": "x"}})
    assert (
        policy.deadline == 12.0
        and policy.breaker_threshold == 3
        and isinstance(policy.breaker_threshold, int)
    )
    assert policy.max_wait == RetryPolicy().max_wait
    assert Config(home=tmp_path).resilience == RetryPolicy()


def test_a_bad_value_is_an_error_naming_the_setting_and_its_default_is_kept(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with caplog.at_level(logging.ERROR, logger="olga.config"):
        policy = resilience_of({"resilience": {"max_wait": "x", "deadline": -1}})
        retention = retention_of({"retention": {"days": 2.5, "bodies_days": 7}})
    assert policy == RetryPolicy() and retention.days is None and retention.bodies_days == 7
    assert [r.getMessage().split(":")[0] for r in caplog.records] == [
        "config.toml [resilience] deadline = -1",
        "config.toml [resilience] max_wait = 'x'",
        "config.toml [retention] days = 2.5",
    ]
