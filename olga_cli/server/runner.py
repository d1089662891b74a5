"""Running the app: aiohttp's runner and sites bind and start it, olga's own server answers.

``OlgaRunner`` is ``web.AppRunner`` whose connections are ``server/http1.py``'s; ``run_app`` is
``web.run_app`` built on it. It relies on one aiohttp internal (``AppRunner._make_server``, which runs
the app's start-up): the tests that start a gateway fail at once if an upgrade changes it.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from typing import Any

from aiohttp import web

from olga_cli.server.app_keys import routes_of
from olga_cli.server.http1 import HttpServer
from olga_cli.server.wire import HTTP_LIMITS

__all__ = ["HTTP_LIMITS", "OlgaRunner", "run_app"]


class OlgaRunner(web.AppRunner):
    """``web.AppRunner`` whose sites serve with olga's own HTTP server."""

    async def _make_server(self) -> web.Server:
        await super()._make_server()  # the app's start-up, as aiohttp runs it
        router, max_body = routes_of(self.app)
        # The runner asks of its server only what ``HttpServer`` has: a protocol factory for the
        # sites, ``pre_shutdown`` and ``shutdown`` for a graceful stop.
        return HttpServer(self.app, router, max_body)  # type: ignore[return-value]


def run_app(
    app: web.Application,
    *,
    host: str,
    port: int,
    print: Callable[..., None],
    shutdown_timeout: float,
    reuse_port: bool = False,
    **runner_options: Any,
) -> None:
    """``web.run_app`` on an ``OlgaRunner``: serve until SIGINT or SIGTERM (with
    ``handle_signals=True``), then shut down gracefully."""
    loop = asyncio.new_event_loop()
    main = loop.create_task(_serve(app, host, port, print, shutdown_timeout, reuse_port, runner_options))
    try:
        asyncio.set_event_loop(loop)
        loop.run_until_complete(main)
    except (web.GracefulExit, KeyboardInterrupt):
        pass
    finally:
        try:
            main.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                loop.run_until_complete(main)
        finally:
            _cancel_rest(loop)
            loop.run_until_complete(loop.shutdown_asyncgens())
            loop.close()
            asyncio.set_event_loop(None)


async def _serve(
    app: web.Application,
    host: str,
    port: int,
    ready: Callable[..., None],
    shutdown_timeout: float,
    reuse_port: bool,
    options: dict[str, Any],
) -> None:
    runner = OlgaRunner(app, shutdown_timeout=shutdown_timeout, **options)
    await runner.setup()
    try:
        # reuse_port: the workers of `olga serve --workers N` share one port.
        await web.TCPSite(runner, host, port, reuse_port=reuse_port or None).start()
        ready()
        await asyncio.Event().wait()  # until a signal ends the loop (GracefulExit)
    finally:
        await runner.cleanup()


def _cancel_rest(loop: asyncio.AbstractEventLoop) -> None:
    tasks = asyncio.all_tasks(loop)
    for task in tasks:
        task.cancel()
    loop.run_until_complete(asyncio.gather(*tasks, return_exceptions=True))
