"""Circuit breakers and key rests as one request's failover sees them: shared by every instance
through Redis in team mode, this instance's own otherwise (``breaker.py``, ``keypool.py``).

With Redis, admitting a request to a provider asks Redis's circuits (one script), and picking a key
asks Redis which of this instance's healthy keys, in turn, is not resting (one script), so a key
another instance saw rate-limited is never sent with. What a request learns (a failure, a success
after failures, a probe's end, a key's rest) goes to Redis before its next attempt and before its
answer; the local breakers and pools learn it too, and stand in whenever Redis does not answer: a
Redis outage makes breakers and rests per instance again (as without Redis), never blocks a request.
A success is sent only where the circuits had something to reset, so the common case costs nothing.

Team mode without Redis: the local breakers decide, and what changes them is sent to PostgreSQL
(``store/circuits.py``), whose circuits every instance takes into its breakers at its next look at
the store; only a half-open provider's probe is claimed there, so that one request in all is it.
Key rests reach every instance as health marks with the records (``keypool.py``).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Coroutine
from typing import Any, Literal

from olga_cli.config import ProviderConfig, RetryPolicy
from olga_cli.errors import NoActiveKeys
from olga_cli.gateway.upstream.breaker import Admission, Breakers
from olga_cli.gateway.upstream.client import ProviderKey
from olga_cli.gateway.upstream.keypool import KeyPools
from olga_cli.store.circuits import CircuitStore
from olga_cli.store.hot import HotState, HotUnavailable, RestAnswer
from olga_cli.store.provider_health import fingerprint

log = logging.getLogger("olga.upstream")
Signal = Literal["success", "failure", "release"]


class SharedUpstream:
    """For one request: its circuits and keys, with what is still on its way to Redis."""

    def __init__(
        self,
        breakers: Breakers,
        keypools: KeyPools,
        hot: HotState | None,
        policy: RetryPolicy,
        monotonic: Callable[[], float],
        *,
        circuits: CircuitStore | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._breakers = breakers
        self._keypools = keypools
        self._hot = hot
        self._circuits = circuits if hot is None else None
        self._policy = policy
        self._monotonic = monotonic
        self._clock = clock
        self._dirty: set[str] = set()  # providers whose shared circuits had failures or a probe
        # What admitting to a provider learnt about its keys, for the pick that follows at once.
        self._picked: dict[str, tuple[list[ProviderKey], RestAnswer]] = {}
        self._pending: set[asyncio.Task[None]] = set()

    # -- circuits ---------------------------------------------------------------------------------

    async def admit(
        self, target: ProviderConfig, caller: str | None, *, now: float
    ) -> tuple[Admission, float]:
        """ "pass", "probe" or "skip", and (skip) the seconds until the provider is tried again.
        With Redis, the same round trip finds the key to send with (``pick`` then asks nothing)."""
        cooldown, provider = self._policy.breaker_cooldown, target.name
        if self._hot is not None:
            candidates = self._candidates(target, now)
            keys = [(key.label, fingerprint(key.value or "")) for key in candidates]
            try:
                answer = await self._hot.circuits.admit(
                    provider,
                    caller,
                    cooldown=cooldown,
                    lease=self._policy.deadline,
                    keys=keys,
                    reset_at=self._keypools.reset_at(provider),
                )
            except HotUnavailable:
                pass
            else:
                if answer.dirty or answer.admission == "probe":
                    self._dirty.add(provider)
                if answer.rest is not None:
                    self._picked[provider] = (candidates, answer.rest)
                return answer.admission, answer.retry_in
        now, breakers = self._monotonic(), self._breakers
        admission = breakers.admit(provider, now=now, cooldown=cooldown, caller=caller)
        if admission == "probe" and self._circuits is not None:
            admission = await self._claim_probe(provider, caller)
        wait = (
            breakers.retry_in(provider, now=now, cooldown=cooldown, caller=caller)
            if admission == "skip"
            else 0
        )
        return admission, wait

    async def _claim_probe(self, provider: str, caller: str | None) -> Admission:
        """The store says whether this request is the half-open provider's one probe in all."""
        assert self._circuits is not None
        try:
            answer = await self._circuits.probe(
                provider,
                caller,
                now=self._clock(),
                cooldown=self._policy.breaker_cooldown,
                lease=self._policy.deadline,
            )
        except Exception as exc:  # the store not answering: this instance's breakers decide alone
            log.warning("the store could not say who probes provider '%s': %s", provider, exc)
            return "probe"
        if answer != "probe":
            self._breakers.release(provider, caller)  # not this instance's probe: ask again next time
        return answer

    def signal(self, provider: str, caller: str | None, signal: Signal, *, probing: bool) -> None:
        """How the provider did (``release``: a probe ended without a verdict)."""
        breakers, circuits = self._breakers, self._circuits
        if circuits is not None:
            self._tell_store(circuits, provider, caller, signal, probing=probing)
        if signal == "success":
            breakers.success(provider, caller)
        elif signal == "failure":
            breakers.failure(
                provider, now=self._monotonic(), threshold=self._policy.breaker_threshold, caller=caller
            )
        elif probing:
            breakers.release(provider, caller)
        hot = self._hot
        if hot is None:
            return
        if signal == "failure":
            self._send(hot.circuits.failure(provider, caller, threshold=self._policy.breaker_threshold))
            self._dirty.add(provider)
        elif signal == "success" and provider in self._dirty:
            self._send(hot.circuits.success(provider, caller))
            self._dirty.discard(provider)
        elif signal == "release" and probing:
            self._send(hot.circuits.release(provider, caller))

    def _tell_store(
        self, circuits: CircuitStore, provider: str, caller: str | None, signal: Signal, *, probing: bool
    ) -> None:
        """Team mode without Redis: a change of circuit, for every instance (a success only where there
        was something to reset, so the common case sends nothing)."""
        if signal == "failure":
            threshold, now = self._policy.breaker_threshold, self._clock()
            self._send(circuits.failure(provider, caller, threshold=threshold, now=now), store=True)
        elif signal == "success" and self._breakers.dirty(provider, caller):
            self._send(circuits.success(provider, caller), store=True)
        elif signal == "release" and probing:
            self._send(circuits.release(provider, caller), store=True)

    # -- keys -------------------------------------------------------------------------------------

    def _candidates(self, provider: ProviderConfig, now: float) -> list[ProviderKey]:
        """The keys ``pick`` would choose among (none when it would not ask Redis)."""
        if not provider.needs_key:
            return []
        try:
            return self._keypools.candidates(provider, now=now)
        except NoActiveKeys:
            return []  # ``pick`` says so

    async def pick(self, provider: ProviderConfig, *, now: float) -> ProviderKey | None:
        """The next key in turn that no instance has seen rate-limited (``NoActiveKeys`` if none)."""
        pools, hot = self._keypools, self._hot
        if hot is None or not provider.needs_key:
            return pools.pick(provider, now=now)
        picked = self._picked.pop(provider.name, None)
        if picked is not None:
            candidates, answer = picked
        else:
            candidates = pools.candidates(provider, now=now)
            try:
                answer = await hot.rests.first_usable(
                    provider.name,
                    [(key.label, fingerprint(key.value or "")) for key in candidates],
                    reset_at=pools.reset_at(provider.name),
                )
            except HotUnavailable:
                return candidates[0]
        if answer.usable is not None:
            return candidates[answer.usable]
        raise NoActiveKeys(
            f"No active API keys for provider '{provider.name}': every key is resting after the provider "
            f"rate-limited it (seen by this or another instance). Retry later, or add a key with "
            f"`olga providers add-key {provider.name} --api-key-env VAR`.",
            retry_after=answer.back_in,
        )

    def rested(self, provider: str, key: ProviderKey, *, since: float, seconds: float) -> None:
        if self._hot is not None and key.value:
            rests = self._hot.rests
            self._send(rests.rest(provider, key.label, fingerprint(key.value), since=since, seconds=seconds))

    # -- what is on its way -----------------------------------------------------------------------

    def _send(self, work: Coroutine[Any, Any, None], *, store: bool = False) -> None:
        task = asyncio.create_task(_to_store(work) if store else _quietly(work))
        self._pending.add(task)
        task.add_done_callback(self._pending.discard)

    async def flush(self) -> None:
        """Wait for what this request told Redis (before its next attempt, and before its answer)."""
        if self._pending:
            await asyncio.gather(*self._pending)


async def _to_store(work: Coroutine[Any, Any, None]) -> None:
    try:
        await work
    except Exception as exc:  # the store's own error: this instance's breakers still hold the change
        log.warning("the store missed a breaker update: %s", exc)


async def _quietly(work: Coroutine[Any, Any, None]) -> None:
    try:
        await work
    except HotUnavailable as exc:
        log.warning("Redis missed a breaker or key-rest update: %s", exc)
