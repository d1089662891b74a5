"""Noticing a caller who went away while olga waits on the provider, and cancelling that wait at once.

The server does not cancel a handler when its client disconnects (aiohttp's default), so a wait on
the provider would run to its end for nobody. ``unless_gone`` awaits the work in the caller's own
task while a timer looks at the caller's connection every tick; once the caller is gone it cancels
the task, as ``asyncio.timeout`` does (which closes the upstream connection, so the provider stops
generating), and ``ClientGone`` is raised in place of the cancellation.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from typing import TypeVar

from olga_cli.gateway.sink import ClientGone, Sink

T = TypeVar("T")
TICK = 0.05  # seconds between checks: "at once" for a person, negligible work for the loop


async def unless_gone(sink: Sink, work: Awaitable[T], *, tick: float = TICK) -> T:
    """``await work``, unless the caller disconnects first: then cancel it and raise ``ClientGone``.

    The work runs in this task rather than one of its own: on every request, a task and an
    ``asyncio.wait`` per wait cost more than the one timer handle this needs.
    """
    task = asyncio.current_task()
    assert task is not None
    loop = asyncio.get_running_loop()
    cancelling = task.cancelling()
    gone = False
    timer: asyncio.TimerHandle

    def look() -> None:
        nonlocal gone, timer
        if sink.gone():
            gone = True
            task.cancel()
        else:
            timer = loop.call_later(tick, look)

    timer = loop.call_later(tick, look)
    try:
        result = await work
    except asyncio.CancelledError:
        # Ours (and nobody else's, such as a server shutdown): the caller left.
        if gone and task.uncancel() <= cancelling:
            raise ClientGone() from None
        raise
    except BaseException:
        if gone:
            task.uncancel()  # the work ended otherwise while ours was pending: withdraw it
            raise ClientGone() from None
        raise
    finally:
        timer.cancel()
    if gone:
        task.uncancel()  # the work swallowed the cancellation; nobody is left to answer
        raise ClientGone()
    return result
