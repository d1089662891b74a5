"""Where a response goes: the server adapter implements this for an aiohttp request."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Protocol


class Sink(Protocol):
    async def send(self, status: int, headers: Mapping[str, str], body: bytes) -> None:
        """A whole response at once."""

    async def start(self, status: int, headers: Mapping[str, str]) -> None:
        """Status and headers of a streamed response."""

    async def write(self, data: bytes) -> None:
        """Part of a streamed response, sent now; raises ``ClientGone``."""

    async def end(self) -> None:
        """The end of a streamed response."""

    def gone(self) -> bool:
        """True once the caller has disconnected."""
