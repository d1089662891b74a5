"""Server-Sent Events: an incremental parser that keeps each event's raw bytes, and an encoder.

olga forwards a provider's stream event by event, as each event completes, so it must find event
boundaries in arbitrary network chunks without buffering the stream. The raw bytes of every event are
kept so that an event olga does not need to change is forwarded byte for byte.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from olga_cli import jsonwire


@dataclass(frozen=True, slots=True)
class SSEEvent:
    """One event: its ``event:`` name (None when absent), its joined ``data:`` lines, its raw bytes."""

    event: str | None
    data: str
    raw: bytes = b""

    def json(self) -> Any:
        return json.loads(self.data)


class SSEParser:
    """Feed network chunks, get back the events they complete."""

    __slots__ = ("_buffer",)

    def __init__(self) -> None:
        self._buffer = b""

    def feed(self, chunk: bytes) -> list[SSEEvent]:
        buffer = self._buffer + chunk
        if b"\r" in buffer:
            # Normalise CRLF and lone CR line endings; rare in practice, so the common path skips it.
            buffer = buffer.replace(b"\r\n", b"\n").replace(b"\r", b"\n")
        events: list[SSEEvent] = []
        start = 0
        while True:
            end = buffer.find(b"\n\n", start)
            if end < 0:
                break
            raw = buffer[start : end + 2]
            start = end + 2
            event = parse_event(raw)
            if event is not None:
                events.append(event)
        self._buffer = buffer[start:]
        return events

    def flush(self) -> list[SSEEvent]:
        """The last event of a stream that ended without a blank line."""
        rest, self._buffer = self._buffer, b""
        if not rest.strip():
            return []
        event = parse_event(rest + b"\n\n" if not rest.endswith(b"\n") else rest + b"\n")
        return [event] if event is not None else []

    @property
    def pending(self) -> bytes:
        return self._buffer


def parse_event(raw: bytes) -> SSEEvent | None:
    """Parse one event block; None for a block of comments only (a keep-alive)."""
    name: str | None = None
    data: list[str] = []
    for line in raw.decode("utf-8", errors="replace").split("\n"):
        if not line or line.startswith(":"):
            continue
        field_name, _, value = line.partition(":")
        if value.startswith(" "):
            value = value[1:]
        if field_name == "data":
            data.append(value)
        elif field_name == "event":
            name = value
    if name is None and not data:
        return None
    return SSEEvent(name, "\n".join(data), raw)


def encode_event(data: Any, *, event: str | None = None) -> bytes:
    """Encode one event; ``data`` is serialised as compact JSON unless it is already a string."""
    text = data if isinstance(data, str) else jsonwire.dumps_text(data)
    head = f"event: {event}\n" if event is not None else ""
    return f"{head}data: {text}\n\n".encode()


DONE = b"data: [DONE]\n\n"
