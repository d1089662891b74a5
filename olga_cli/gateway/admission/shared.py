"""Team mode: the admission every instance agrees on, on top of this process's own.

The in-memory admission (metering, usage limits, rate limits) runs first, as on a laptop: it only
knows this process's requests, so it never refuses what the team's store would admit, and it gives
the refusals their full messages. Then the store's holds check and take the same things against
every instance's requests in one atomic step; a refusal there undoes the local admission. The hold
ends in the batch that commits the request's record and charge, or is released when the request
leaves no record; an instance that dies leaves its holds to the others' sweep once its lease ends.

A key whose credits are all the store must check, and that has money to spare, is admitted against
a slice of its credit this instance reserved earlier (``slices.py``): no round trip at all. A key
with nothing to check (no credits enforced, no limit) takes no hold.

The hold's round trip overlaps the rest of the work before the upstream call (``begin``): the
pipeline screens the input, plans the attempt and asks Redis's circuits meanwhile, and waits for the
store's answer (``ctx.admitting``) before anything leaves for the provider or any answer is given.

With Redis, a key's --rpm/--tpm minute is counted there first (one script, ``store/redis/rates.py``)
and the hold skips them. Redis not answering never admits unchecked: the hold then counts them in
PostgreSQL, which sees every instance's requests, and tells every instance to do the same for a
minute (what was admitted meanwhile is missing from Redis's minutes).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
import time
from collections.abc import Coroutine
from dataclasses import replace
from typing import Any

from olga_cli.errors import InsufficientCredits, RateLimitExceeded, StoreUnavailable, UsageLimitExceeded
from olga_cli.gateway.admission.hold import Hold
from olga_cli.gateway.admission.slices import Slices
from olga_cli.gateway.admission.usage_limits import holders_of
from olga_cli.gateway.admission.windows import day_of, first_day
from olga_cli.gateway.call import Context
from olga_cli.gateway.snapshot import Snapshot
from olga_cli.money import pico_to_usd
from olga_cli.store.generations import Extra
from olga_cli.store.holds import HoldRequest, HoldStore, LimitCheck, Refusal, hold_settle, slice_draw
from olga_cli.store.hot import HotState, HotUnavailable

log = logging.getLogger("olga.shared")
BEAT_EVERY = 1.0  # seconds between two renewals of this instance's lease
LEASE = 5.0  # seconds of silence after which an instance's holds are freed by the others
PING_EVERY = 0.5  # seconds between two looks at Redis, to notice an outage and its end


class SharedAdmission:
    def __init__(self, holds: HoldStore, hot: HotState | None = None) -> None:
        self.holds = holds
        self.hot = hot
        self.instance = "olga-" + secrets.token_hex(6)
        self.taken: dict[str, Hold] = {}
        self.slices = Slices(holds, self.instance)
        self._renewed_at = -LEASE  # when the lease was last renewed (monotonic): slices need it fresh
        self._releasing: set[asyncio.Task[None]] = set()
        self._admitting: set[asyncio.Task[None]] = set()

    async def leave(self) -> None:
        """At shutdown, once requests have finished: holds still being taken, pending releases, then
        the lease."""
        if self._admitting:
            await asyncio.gather(*self._admitting, return_exceptions=True)
        if self._releasing:
            await asyncio.gather(*self._releasing, return_exceptions=True)
        self.slices.forget()
        await self.holds.leave(self.instance)  # its sweep gives back this instance's slices

    def begin(self, snapshot: Snapshot, ctx: Context) -> None:
        """Admit the request against its key's slice of credit if it can be (no round trip), else
        start taking its hold (``admit``) in a task of its own, ``ctx.admitting``, so that its round
        trip overlaps the work that follows. Whoever awaits it shields it: a caller who leaves
        meanwhile must not cancel a hold the store may already have granted (``release`` gives it back
        once the answer is in)."""
        request, names = self._request(snapshot, ctx)
        if not request.capped and not request.limits and request.rpm is None and request.tpm is None:
            return  # nothing for the store to check: no hold (the record's batch counts the usage)
        if self._sliceable(request):
            piece = self.slices.draw(request.key_id, request.credits)
            if piece is not None:
                ctx.hold = Hold(request.id, request.key_id, slice=piece, promised=request.credits)
                return
        task = asyncio.create_task(self.admit(request, names, ctx))
        ctx.admitting = task
        self._admitting.add(task)
        task.add_done_callback(self._admitting.discard)

    def _sliceable(self, request: HoldRequest) -> bool:
        """Whether a slice may admit the request: its key's credits are all the store must check (no
        usage limit, no rate limit), and this instance's lease is fresh (a lease run out lets the
        other instances give its slices back)."""
        return (
            request.capped
            and not request.limits
            and request.rpm is None
            and request.tpm is None
            and time.monotonic() - self._renewed_at < LEASE / 2
        )

    async def admit(self, request: HoldRequest, names: dict[int, str], ctx: Context) -> None:
        """Take the request's hold (or a new slice of its key's credit, when one is worth asking for),
        or undo the local admission and refuse as the store says."""
        if self._sliceable(request) and self.slices.worth_asking(request.key_id):
            try:
                piece = await self.slices.take(request.key_id, request.credits, request.at)
            except Exception:  # the hold below says what the store's trouble means for the request
                piece = None
            if piece is not None:
                ctx.hold = Hold(request.id, request.key_id, slice=piece, promised=request.credits)
                return
        hold = Hold(request.id, request.key_id, tokens_count=request.tpm is not None)
        if self.hot is not None and (request.rpm is not None or request.tpm is not None):
            request = await self._count_rates(request, hold, ctx, names)
        try:
            refusal = await self.holds.take(request)
        except Exception as exc:  # never admit unchecked: the store decides or nobody does
            log.error("the shared store could not admit a request: %s", exc)
            self._uncount(hold)
            undo_local(ctx)
            raise StoreUnavailable(
                "The team's store cannot be reached, so olga cannot check credits and limits; "
                "retry shortly (`olga doctor` checks the connection)."
            ) from None
        if refusal is not None:
            self._uncount(hold)
            undo_local(ctx)
            raise refused(refusal, ctx, names)
        self.taken[hold.id] = hold
        ctx.hold = hold

    async def _count_rates(
        self, request: HoldRequest, hold: Hold, ctx: Context, names: dict[int, str]
    ) -> HoldRequest:
        """Count the request in its key's minute in Redis; the hold request says what is left to check."""
        assert self.hot is not None
        try:
            answer = await self.hot.rates.take(
                request.key_id,
                request.id,
                at=request.at,
                rpm=request.rpm,
                tpm=request.tpm,
                tokens=request.rate_tokens,
            )
        except HotUnavailable:  # the link says so once per outage
            return replace(request, rate_mode="lost")
        if answer == "rpm" or answer == "tpm":
            undo_local(ctx)
            raise refused(Refusal(answer), ctx, names)
        hold.counted_in_redis = True
        return replace(request, rate_mode="redis" if answer == "ok" else "pg")

    def settle(self, ctx: Context) -> list[Extra]:
        """End the hold in the batch of the request's record (its charge commits with it)."""
        hold = ctx.hold
        if hold is None or hold.ended:
            return []
        hold.ended = True
        if hold.slice is not None:
            drawn = self.slices.settle(hold.slice, hold.promised, ctx.record.cost_pico)
            return [slice_draw(hold.slice.id, drawn)] if drawn else []
        self.taken.pop(hold.id, None)
        if hold.counted_in_redis and hold.tokens_count and self.hot is not None:  # rpm alone: nothing to say
            record = ctx.record
            tokens = record.tokens_prompt + record.tokens_completion
            self._later(self.hot.rates.settle(hold.key_id, hold.id, tokens))
        return [hold_settle(hold.id)]

    def release(self, ctx: Context) -> None:
        """A request that leaves no record gives its hold back: in a task of its own, so that a
        cancelled request cannot leave it half done (the hold would stay while this instance lives).
        A hold still being taken is given back once the store has answered."""
        admitting = ctx.admitting
        if admitting is not None and not admitting.done():
            admitting.add_done_callback(lambda _: self.release(ctx))
            return
        if admitting is not None and not admitting.cancelled():
            admitting.exception()  # a refusal nobody waited for (the caller left): seen, not logged
        hold = ctx.hold
        if hold is None or hold.ended:
            return
        hold.ended = True
        if hold.slice is not None:
            self.slices.release(hold.slice, hold.promised)
            return
        self.taken.pop(hold.id, None)
        self._uncount(hold)
        self._later(self._release(hold.id))

    def _uncount(self, hold: Hold) -> None:
        """The request stops counting in its key's minute in Redis (it leaves no record)."""
        if hold.counted_in_redis and self.hot is not None:
            hold.counted_in_redis = False
            self._later(self.hot.rates.release(hold.key_id, hold.id))

    def _later(self, work: Coroutine[Any, Any, None]) -> None:
        """In a task of its own, awaited at shutdown: a cancelled request cannot leave it half done."""
        task = asyncio.create_task(_quietly(work))
        self._releasing.add(task)
        task.add_done_callback(self._releasing.discard)

    async def _release(self, hold_id: str) -> None:
        try:
            await self.holds.release(hold_id)
        except Exception:
            log.exception("could not release a hold; the sweep frees it when this instance stops")

    async def watch_redis(self) -> None:
        """Notice Redis's outages and their end; on its return, every instance checks the rate limits
        in PostgreSQL too for a minute (its minutes miss what was admitted meanwhile, or were lost)."""
        assert self.hot is not None
        while True:
            try:
                if await self.hot.ping():
                    log.warning(
                        "Redis answers again; rate limits are also checked in PostgreSQL for a minute"
                    )
                    await self.holds.distrust_rates(time.time())
            except Exception:
                log.exception("could not look at Redis; will retry")
            await asyncio.sleep(PING_EVERY)

    async def keep_lease(self) -> None:
        """Renew this instance's lease and free the holds of instances gone silent; runs until cancelled."""
        while True:
            try:
                now, renewing = time.time(), time.monotonic()
                await self.holds.beat(self.instance, now)
                self._renewed_at = renewing
                await self.slices.give_back_idle()
                freed = await self.holds.sweep(now, LEASE)
                if freed:
                    log.warning("freed %d holds of an instance that stopped answering", freed)
            except Exception:
                log.exception("could not renew the lease; will retry")
            await asyncio.sleep(BEAT_EVERY)

    def _request(self, snapshot: Snapshot, ctx: Context) -> tuple[HoldRequest, dict[int, str]]:
        """The hold to ask the store for, and who each of its limits holds ("tag 'checkout'")."""
        key = ctx.key
        row = key.row
        ticket = ctx.limits
        assert ticket is not None and ctx.reservation is not None  # the local admission ran first
        day = day_of(ticket.at)
        checks = []
        labels = []
        names: dict[int, str] = {}
        for holder in holders_of(snapshot, key, ctx.who):
            scope, scope_id = holder.usage
            if scope not in ("key", "team"):
                labels.append(f"{scope}:{scope_id}")
            for where in holder.limits:
                for limit in snapshot.limits.get(where, ()):
                    names[limit.id] = holder.described
                    checks.append(
                        LimitCheck(
                            limit.id,
                            scope,
                            scope_id,
                            limit.metric,
                            first_day(limit.window, day),
                            limit.threshold,
                        )
                    )
        request = HoldRequest(
            id=ctx.record.id,
            instance=self.instance,
            key_id=row.id,
            team_id=row.team_id,
            at=ticket.at,
            capped=key.capped,
            credits=ctx.reservation.amount,
            cost=ticket.reserved.cost,
            tokens=ticket.reserved.tokens,
            rate_tokens=ticket.rate.event.tokens,
            rpm=row.rpm,
            tpm=row.tpm,
            limits=tuple(checks),
            labels=tuple(labels),
        )
        return request, names


async def _quietly(work: Coroutine[Any, Any, None]) -> None:
    """Redis work after the response: a Redis gone meanwhile only leaves the minute's estimate."""
    with contextlib.suppress(HotUnavailable):
        await work


def undo_local(ctx: Context) -> None:
    """The store refused: this process must not count the request either."""
    if ctx.reservation is not None:
        ctx.reservation.release()
        ctx.reservation = None
    if ctx.limits is not None:
        ctx.limits.release()
        ctx.limits = None


def refused(
    refusal: Refusal, ctx: Context, names: dict[int, str]
) -> InsufficientCredits | UsageLimitExceeded | RateLimitExceeded:
    name = ctx.key.row.name
    if refusal.reason == "credits":
        return InsufficientCredits(
            f"Insufficient credits: the key's balance, counting the requests in flight on every instance, "
            f"is ${pico_to_usd(max(refusal.balance, 0))}. "
            f"Top up with `olga credits topup {name} USD` or lower max_tokens."
        )
    if refusal.reason == "limit":
        return UsageLimitExceeded(
            f"Usage limit reached: {names.get(refusal.limit_id, 'a limit')} has used up its limit "
            f"{refusal.limit_id}, counting the requests of every "
            "instance. Wait for its window to reset or raise it (`olga limits list`).",
            headers={"x-should-retry": "false"},
        )
    what = "--rpm" if refusal.reason == "rpm" else "--tpm"
    return RateLimitExceeded(
        f"Rate limit reached: key '{name}' is at its {what} limit, counting every instance. "
        f"Retry shortly, or raise it with `olga keys update {name} {what} N`.",
        headers={"Retry-After": "1"},
    )
