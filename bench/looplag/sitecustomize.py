"""Every long event-loop callback and cyclic-GC pass of ``olga serve``, logged as it happens.

Put this folder on ``PYTHONPATH`` for a bench run; every ``python -m olga_cli serve`` it starts then
appends to ``$LOOPLAG_DIR/looplag-<pid>.txt`` (default: the system's temporary folder) one line per
callback or collection longer than ``$LOOPLAG_MS`` (default 2):

    <time.monotonic()> cb <ms of wall time> <callback> cpu=<ms of the thread's CPU> <task's coroutine, where it stopped>
    <time.monotonic()> gc<generation> <ms> collected=<objects>

    PYTHONPATH=bench/looplag LOOPLAG_MS=1 python bench/agent.py --curve "" --seconds 1

A callback whose CPU is far below its wall time lost the core (to another process, or the GIL to one
of olga's threads); one whose CPU is its wall time is work to cut. Not for production: it wraps
``asyncio.Handle._run``, about a microsecond on every callback.
"""

from __future__ import annotations

import asyncio.events
import gc
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any


def _where(handle: asyncio.events.Handle) -> tuple[str, str]:
    """The callback's name, and for a task's step its coroutine and where that stopped."""
    callback = getattr(handle, "_callback", None)
    name = getattr(callback, "__qualname__", None) or repr(callback)[:80]
    get_coro = getattr(getattr(callback, "__self__", None), "get_coro", None)
    if get_coro is None:
        return name, ""
    coro = get_coro()
    where, frame = getattr(coro, "__qualname__", "?"), getattr(coro, "cr_frame", None)
    while hasattr(coro, "cr_await") and coro.cr_await is not None:  # down to the innermost coroutine
        coro = coro.cr_await
        frame = getattr(coro, "cr_frame", None) or frame
    if frame is not None:
        where += f" at {Path(frame.f_code.co_filename).name}:{frame.f_lineno} {frame.f_code.co_name}"
    return name, where


def install(limit: float, out: Any) -> None:
    run = asyncio.events.Handle._run
    clock, cpu = time.perf_counter, time.thread_time

    def timed(self: asyncio.events.Handle) -> None:
        start, start_cpu = clock(), cpu()
        run(self)
        took = clock() - start
        if took > limit:
            name, where = _where(self)
            out.write(
                f"{time.monotonic():.4f} cb {took * 1e3:.2f} {name} cpu={(cpu() - start_cpu) * 1e3:.2f} {where}\n"
            )

    asyncio.events.Handle._run = timed  # type: ignore[method-assign]
    started = [0.0]

    def collected(phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            started[0] = clock()
        elif (took := clock() - started[0]) > limit:
            out.write(
                f"{time.monotonic():.4f} gc{info['generation']} {took * 1e3:.2f} collected={info['collected']}\n"
            )

    gc.callbacks.append(collected)


if sys.argv[:1] == ["-m"] and "serve" in sys.argv:  # `python -m olga_cli serve`, at start-up
    folder = Path(os.environ.get("LOOPLAG_DIR") or tempfile.gettempdir())
    install(
        float(os.environ.get("LOOPLAG_MS", "2")) / 1000,
        (folder / f"looplag-{os.getpid()}.txt").open("a", buffering=1),
    )
