"""The attempt loop against a scripted upstream, with a fake clock: retries, waits, fallbacks, errors."""

from __future__ import annotations

import dataclasses
import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from olga_cli.catalog import load_catalog
from olga_cli.config import Config, KeySource, ProviderConfig, resilience_of
from olga_cli.errors import (
    ProviderPaused,
    ProviderUnavailable,
    UpstreamError,
    UpstreamFailure,
    UpstreamHTTPError,
    UpstreamTimeout,
)
from olga_cli.gateway.upstream.client import UpstreamReply
from olga_cli.gateway.upstream.exchange import make_exchange
from olga_cli.gateway.upstream.failover import Failover, ProviderAccess
from olga_cli.gateway.upstream.keypool import KeyPools
from olga_cli.gateway.upstream.retry import Resilience, Timing, backoff
from olga_cli.gateway.upstream.routing import Target
from olga_cli.gateway.upstream.served import DELIVERED
from olga_cli.records import GenerationRecord

Reply = tuple[int, dict[str, str], dict[str, Any]]


def ok() -> Reply:
    return 200, {}, {"id": "chatcmpl-1", "choices": []}


def err(status: int, message: str = "scripted", code: str | None = None, **headers: str) -> Reply:
    return (
        status,
        {k.replace("_", "-"): v for k, v in headers.items()},
        {"error": {"message": message, "code": code}},
    )


class Upstream:
    def __init__(self, *script: Reply | UpstreamFailure) -> None:
        self.script = list(script)
        self.sent: list[tuple[str, str | None]] = []

    async def send(
        self, provider: ProviderConfig, key: Any, path: str, body: dict[str, Any], **_: Any
    ) -> UpstreamReply:
        self.sent.append((provider.name, key.label if key else None))
        item = self.script.pop(0)
        if isinstance(item, UpstreamFailure):
            raise item
        status, headers, payload = item
        return UpstreamReply(
            status, {"Content-Type": "application/json", **headers}, 60.0, _body=json.dumps(payload).encode()
        )


class Clock:
    def __init__(self) -> None:
        self.now = 1_000.0
        self.slept: list[float] = []

    async def sleep(self, seconds: float) -> None:
        self.slept.append(round(seconds, 6))
        self.now += seconds


def provider(name: str, *keys: str, **fields: Any) -> ProviderConfig:
    sources = tuple(KeySource(f"key-{i}", value=v) for i, v in enumerate(keys, start=1))
    return ProviderConfig(
        name=name, kind="openai", base_url=f"http://127.0.0.1:9/{name}", keys=sources, **fields
    )


ENTRY = load_catalog(None).resolve("openai/gpt-4o-mini")
assert ENTRY is not None


def target(p: ProviderConfig, window: int | None = 128_000) -> Target:
    return Target(
        p, dataclasses.replace(ENTRY, id=f"{p.name}/m", provider=p.name, context_window=window), "m"
    )  # type: ignore[arg-type]


@dataclasses.dataclass
class Shared:
    """What a running gateway keeps between requests: key pools, circuits, clocks."""

    config: Config
    resilience: Resilience
    keypools: KeyPools
    clock: Callable[[], float]
    upstreams: Upstream

    def access(self) -> ProviderAccess:
        return ProviderAccess(
            self.upstreams,  # type: ignore[arg-type]
            self.keypools,
            self.resilience.breakers,
            self.resilience.timing,
            self.clock,
            self.config.resilience,
        )


@dataclasses.dataclass
class Request:
    record: GenerationRecord


def make_gateway(tmp_path: Path, upstream: Upstream, **resilience: Any) -> tuple[Shared, Clock]:
    clock = Clock()
    gw = Shared(
        config=Config(home=tmp_path, resilience=resilience_of({"resilience": resilience})),
        resilience=Resilience(
            timing=Timing(sleep=clock.sleep, monotonic=lambda: clock.now, random=lambda: 0.5)
        ),
        keypools=KeyPools({}),
        clock=lambda: clock.now,
        upstreams=upstream,
    )
    return gw, clock


def request(gw: Shared, targets: list[Target]) -> tuple[Failover, Request]:
    """One request's failover through ``targets``."""
    record = GenerationRecord(
        id="gen-1",
        created_at=0,
        key_id="k",
        key_name="k",
        endpoint="/v1/chat/completions",
        model_requested="m",
    )
    body = {"model": "m", "messages": []}
    failover = Failover(
        targets,
        record,
        lambda target: make_exchange("chat", target, body, {}),
        gw.access(),
        received=time.perf_counter(),
    )
    return failover, Request(record)


def setup(
    tmp_path: Path, upstream: Upstream, targets: list[Target], **resilience: Any
) -> tuple[Failover, Shared, Request, Clock]:
    gw, clock = make_gateway(tmp_path, upstream, **resilience)
    failover, ctx = request(gw, targets)
    return failover, gw, ctx, clock


def trail(ctx: Request) -> list[tuple[str, int | None, str | None]]:
    return [(a.provider, a.status, a.key_label) for a in ctx.record.attempts]


async def test_503_is_retried_after_a_jittered_exponential_backoff(tmp_path: Path) -> None:
    upstream = Upstream(err(503), err(503), ok())
    failover, gw, ctx, clock = setup(tmp_path, upstream, [target(provider("a", "sk-a"))])
    served = await failover.next()
    assert served.reply.status == 200
    policy = gw.config.resilience
    assert clock.slept == [backoff(policy, 1, lambda: 0.5), backoff(policy, 2, lambda: 0.5)] == [0.375, 0.75]
    assert trail(ctx) == [("a", 503, "key-1"), ("a", 503, "key-1"), ("a", 200, "key-1")]


async def test_retries_are_bounded_by_max_retries_then_the_fallback_serves(tmp_path: Path) -> None:
    upstream = Upstream(err(529), err(529), ok())
    failover, _, _, clock = setup(
        tmp_path, upstream, [target(provider("a", "sk-a", max_retries=1)), target(provider("b", "sk-b"))]
    )
    await failover.next()
    assert upstream.sent == [("a", "key-1"), ("a", "key-1"), ("b", "key-1")]
    assert len(clock.slept) == 1  # a fallback goes at once


async def test_retry_after_is_honoured_and_a_long_one_means_try_elsewhere(tmp_path: Path) -> None:
    upstream = Upstream(err(503, retry_after="3"), err(503, retry_after="120"), ok())
    failover, _, _, clock = setup(
        tmp_path, upstream, [target(provider("a", "sk-a")), target(provider("b", "sk-b"))]
    )
    await failover.next()
    assert clock.slept == [3.0]
    assert upstream.sent == [("a", "key-1"), ("a", "key-1"), ("b", "key-1")]


async def test_a_rate_limited_key_rests_and_another_key_carries_on_at_once(tmp_path: Path) -> None:
    upstream = Upstream(err(429, retry_after="20"), ok(), ok())
    pool = provider("a", "sk-1", "sk-2")
    failover, gw, _, clock = setup(tmp_path, upstream, [target(pool)])
    await failover.next()
    assert upstream.sent == [("a", "key-1"), ("a", "key-2")] and clock.slept == []
    assert len(failover.health) == 1  # the rest, to be committed with the record
    await request(gw, [target(pool)])[0].next()  # the next request leaves the resting key alone
    assert upstream.sent[-1] == ("a", "key-2")


async def test_a_single_key_waits_out_a_short_rest(tmp_path: Path) -> None:
    upstream = Upstream(err(429, retry_after_ms="400"), ok())
    failover, _, ctx, clock = setup(tmp_path, upstream, [target(provider("a", "sk-1"))])
    await failover.next()
    assert clock.slept == [0.4] and trail(ctx) == [("a", 429, "key-1"), ("a", 200, "key-1")]


async def test_every_key_rate_limited_passes_the_providers_429_through(tmp_path: Path) -> None:
    upstream = Upstream(err(429, "slow down", retry_after="30"), err(429, "slow down", retry_after="30"))
    failover, _, ctx, _ = setup(tmp_path, upstream, [target(provider("a", "sk-1", "sk-2"))])
    with pytest.raises(UpstreamHTTPError) as caught:
        await failover.next()
    assert caught.value.status == 429 and caught.value.headers == {"retry-after": "30"}
    assert trail(ctx) == [("a", 429, "key-1"), ("a", 429, "key-2")]


async def test_a_rejected_key_is_set_aside_and_costs_no_retry(tmp_path: Path) -> None:
    upstream = Upstream(err(401, "Incorrect API key"), ok())
    failover, gw, ctx, _ = setup(
        tmp_path, upstream, [target(provider("a", "sk-bad", "sk-good", max_retries=0))]
    )
    await failover.next()
    assert trail(ctx) == [("a", 401, "key-1"), ("a", 200, "key-2")]
    assert [
        k.label for k in gw.keypools.healthy(target(provider("a", "sk-bad", "sk-good")).provider, now=0)
    ] == ["key-2"]


async def test_the_only_key_rejected_is_503_no_active_keys(tmp_path: Path) -> None:
    failover, _, _, _ = setup(tmp_path, Upstream(err(403, "forbidden")), [target(provider("a", "sk-bad"))])
    with pytest.raises(ProviderUnavailable, match="No active API keys for provider 'a'") as caught:
        await failover.next()
    assert caught.value.status == 503


async def test_500_is_not_retried_by_default_but_falls_over(tmp_path: Path) -> None:
    upstream = Upstream(err(500), ok())
    failover, _, ctx, _ = setup(
        tmp_path, upstream, [target(provider("a", "sk-a")), target(provider("b", "sk-b"))]
    )
    served = await failover.next()
    assert served.target.provider.name == "b" and trail(ctx) == [("a", 500, "key-1"), ("b", 200, "key-1")]


async def test_every_attempt_timing_out_is_504_and_a_mix_is_502(tmp_path: Path) -> None:
    timeouts = Upstream(
        UpstreamFailure("first_byte_timeout", "silent"),
        UpstreamFailure("connect_timeout", "slow", before_send=True),
        UpstreamFailure("connect_timeout", "slow", before_send=True),
        UpstreamFailure("connect_timeout", "slow", before_send=True),
    )
    failover, _, ctx, _ = setup(
        tmp_path, timeouts, [target(provider("a", "sk-a")), target(provider("b", "sk-b"))]
    )
    with pytest.raises(UpstreamTimeout):
        await failover.next()
    assert [a.error.split(":")[0] for a in ctx.record.attempts] == ["first_byte_timeout"] + [
        "connect_timeout"
    ] * 3
    mixed = Upstream(UpstreamFailure("first_byte_timeout", "silent"), err(500))
    failover, _, _, _ = setup(tmp_path, mixed, [target(provider("a", "sk-a")), target(provider("b", "sk-b"))])
    with pytest.raises(UpstreamError) as caught:
        await failover.next()
    assert caught.value.status == 502 and "b answered 500" in caught.value.message


async def test_the_deadline_stops_retrying(tmp_path: Path) -> None:
    upstream = Upstream(err(503, retry_after="4"), err(503, retry_after="4"), ok())
    failover, _, ctx, clock = setup(tmp_path, upstream, [target(provider("a", "sk-a"))], deadline=6)
    with pytest.raises(UpstreamError):
        await failover.next()
    assert clock.slept == [4.0] and len(ctx.record.attempts) == 2


async def test_context_length_falls_over_only_to_a_larger_window_without_blame(tmp_path: Path) -> None:
    too_long = err(400, "This model's maximum context length is 128000 tokens", "context_length_exceeded")
    upstream = Upstream(too_long, ok())
    a, same, big = provider("a", "sk-a"), provider("same", "sk-s"), provider("big", "sk-b")
    failover, gw, ctx, _ = setup(tmp_path, upstream, [target(a), target(same), target(big, window=1_000_000)])
    served = await failover.next()
    assert served.target.provider.name == "big"
    assert [x.provider for x in ctx.record.attempts] == ["a", "same", "big"]
    assert ctx.record.attempts[1].status is None and "context window" in (ctx.record.attempts[1].error or "")
    breakers = gw.resilience.breakers
    for _ in range(4):  # one short of the default threshold: the 400 counted for nothing
        breakers.failure("a", now=0, threshold=5)
    assert breakers.state("a", now=0, cooldown=30) == "closed"


async def test_a_context_length_400_nothing_larger_can_take_is_passed_through(tmp_path: Path) -> None:
    too_long = err(400, "prompt is too long")
    failover, _, _, _ = setup(tmp_path, Upstream(too_long), [target(provider("a", "sk-a"))])
    with pytest.raises(UpstreamHTTPError) as caught:
        await failover.next()
    assert caught.value.status == 400


async def test_an_open_circuit_skips_the_provider_without_sending(tmp_path: Path) -> None:
    upstream = Upstream(err(500), err(500), ok())
    gw, clock = make_gateway(tmp_path, upstream, breaker_threshold=2, breaker_cooldown=30)
    for _ in range(2):
        with pytest.raises(UpstreamError):
            await request(gw, [target(provider("a", "sk-a"))])[0].next()
    failover, ctx = request(gw, [target(provider("a", "sk-a"))])
    with pytest.raises(ProviderUnavailable, match="circuit open") as caught:
        await failover.next()
    assert caught.value.headers["Retry-After"] == "30"
    assert len(upstream.sent) == 2 and ctx.record.attempts[0].error.startswith("provider_unavailable")
    clock.now += 30  # cooled down: the next request probes, and its success closes the circuit
    probe, _ = request(gw, [target(provider("a", "sk-a"))])
    served = await probe.next()
    breakers = gw.resilience.breakers
    assert breakers.admit("a", now=clock.now, cooldown=30, caller="k") == "skip"  # one probe at a time
    probe.relayed(served, DELIVERED)  # what the pipeline says once the reply is relayed
    assert breakers.state("a", now=clock.now, cooldown=30, caller="k") == "closed"


async def test_a_paused_provider_is_skipped_and_all_paused_is_429(tmp_path: Path) -> None:
    paused = provider("a", "sk-a", paused=True)
    upstream = Upstream(ok())
    failover, _, ctx, _ = setup(tmp_path, upstream, [target(paused), target(provider("b", "sk-b"))])
    assert (await failover.next()).target.provider.name == "b"
    assert ctx.record.attempts[0].error.startswith("provider_paused")
    failover, _, _, _ = setup(tmp_path, upstream, [target(paused)])
    with pytest.raises(ProviderPaused):
        await failover.next()


async def test_attempts_name_key_labels_never_keys(tmp_path: Path) -> None:
    upstream = Upstream(err(429, retry_after="1"), ok())
    failover, _, ctx, _ = setup(tmp_path, upstream, [target(provider("a", "sk-secret-1", "sk-secret-2"))])
    await failover.next()
    assert "sk-secret" not in json.dumps([a.to_json() for a in ctx.record.attempts])
    assert all(a.latency_ms >= 0 for a in ctx.record.attempts)


async def test_a_probe_left_without_a_verdict_lets_the_next_request_probe(tmp_path: Path) -> None:
    """The probing request runs out of time before sending: it must not hold the half-open circuit."""
    gw, clock = make_gateway(tmp_path, Upstream(ok()), breaker_cooldown=30, deadline=1e-9)
    for _ in range(5):
        gw.resilience.breakers.failure("a", now=clock.now, threshold=5)
    clock.now += 30
    with pytest.raises(UpstreamError, match="deadline"):
        await request(gw, [target(provider("a", "sk-a"))])[0].next()
    gw.config = Config(home=tmp_path)
    assert (await request(gw, [target(provider("a", "sk-a"))])[0].next()).reply.status == 200
