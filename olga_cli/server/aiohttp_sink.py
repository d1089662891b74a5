"""The pipeline's ``Sink`` for an aiohttp request: whole responses or a stream written as it comes."""

from __future__ import annotations

from collections.abc import Mapping

from aiohttp import web

from olga_cli.errors import ClientGone


class AiohttpSink:
    __slots__ = ("_transport", "request", "response")

    def __init__(self, request: web.Request) -> None:
        self.request = request
        self.response: web.StreamResponse | None = None
        # The caller's connection, kept: ``gone`` runs for every caller in flight at every tick of
        # ``CallerWatch``, and asking the request for it each time was most of that cost (2,000 open
        # streams: 11 % of the loop's time). aiohttp forgets the transport once the connection is lost,
        # but a lost transport was closed first, so it says ``is_closing()`` for good.
        self._transport = request.transport

    def result(self) -> web.StreamResponse:
        """What the handler returns: the response sent, or (when the pipeline ended without one, which
        only a caller who left before any byte was due can cause) an empty 499 nobody will read."""
        if self.response is None:
            self.response = web.Response(status=499)
        return self.response

    async def send(self, status: int, headers: Mapping[str, str], body: bytes) -> None:
        self.response = web.Response(status=status, headers=dict(headers), body=body)

    async def start(self, status: int, headers: Mapping[str, str]) -> None:
        response = web.StreamResponse(status=status, headers=dict(headers))
        # Streams go out unbuffered and uncompressed, so nothing between olga and the caller holds them.
        response.enable_chunked_encoding()
        self.response = response
        try:
            await response.prepare(self.request)
        except (ConnectionError, RuntimeError) as exc:
            raise ClientGone() from exc

    async def write(self, data: bytes) -> None:
        assert self.response is not None
        if not data:
            return
        try:
            await self.response.write(data)
        except (ConnectionError, RuntimeError) as exc:
            raise ClientGone() from exc

    async def end(self) -> None:
        assert self.response is not None
        try:
            await self.response.write_eof()
        except (ConnectionError, RuntimeError) as exc:
            raise ClientGone() from exc

    def gone(self) -> bool:
        transport = self._transport
        return transport is None or transport.is_closing()
