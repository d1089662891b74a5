"""Team mode: slices of a key's credit, so that a key with money to spare is admitted in memory.

A hold per request is exact, and costs a round trip to PostgreSQL before every upstream call (and,
with several instances, a wait on the key's lock). For a key whose balance covers far more than
what is in flight, this instance takes a slice instead: the worst case of ``SLICE_REQUESTS``
requests, reserved in the store in one round trip (``olga_take_slice``, migration 019), which the
next requests of the key draw from here. Each record's batch then takes what its request cost off the
slice, with the charge. The money a slice holds is reserved for every instance, so nothing is spent
twice; what a slice holds unused goes back once it has been idle for ``IDLE`` seconds, or with the
instance's lease if the instance dies.

A slice is granted only while the key's free balance covers ``FLOOR_SLICES`` more of it: near the
end of a key's money, and for keys with usage or rate limits, every request takes its own hold, and
admission is exactly as it was (the last worst case is never held back by another instance's slice
for longer than ``IDLE``).
"""

from __future__ import annotations

import logging
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass

from olga_cli.store.holds import HoldStore

log = logging.getLogger("olga.shared")
SLICE_REQUESTS = 32  # a slice reserves the worst case of this many requests like the one that takes it
FLOOR_SLICES = 4  # and is granted only if the key's balance still covers this many more slices
IDLE = 1.0  # seconds a slice may go unused before it goes back
LOW_FOR = 1.0  # seconds a key refused a slice takes holds without asking for one again


@dataclass(slots=True)
class Slice:
    id: str
    key_id: str
    free: int  # reserved in the store and promised to no request yet
    in_flight: int = 0  # requests admitted against it whose record is not settled or who left
    used_at: float = 0.0


class Slices:
    """This instance's slices: drawn from in memory, taken and given back through the store."""

    def __init__(self, holds: HoldStore, instance: str, clock: Callable[[], float] = time.monotonic) -> None:
        self._holds = holds
        self._instance = instance
        self._clock = clock
        self._live: dict[str, Slice] = {}  # per key: the slice its requests draw from
        self._replaced: list[Slice] = []  # going back once their requests are done
        self._taking: set[str] = set()  # keys whose slice is being asked for
        self._low_until: dict[str, float] = {}  # keys refused a slice, until when

    def draw(self, key_id: str, amount: int) -> Slice | None:
        """The key's slice with ``amount`` promised from it, if it has that much free."""
        piece = self._live.get(key_id)
        if piece is None or piece.free < amount:
            return None
        piece.free -= amount
        piece.in_flight += 1
        piece.used_at = self._clock()
        return piece

    def worth_asking(self, key_id: str) -> bool:
        """Whether a request of the key that found no slice to draw from should ask for one."""
        if key_id in self._taking:
            return False  # another request is asking: this one takes a hold meanwhile
        return self._low_until.get(key_id, 0.0) <= self._clock()

    async def take(self, key_id: str, amount: int, at: float) -> Slice | None:
        """A new slice for the key, with ``amount`` promised from it; None if the store would not
        grant one (the key is near its end: its requests take holds for ``LOW_FOR`` seconds)."""
        size = amount * SLICE_REQUESTS
        slice_id = "slice-" + secrets.token_hex(8)
        self._taking.add(key_id)
        try:
            granted = await self._holds.take_slice(
                slice_id, self._instance, key_id, at, size, size * FLOOR_SLICES
            )
        finally:
            self._taking.discard(key_id)
        if not granted:
            self._low_until[key_id] = self._clock() + LOW_FOR
            return None
        old = self._live.get(key_id)
        if old is not None:
            self._replaced.append(old)
        piece = Slice(slice_id, key_id, size - amount, in_flight=1, used_at=self._clock())
        self._live[key_id] = piece
        return piece

    @staticmethod
    def settle(piece: Slice, promised: int, cost: int) -> int:
        """The request's record is being committed: what to draw off the slice in its batch (its
        cost, up to what was promised; beyond, the charge goes over the reservation as a hold's
        does). The rest of the promise is free again: the store still reserves all of it."""
        drawn = min(cost, promised)
        piece.free += promised - drawn
        piece.in_flight -= 1
        return drawn

    @staticmethod
    def release(piece: Slice, promised: int) -> None:
        """The request leaves no record: its promise is free again."""
        piece.free += promised
        piece.in_flight -= 1

    async def give_back_idle(self) -> None:
        """Return the slices done with: replaced ones whose requests are done, and those unused for
        ``IDLE`` seconds (a slice must never go back while a request counts on it)."""
        now = self._clock()
        done = [p for p in self._replaced if p.in_flight == 0]
        idle = [p for p in self._live.values() if p.in_flight == 0 and now - p.used_at >= IDLE]
        for piece in idle:
            del self._live[piece.key_id]
        self._replaced = [p for p in self._replaced if p.in_flight > 0]
        for piece in done + idle:
            try:
                await self._holds.return_slice(piece.id)
            except Exception:  # the lease's sweep gives it back when this instance stops
                log.exception("could not give back a slice of credit; it goes back with this instance")

    def forget(self) -> None:
        """At shutdown, after the requests: the store's sweep of this instance gives every slice back."""
        self._live.clear()
        self._replaced.clear()
