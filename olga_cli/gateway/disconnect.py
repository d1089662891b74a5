"""Noticing a caller who went away while olga waits on the provider, and cancelling that wait at once.

The server does not cancel a handler when its client disconnects (aiohttp's default), so a wait on
the provider would run to its end for nobody. ``unless_gone`` runs the wait as a task and checks the
caller's connection between short ticks; once the caller is gone the task is cancelled (which closes
the upstream connection, so the provider stops generating) and ``ClientGone`` is raised.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable
from typing import TypeVar

from olga_cli.gateway.sink import ClientGone, Sink

T = TypeVar("T")
TICK = 0.05  # seconds between checks: "at once" for a person, negligible work for the loop


async def unless_gone(sink: Sink, work: Awaitable[T], *, tick: float = TICK) -> T:
    """``await work``, unless the caller disconnects first: then cancel it and raise ``ClientGone``."""
    task = asyncio.ensure_future(work)
    try:
        while True:
            done, _ = await asyncio.wait({task}, timeout=tick)
            if done:
                return task.result()
            if sink.gone() and task.cancel():
                await asyncio.wait({task})
                if not task.cancelled():
                    with contextlib.suppress(BaseException):
                        task.result()  # retrieved: whatever it ended with, nobody is left to answer
                raise ClientGone()
    except asyncio.CancelledError:
        task.cancel()
        raise
