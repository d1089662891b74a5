"""Server-Sent Events: an incremental parser that keeps each event's raw bytes, and an encoder.

olga forwards a provider's stream event by event, as each event completes, so it must find event
boundaries in arbitrary network chunks without buffering the stream. The raw bytes of every event are
kept so that an event olga does not need to change is forwarded byte for byte.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from olga_cli import jsonwire
from olga_cli.errors import SSETooLarge


@dataclass(frozen=True, slots=True)
class SSEEvent:
    """One event: its ``event:`` name (None when absent), its joined ``data:`` lines, its raw bytes."""

    event: str | None
    data: str
    raw: bytes = b""

    def json(self) -> Any:
        return jsonwire.loads_event(self.data)


MIB = 1024 * 1024
DEFAULT_MAX_EVENT = 32 * MIB
DEFAULT_MAX_LINE = 16 * MIB


class SSEParser:
    """Feed network chunks, get back the events they complete.

    An event spread over many chunks is kept as a list of pieces and joined once, when it completes,
    and only new bytes are searched for its end: a provider sending one endless line costs olga time
    in proportion to its bytes (never their square) and memory up to ``max_event`` bytes, after which
    ``feed`` raises ``SSETooLarge`` (as it does for a line longer than ``max_line``).
    """

    __slots__ = ("_cr", "_line", "_pending", "_size", "max_event", "max_line")

    def __init__(self, *, max_event: int = DEFAULT_MAX_EVENT, max_line: int = DEFAULT_MAX_LINE) -> None:
        self.max_event = max_event
        self.max_line = max_line
        self._pending: list[bytes] = []  # an incomplete event, in pieces
        self._size = 0  # bytes in _pending
        self._line = 0  # length of its last, unfinished line
        self._cr = False  # the last chunk ended in "\r", whose "\n" may begin the next

    def feed(self, chunk: bytes) -> list[SSEEvent]:
        if self._cr or b"\r" in chunk:
            chunk = self._normalise(chunk)  # rare in practice, so the common path skips it
        if not chunk:
            return []
        if not self._pending:
            return self._complete(chunk)
        # The end of the pending event may straddle the boundary: its last byte, then this chunk.
        end = (self._pending[-1][-1:] + chunk).find(b"\n\n")
        if end < 0:
            self._keep(chunk)
            return []
        raw = b"".join(self._pending) + chunk[: end + 1]
        self._pending, self._size, self._line = [], 0, 0
        event = parse_event(raw)
        events = self._complete(chunk[end + 1 :])
        return [event, *events] if event is not None else events

    def _complete(self, buffer: bytes) -> list[SSEEvent]:
        """The events complete in ``buffer`` (nothing pending before it); the rest is kept."""
        events: list[SSEEvent] = []
        start = 0
        while True:
            end = buffer.find(b"\n\n", start)
            if end < 0:
                break
            event = parse_event(buffer[start : end + 2])
            start = end + 2
            if event is not None:
                events.append(event)
        if start < len(buffer):
            self._keep(buffer[start:] if start else buffer)
        return events

    def _keep(self, piece: bytes) -> None:
        self._pending.append(piece)
        self._size += len(piece)
        if self._size > self.max_event:
            raise SSETooLarge(f"the provider sent an SSE event of more than {self.max_event / MIB:g} MiB")
        last = piece.rfind(b"\n")
        if last < 0:
            self._line += len(piece)
            longest = self._line
        else:
            longest = self._line + piece.find(b"\n")  # the line this piece finishes
            if len(piece) > self.max_line:  # a huge piece may hold a long line in its middle too
                longest = max(longest, *(len(line) for line in piece.split(b"\n")))
            self._line = len(piece) - last - 1
            longest = max(longest, self._line)
        if longest > self.max_line:
            raise SSETooLarge(f"the provider sent an SSE line of more than {self.max_line / MIB:g} MiB")

    def _normalise(self, chunk: bytes) -> bytes:
        """CRLF and lone CR line endings as LF, a CRLF split across two chunks included."""
        if self._cr and chunk.startswith(b"\n"):
            chunk = chunk[1:]
        self._cr = chunk.endswith(b"\r")
        return chunk.replace(b"\r\n", b"\n").replace(b"\r", b"\n")

    def flush(self) -> list[SSEEvent]:
        """The last event of a stream that ended without a blank line."""
        rest = b"".join(self._pending)
        self._pending, self._size, self._line = [], 0, 0
        if not rest.strip():
            return []
        event = parse_event(rest + b"\n\n" if not rest.endswith(b"\n") else rest + b"\n")
        return [event] if event is not None else []

    @property
    def pending(self) -> bytes:
        return b"".join(self._pending)


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
