"""One request's way through its targets: attempts, retries with backoff, fallbacks, and their record.

``Failover.next()`` returns the next upstream reply worth relaying (a status below 400), trying each
target in plan order. On a failure ``retry.classify_*`` decides: the same target again (another key,
after a backoff or the provider's ``retry-after``), the next target, or the end. The end is the
provider's own error passed through (``UpstreamHTTPError``: a client error, a 429, a context-length
400 nothing larger can take) or an olga error: 504 when every attempt timed out, 503 when no key or
provider was usable, 502 otherwise.

The pipeline tells it how relaying a reply ended (``relayed``, with a ``Relayed``): delivered, broken
before anything of it reached the caller (then ``next()`` may try again), broken after (never
retried), or left by the caller. Every attempt, and every target skipped without one (paused, circuit
open, no usable key, context window too small), is appended to the record's ``attempts``, with the
key's label, never the key. What it learns about keys (a rest after a 429, a rejection) is kept in
``health``, statements the pipeline commits with the record.

A ``Failover`` lives for one request. It is built from the request's targets, its record, a way to
build the exchange for a target, and ``ProviderAccess``: what every request shares (the HTTP client,
key pools, breakers, timing, the wall clock and the retry policy).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass

from olga_cli.config import RetryPolicy
from olga_cli.errors import (
    GatewayError,
    NoActiveKeys,
    ProviderUnavailable,
    UpstreamError,
    UpstreamFailure,
    UpstreamHTTPError,
    UpstreamTimeout,
)
from olga_cli.gateway.upstream import retry
from olga_cli.gateway.upstream.breaker import Breakers
from olga_cli.gateway.upstream.client import ProviderKey, Upstreams
from olga_cli.gateway.upstream.exchange import Exchange
from olga_cli.gateway.upstream.keypool import KeyPools
from olga_cli.gateway.upstream.provider_errors import error_summary, redirect_summary, scrub
from olga_cli.gateway.upstream.retry import Timing, Verdict
from olga_cli.gateway.upstream.routing import Target, check_available
from olga_cli.gateway.upstream.served import Relayed, Served, describe, took
from olga_cli.gateway.upstream.shared import SharedUpstream, Signal
from olga_cli.records import Attempt, GenerationRecord
from olga_cli.store.circuits import CircuitStore
from olga_cli.store.generations import Extra
from olga_cli.store.hot import HotState
from olga_cli.telemetry import traceparent


@dataclass(frozen=True, slots=True)
class ProviderAccess:
    """What failover uses that every request shares."""

    client: Upstreams
    keypools: KeyPools
    breakers: Breakers
    timing: Timing  # sleep, monotonic clock and dice: injectable in tests
    clock: Callable[[], float]  # wall clock (key rests are stored with it)
    policy: RetryPolicy
    hot: HotState | None = None  # team mode with Redis: circuits and key rests shared by all instances
    circuits: CircuitStore | None = None  # team mode without Redis: the circuits shared in PostgreSQL


@dataclass(slots=True)
class _Outcome:
    target: Target
    verdict: Verdict
    message: str
    http: UpstreamHTTPError | None = None
    key: ProviderKey | None = None


class Failover:
    def __init__(
        self,
        targets: Sequence[Target],
        record: GenerationRecord,
        exchange_for: Callable[[Target], Exchange],
        access: ProviderAccess,
        *,
        received: float,
        gate: Callable[[], Awaitable[None]] | None = None,
    ) -> None:
        """``exchange_for`` builds the request in a target's API (a ``GatewayError`` skips the target);
        ``received`` is the perf_counter time the request arrived, from which its deadline runs;
        ``gate`` (team mode: the request's hold, taken meanwhile) is awaited before the first attempt
        leaves or the first error is given, and whatever it raises ends the request instead."""
        self._targets = targets
        self._record = record
        self._received = received
        self._exchange_for = exchange_for
        self._access = access
        self._gate = gate
        self._policy = access.policy
        self._timing = access.timing
        self._deadline = self._timing.monotonic() + self._policy.deadline - (time.perf_counter() - received)
        self._index = 0
        self._retries = 0  # retries spent on the current target
        self._tried = False  # the current target has had an attempt
        self._exchange: Exchange | None = None
        self._delay = 0.0
        self._last_target: Target | None = None
        self._window: int | None = None  # after a context-length 400: only larger windows will do
        self._skips: list[GatewayError] = []
        self._last: _Outcome | None = None
        self._only_timeouts = True
        self._attempts = 0
        self._probe: str | None = None  # the provider whose half-open probe this request is
        self.abandoned = False  # the caller left while a request was out at the provider
        self._health: list[Extra] = []
        self._shared = SharedUpstream(
            access.breakers,
            access.keypools,
            access.hot,
            access.policy,
            access.timing.monotonic,
            circuits=access.circuits,
            clock=access.clock,
        )

    @property
    def health(self) -> tuple[Extra, ...]:
        """What the attempts so far taught about keys: statements to commit with the record."""
        return tuple(self._health)

    # -- the loop ---------------------------------------------------------------------------------

    async def next(self) -> Served:
        targets = self._targets
        while self._index < len(targets):
            await self._shared.flush()  # what the last attempt taught, told to every instance first
            target = targets[self._index]
            if not self._tried and not await self._enter(target):
                continue
            if self._delay:
                if not self._fits(self._delay):
                    self._advance()
                    continue
                await self._timing.sleep(self._delay)
                self._delay = 0.0
            if not self._fits(0.0):
                break  # the total deadline has passed: no new attempt of any kind
            if self._retries and self._circuit_open(target):
                self._advance()  # failures (here or in other requests) opened its circuit meanwhile
                continue
            try:
                key = await self._shared.pick(target.provider, now=self._access.clock())
            except NoActiveKeys as error:
                if not self._wait_for_key(target, error):
                    self._end_probe(target, "release")
                    self._skip(target, error, record=self._last_target is not target)
                continue
            if self._gate is not None:
                await self._pass_gate()
            served = await self._attempt(target, key)
            if served is not None:
                return served
        if self._gate is not None:
            await self._pass_gate()
        self._drop_probe()
        await self._shared.flush()
        raise self._final_error()

    async def _pass_gate(self) -> None:
        """Nothing leaves for a provider, and no error of failover's is given, before the gate opens;
        if it raises instead, a half-open probe this request was given goes back, untried."""
        assert self._gate is not None
        gate, self._gate = self._gate, None
        try:
            await gate()
        except BaseException:
            self._drop_probe()
            raise

    async def _enter(self, target: Target) -> bool:
        """First look at a target: skip it (and say why) unless it can take the request now."""
        window = target.entry.context_window
        if self._window is not None and (window is None or window <= self._window):
            self._skip(
                target, None, reason=f"its context window ({window}) is not larger than {self._window}"
            )
            return False
        try:
            check_available(target)
            self._exchange = self._exchange_for(target)
            admission, wait = await self._shared.admit(
                target.provider, self._record.key_id, now=self._access.clock()
            )
            if admission == "skip":
                raise ProviderUnavailable(
                    f"Provider '{target.provider.name}' failed repeatedly; olga skips it for {wait:.0f}s more "
                    "(circuit open), then tries it again. Retry later or list fallback models in 'models'.",
                    headers={"Retry-After": str(max(1, round(wait)))},
                )
            self._probe = target.provider.name if admission == "probe" else None
        except GatewayError as error:
            self._skip(target, error)
            return False
        self._tried = True
        return True

    async def _attempt(self, target: Target, key: ProviderKey | None) -> Served | None:
        exchange = self._exchange
        assert exchange is not None
        record = self._record
        attempt = Attempt(
            target.provider.name, target.upstream_model, None, 0.0, key_label=key.label if key else None
        )
        record.attempts.append(attempt)
        record.model, record.provider = target.model_id, target.provider.name
        started = time.perf_counter()
        attempt.started_ms = (started - self._received) * 1000.0
        self._attempts += 1
        self._last_target = target
        try:
            reply = await self._access.client.send(
                target.provider,
                key,
                exchange.path,
                exchange.body,
                extra_headers=traceparent.with_trace(exchange.headers, record.trace, attempt),
                method=exchange.method,
                spans=exchange.spans,
                arrived=asyncio.get_running_loop().time() - (started - self._received),
            )
            attempt.status = reply.status
            if reply.status < 300:
                return Served(target, exchange, reply, attempt, key, started)
            raw = scrub(await reply.read(), [key.value if key else None])
        except UpstreamFailure as failure:
            took(attempt, started)
            attempt.error = describe(failure)
            self._failed(target, key, retry.classify_failure(failure, target.provider), str(failure))
            return None
        except asyncio.CancelledError:
            took(attempt, started)
            attempt.error = "client_disconnected: the caller went away; the request was cancelled upstream"
            self.abandoned = True
            self._end_probe(target, "release")
            raise
        took(attempt, started)
        summary = error_summary(raw) if reply.status >= 400 else redirect_summary(reply.headers)
        attempt.error = summary
        verdict = retry.classify_status(reply.status, raw, target.provider)
        body = exchange.convert_error(reply.status, raw) if exchange.convert_error else raw
        headers = {k: v for k, v in reply.headers.items() if k.lower() in ("retry-after", "retry-after-ms")}
        http = UpstreamHTTPError(reply.status, body, reply.content_type or "application/json", headers)
        self._failed(
            target,
            key,
            verdict,
            f"{target.provider.name} answered {reply.status}: {summary}",
            http=http,
            asked=retry.retry_after(reply.headers, now=self._access.clock()),
        )
        if verdict.final:
            raise http
        return None

    # -- after an attempt -------------------------------------------------------------------------

    def relayed(self, served: Served, outcome: Relayed) -> None:
        """How relaying ``served`` ended: the provider's verdict, and whether ``next()`` may try again.

        Delivered: the provider worked. Broken before the caller saw anything: a failed attempt like
        any other. Broken after: recorded, never retried. The caller left: a probe in progress proved
        nothing either way. Only the first word about a reply counts."""
        target, failure = served.target, outcome.failure
        if outcome.ending == "delivered":
            self._end_probe(target, "success")
            self._keep(
                self._access.keypools.worked(target.provider.name, served.key, clock=self._access.clock)
            )
        elif outcome.ending == "broke_early":
            assert failure is not None
            served.attempt.error = describe(failure)
            self._failed(target, served.key, retry.classify_failure(failure, target.provider), str(failure))
        elif outcome.ending == "broke_late":
            assert failure is not None
            served.attempt.error = describe(failure)
            self._end_probe(target, "failure")
        else:
            self._end_probe(target, "release")

    def _failed(
        self,
        target: Target,
        key: ProviderKey | None,
        verdict: Verdict,
        message: str,
        *,
        http: UpstreamHTTPError | None = None,
        asked: float | None = None,
    ) -> None:
        keypools, provider = self._access.keypools, target.provider
        self._end_probe(target, "release" if verdict.breaker == "neutral" else verdict.breaker)
        now = self._access.clock()
        if key is not None and verdict.key == "rest":
            rest = retry.key_rest(self._policy, keypools.strikes(provider.name, key) + 1, asked)
            self._keep(keypools.rate_limited(provider.name, key, now=now, rest=rest, reason=message))
            self._shared.rested(provider.name, key, since=now, seconds=rest)
        elif key is not None and verdict.key == "reject":
            assert http is not None
            self._keep(keypools.rejected(provider.name, key, now=now, status=http.status, reason=message))
        self._last = _Outcome(target, verdict, message, http, key)
        self._only_timeouts = self._only_timeouts and verdict.timeout
        if verdict.final:
            return
        if verdict.key == "reject":
            if key is not None and provider.needs_key:
                return  # another key of the same provider, straight away; a rejected key costs no retry
            self._advance()  # no pool to turn to: asking again would be rejected again
            return
        if verdict.retry and self._retries < provider.max_retries:
            delay = self._retry_delay(target, verdict, asked)
            if delay is not None and self._fits(delay):
                self._retries += 1
                self._delay = delay
                return
        if verdict.larger_window:
            self._window = target.entry.context_window or 0
        self._advance()

    def _retry_delay(self, target: Target, verdict: Verdict, asked: float | None) -> float | None:
        """How long to wait before trying ``target`` again; None when the wait is too long to sit out."""
        policy = self._policy
        if verdict.key == "rest" and target.provider.needs_key:
            keypools, now = self._access.keypools, self._access.clock()
            if keypools.healthy(target.provider, now=now):
                return 0.0  # another key carries on while this one rests
            back = keypools.earliest_return(target.provider, now=now)
            return back if back is not None and back <= policy.max_wait else None
        if asked is not None:
            return asked if asked <= policy.max_wait else None  # a long rest: better try elsewhere
        return retry.backoff(policy, self._retries + 1, self._timing.random)

    def _wait_for_key(self, target: Target, error: NoActiveKeys) -> bool:
        """Mid-retry, every key is resting: wait for the first one back if that is soon enough."""
        wait = error.retry_after
        if self._last is None or self._last.target is not target or wait is None:
            return False
        if (
            self._retries >= target.provider.max_retries
            or wait > self._policy.max_wait
            or not self._fits(wait)
        ):
            return False
        self._retries += 1
        self._delay = max(wait, 0.0)
        return True

    # -- bookkeeping ------------------------------------------------------------------------------

    def _advance(self) -> None:
        self._drop_probe()
        self._index += 1
        self._retries, self._tried, self._delay, self._exchange = 0, False, 0.0, None

    def _skip(
        self, target: Target, error: GatewayError | None, *, reason: str | None = None, record: bool = True
    ) -> None:
        if error is not None:
            self._skips.append(error)
        if record:
            code = error.code if error is not None else "skipped"
            message = error.message if error is not None else reason
            self._record.attempts.append(
                Attempt(target.provider.name, target.upstream_model, None, 0.0, error=f"{code}: {message}")
            )
        self._advance()

    def _fits(self, delay: float) -> bool:
        return self._timing.monotonic() + delay <= self._deadline

    def _circuit_open(self, target: Target) -> bool:
        now, cooldown = self._timing.monotonic(), self._policy.breaker_cooldown
        state = self._access.breakers.state(
            target.provider.name, now=now, cooldown=cooldown, caller=self._record.key_id
        )
        return state == "open"

    def _keep(self, extra: Extra | None) -> None:
        if extra is not None:
            self._health.append(extra)

    def _drop_probe(self) -> None:
        """Leaving a target whose half-open probe this request held, without a verdict."""
        if self._probe is not None:
            self._shared.signal(self._probe, self._record.key_id, "release", probing=True)
            self._probe = None

    def _end_probe(self, target: Target, signal: str) -> None:
        """Tell the breaker how the provider did: a success or failure counts whoever saw it;
        ``release`` (no verdict) only ends this request's own half-open probe."""
        name = target.provider.name
        probing = self._probe == name
        if signal in ("success", "failure"):
            outcome: Signal = "success" if signal == "success" else "failure"
            self._shared.signal(name, self._record.key_id, outcome, probing=probing)
        elif probing:
            self._shared.signal(name, self._record.key_id, "release", probing=True)
        if probing:
            self._probe = None

    def _final_error(self) -> Exception:
        last = self._last
        if last is None:
            if self._skips:
                return self._skips[0]  # about the model the caller asked for first
            return UpstreamError("The request could not be sent before its deadline; try again.")
        attempts = self._attempts
        if self._only_timeouts:
            return UpstreamTimeout(
                f"The provider timed out on every attempt ({attempts}; last: {last.message}). Try again later, "
                "raise --first-byte-timeout, or list fallback models in 'models'."
            )
        if last.http is not None:
            if last.verdict.key == "reject":
                return ProviderUnavailable(
                    f"No active API keys for provider '{last.target.provider.name}': the provider rejected "
                    f"{last.key.label if last.key else 'its key'} ({last.message}). Add a working key with "
                    f"`olga providers add-key {last.target.provider.name} --api-key-env VAR`."
                )
            if last.http.status == 429 or last.verdict.larger_window:
                return last.http  # the provider's own answer says best what to do
        return UpstreamError(
            f"The provider failed on every attempt ({attempts}; last: {last.message}). Try again later, "
            "or list fallback models in 'models'."
        )
