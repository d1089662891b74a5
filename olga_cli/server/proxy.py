"""The proxied API routes: hand the call, its body read within the size limit, to the pipeline."""

from __future__ import annotations

import logging
import time

from olga_cli.errors import InternalError
from olga_cli.gateway import pipeline
from olga_cli.gateway.call import Call
from olga_cli.gateway.error_response import ErrorShape
from olga_cli.gateway.unexpected import UNEXPECTED, end_stream, stream_error_tail
from olga_cli.gateway.upstream.exchange import Api
from olga_cli.server.app_keys import gateway_of
from olga_cli.server.edge import readable_headers
from olga_cli.server.request import Handler, Request, Response
from olga_cli.server.sink import STREAMING, ConnectionSink

log = logging.getLogger("olga.server")


def proxy_handler(api: Api, shape: ErrorShape) -> Handler:
    async def handle(request: Request) -> Response | None:
        received = time.perf_counter()
        gateway = gateway_of(request.app)
        call = Call(
            api=api,
            shape=shape,
            endpoint=request.path,
            headers=readable_headers(request.headers),
            raw_body=request.body,
            provider=request.match_info.get("provider"),
            received=received,
            query=request.query_string,
            can_stream=request.version >= (1, 1),  # chunked transfer is HTTP/1.1's
        )
        call.error = request.body_error  # answered after authentication
        sink = ConnectionSink(request)
        try:
            await pipeline.handle(gateway, call, sink)
        except Exception:
            if not sink.started:
                raise  # nothing sent yet: the server answers a JSON 500 in the route's shape
            log.exception("unexpected error on %s after its answer began", request.path)
            if sink.state == STREAMING:  # never a second answer inside a stream: an error event ends it
                await end_stream(sink, stream_error_tail(api, InternalError(UNEXPECTED)))
        return None  # answered through the sink (or not at all: the caller left before any byte was due)

    return handle
