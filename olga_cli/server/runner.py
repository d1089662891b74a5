"""Running the app: aiohttp's server, with the HTTP parser's limits raised to what real clients send
and its errors answered in JSON.

aiohttp answers a request it cannot parse (a request line or header over its limit, too many
headers, a bare CR or NUL in a value) with a plain-text 400 before any handler or middleware runs.
SDKs expect a JSON error body, so olga's connections answer those in the API's error shape instead:
Anthropic's on ``/messages`` paths, OpenAI's otherwise (the request line is remembered for that).

``OlgaRunner`` is ``web.AppRunner`` with those connections; ``run_app`` is ``web.run_app`` built on it.
Both rely on two aiohttp internals (``AppRunner._make_server``, ``Server._kwargs``): the tests that
send malformed HTTP (tests/server/test_edge_protocol.py) fail if an upgrade changes them.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
from collections.abc import Callable
from typing import Any

from aiohttp import web

from olga_cli.errors import GatewayError, InternalError, InvalidRequest
from olga_cli.gateway.error_response import ErrorShape, render
from olga_cli.gateway.unexpected import UNEXPECTED

log = logging.getLogger("olga.server")

# What the HTTP parser accepts. aiohttp's defaults (8 KiB lines and header values) are below what
# real clients send: Claude Code's anthropic-beta list and long query strings. Documented in README.
HTTP_LIMITS = {
    "max_line_size": 32 * 1024,  # the request line: method, path and query string
    "max_field_size": 32 * 1024,  # one header line
    "max_headers": 128,  # header lines per request
}
_REQUEST_LINE = re.compile(rb"[A-Z]{3,10} /[^\r\n]{0,1024}")


class JsonErrorProtocol(web.RequestHandler):
    """A connection whose protocol errors are JSON in the route's API shape."""

    _request_line = b""

    def data_received(self, data: bytes) -> None:
        line = _REQUEST_LINE.match(data)
        if line is not None:  # a new request starts here: remember which API it is for
            self._request_line = line.group()
        super().data_received(data)

    def handle_error(
        self,
        request: web.BaseRequest,
        status: int = 500,
        exc: BaseException | None = None,
        message: str | None = None,
    ) -> web.StreamResponse:
        if request.writer.output_size > 0:  # as aiohttp does: part of an answer went out already
            raise ConnectionError("the response had begun; no error can be sent")
        error: GatewayError
        if status >= 500:
            log.error("unexpected error on a request", exc_info=exc)
            error = InternalError(UNEXPECTED)
        else:
            log.debug("unreadable HTTP request: %s", message, exc_info=exc)
            # The parser's own message quotes the offending bytes (a header may hold a key): its
            # first clause says enough.
            what = str(message or exc or "malformed request").split(":", 1)[0].strip()
            error = InvalidRequest(
                f"olga could not read this HTTP request ({what}). A request line "
                f"may be up to {HTTP_LIMITS['max_line_size']} bytes, a header line up to "
                f"{HTTP_LIMITS['max_field_size']}, with at most {HTTP_LIMITS['max_headers']} headers, "
                "and header values may not hold CR, LF or NUL."
            )
            error.status = status
        shape: ErrorShape = "anthropic" if b"/messages" in self._request_line else "openai"
        status, headers, body = render(shape, error)
        response = web.Response(status=status, headers=headers, body=body)
        response.force_close()
        return response


class _JsonErrorServer(web.Server):
    def __call__(self) -> web.RequestHandler:
        return JsonErrorProtocol(self, loop=self._loop, **self._kwargs)


class OlgaRunner(web.AppRunner):
    """``web.AppRunner`` whose connections answer protocol errors in JSON."""

    async def _make_server(self) -> web.Server:
        server = await super()._make_server()
        server.__class__ = _JsonErrorServer  # same state, one method more: no copy of aiohttp's setup
        return server


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
