"""Background tasks owned by the app: started with it, cancelled and awaited when it stops."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable, Coroutine
from typing import Any

from aiohttp import web

CleanupContext = Callable[[web.Application], AsyncIterator[None]]


def background_task(
    name: str, work: Callable[[web.Application], Coroutine[Any, Any, None]]
) -> CleanupContext:
    """A cleanup context running ``work(app)`` for the app's lifetime."""

    async def context(app: web.Application) -> AsyncIterator[None]:
        task = asyncio.create_task(work(app), name=name)
        try:
            yield
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    return context
