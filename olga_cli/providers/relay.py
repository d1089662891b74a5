"""What every response path reports back to the gateway, whatever the API pair."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from olga_cli.providers.sse import SSEEvent
from olga_cli.providers.usage import Usage


@dataclass(slots=True)
class Facts:
    """What the gateway meters and records from a response."""

    usage: Usage | None = None
    finish_reason: str | None = None
    upstream_id: str | None = None
    model: str | None = None
    text: str = ""


class StreamRelay(Protocol):
    """Turns the provider's events into the caller's, collecting facts on the way.

    ``feed`` returns the bytes to send to the caller now; ``finish`` the bytes that end the stream
    (sent only after the record is committed). ``facts`` is complete once ``finish`` has run.
    """

    facts: Facts

    def feed(self, event: SSEEvent) -> list[bytes]: ...

    def finish(self) -> list[bytes]: ...
