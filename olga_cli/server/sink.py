"""The pipeline's ``Sink`` on olga's own server: a whole answer, or a stream written as it comes."""

from __future__ import annotations

from collections.abc import Mapping

from olga_cli.errors import ClientGone
from olga_cli.server.request import Request

NOTHING, WHOLE, STREAMING, ENDED = range(4)  # what has gone out


class ConnectionSink:
    __slots__ = ("_connection", "request", "state")

    def __init__(self, request: Request) -> None:
        self.request = request
        self._connection = request.connection
        self.state = NOTHING

    @property
    def started(self) -> bool:
        return self.state != NOTHING

    async def send(self, status: int, headers: Mapping[str, str], body: bytes) -> None:
        self._expect(NOTHING)
        self.state = WHOLE
        self._connection.respond(self.request, status, headers, body)

    async def start(self, status: int, headers: Mapping[str, str]) -> None:
        self._expect(NOTHING)
        if self._connection.gone():
            raise ClientGone()
        self.state = STREAMING
        # Streams go out unbuffered and uncompressed, so nothing between olga and the caller holds them.
        self._connection.start(self.request, status, headers)

    async def write(self, data: bytes) -> None:
        self._expect(STREAMING)
        if not data:
            return
        try:
            await self._connection.write(data)
        except ConnectionError as exc:
            raise ClientGone() from exc

    async def end(self) -> None:
        self._expect(STREAMING)
        self.state = ENDED
        try:
            self._connection.end()
        except ConnectionError as exc:
            raise ClientGone() from exc

    def gone(self) -> bool:
        return self._connection.gone()

    def _expect(self, state: int) -> None:
        # A second answer, or a word after the end, would be read as the start of the next one.
        if self.state != state:
            raise RuntimeError(f"the answer is {('not started', 'sent', 'streaming', 'ended')[self.state]}")
