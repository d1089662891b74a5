"""Noticing a caller who went away while olga waits on the provider, and cancelling that wait at once.

The server does not cancel a handler when its client disconnects (aiohttp's default), so a wait on
the provider would run to its end for nobody. ``CallerWatch.unless_gone`` awaits the work in the
caller's own task; one timer, shared by every wait in flight, looks at their callers' connections
every tick. Once a caller is gone its task is cancelled, as ``asyncio.timeout`` does (which closes
the upstream connection, so the provider stops generating), and ``ClientGone`` is raised in place of
the cancellation.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from dataclasses import dataclass
from typing import Any, TypeVar

from olga_cli.errors import ClientGone
from olga_cli.gateway.sink import Sink

T = TypeVar("T")
TICK = 0.05  # seconds between checks: "at once" for a person, negligible work for the loop
# Callers looked at per tick, at most. Each look is a few hundred ns when the caches are cold, and the
# loop waits for the whole pass: with 2,000 streams open, one pass over all took 2-4 ms every tick,
# the longest stalls a relayed word met. With more callers than this in flight, each is looked at
# every few ticks instead (2,000: every 0.5 s), and no pass holds the loop longer than about 0.1 ms.
PER_TICK = 200


@dataclass(eq=False, slots=True)
class _Wait:
    task: asyncio.Task[Any]
    sink: Sink
    gone: bool = False


class CallerWatch:
    """One timer for all the waits in flight, rather than a timer (set, then cancelled) for each.

    A timer per wait cost a heap push and a cancelled handle left in the loop's heap on every request;
    this costs a set insertion, and the timer runs only while some wait is in flight.
    """

    def __init__(self, tick: float = TICK, per_tick: int = PER_TICK) -> None:
        self.tick, self.per_tick = tick, per_tick
        self._waits: set[_Wait] = set()
        self._due: list[_Wait] = []  # the waits this round of looks has yet to reach
        self._timer: asyncio.TimerHandle | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    async def unless_gone(self, sink: Sink, work: Awaitable[T]) -> T:
        """``await work``, unless the caller disconnects first: then cancel it and raise ``ClientGone``."""
        task = asyncio.current_task()
        assert task is not None
        cancelling = task.cancelling()
        wait = _Wait(task, sink)
        self._waits.add(wait)
        self._arm()
        try:
            result = await work
        except asyncio.CancelledError:
            # Ours (and nobody else's, such as a server shutdown): the caller left.
            if wait.gone and task.uncancel() <= cancelling:
                raise ClientGone() from None
            raise
        except BaseException:
            if wait.gone:
                task.uncancel()  # the work ended otherwise while ours was pending: withdraw it
                raise ClientGone() from None
            raise
        finally:
            self._waits.discard(wait)
        if wait.gone:
            task.uncancel()  # the work swallowed the cancellation; nobody is left to answer
            raise ClientGone()
        return result

    def _arm(self) -> None:
        loop = asyncio.get_running_loop()
        if self._timer is None or self._loop is not loop:
            self._loop = loop
            self._timer = loop.call_later(self.tick, self._look)

    def _look(self) -> None:
        """Look at the next ``per_tick`` waits of this round; a round starts over all waits in flight."""
        self._timer = None
        if not self._due:
            self._due = list(self._waits)
        due, waits = self._due, self._waits
        for _ in range(min(self.per_tick, len(due))):
            wait = due.pop()
            if wait in waits and not wait.gone and wait.sink.gone():
                wait.gone = True
                wait.task.cancel()
        if waits:
            self._arm()
        else:
            self._due = []  # nothing in flight: the waits left of the round ended already
