"""The proxied API routes: read the body within the size limit, hand the call to the pipeline."""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable

from aiohttp import HttpVersion11, web

from olga_cli.errors import ClientGone, InternalError
from olga_cli.gateway import pipeline
from olga_cli.gateway.call import Call
from olga_cli.gateway.error_response import ErrorShape
from olga_cli.gateway.unexpected import UNEXPECTED, stream_error_tail
from olga_cli.gateway.upstream.exchange import Api
from olga_cli.server.aiohttp_sink import AiohttpSink
from olga_cli.server.app_keys import gateway_of
from olga_cli.server.edge import read_body, readable_headers

log = logging.getLogger("olga.server")

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def proxy_handler(api: Api, shape: ErrorShape) -> Handler:
    async def handle(request: web.Request) -> web.StreamResponse:
        received = time.perf_counter()
        gateway = gateway_of(request.app)
        raw, unreadable = await read_body(request, gateway.config.max_body_bytes)
        call = Call(
            api=api,
            shape=shape,
            endpoint=request.path,
            headers=readable_headers(request.headers),
            raw_body=raw,
            provider=request.match_info.get("provider"),
            received=received,
            query=request.query_string,
            can_stream=request.version >= HttpVersion11,  # chunked transfer is HTTP/1.1's
        )
        call.error = unreadable  # answered after authentication
        sink = AiohttpSink(request)
        try:
            await pipeline.handle(gateway, call, sink)
        except Exception:
            if sink.response is None or not sink.response.prepared:
                raise  # nothing sent yet: the middleware answers a JSON 500 in the route's shape
            # Never a second response inside a started stream: end it with an error event instead.
            log.exception("unexpected error on %s after its stream began", request.path)
            await _end_stream(sink, stream_error_tail(api, InternalError(UNEXPECTED)))
        return sink.result()

    return handle


async def _end_stream(sink: AiohttpSink, tail: bytes) -> None:
    try:
        await sink.write(tail)
        await sink.end()
    except (ClientGone, RuntimeError):
        pass  # the caller has gone, or the stream had ended: nothing more can reach them
