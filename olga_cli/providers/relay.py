"""What every response path reports back to the gateway, whatever the API pair."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

from olga_cli.providers.sse import SSEEvent
from olga_cli.providers.translate_common import StreamTranslator
from olga_cli.providers.usage import Usage


@dataclass(slots=True)
class Facts:
    """What the gateway meters and records from a response."""

    usage: Usage | None = None
    finish_reason: str | None = None
    upstream_id: str | None = None
    model: str | None = None
    text: str = ""
    error: str | None = None  # the provider's own error event mid-stream, in its words


def error_message(payload: Any) -> str:
    """The message of an error object in either API's shape (``{"error": {"message": ...}}``)."""
    error = payload.get("error", payload) if isinstance(payload, dict) else payload
    if isinstance(error, dict):
        return str(error.get("message") or error.get("type") or error.get("code") or "error")[:300]
    return str(error)[:300]


class StreamRelay(Protocol):
    """Turns the provider's events into the caller's, collecting facts on the way.

    ``feed`` returns the bytes to send to the caller now; ``finish`` the bytes that end the stream
    (sent only after the record is committed). ``facts`` is complete once ``finish`` has run.
    A relay that knows how its caller's API ends a broken stream also has ``fail`` (see
    ``TranslatedRelay``); the pipeline uses it when present.
    """

    @property
    def facts(self) -> Facts: ...

    def feed(self, event: SSEEvent) -> list[bytes]: ...

    def finish(self) -> list[bytes]: ...


class TranslatedRelay:
    """A stream translator (``providers.translate.stream_translator``) as a ``StreamRelay``."""

    __slots__ = ("_translator",)

    def __init__(self, translator: StreamTranslator) -> None:
        self._translator = translator

    @property
    def facts(self) -> Facts:
        t = self._translator
        error = None if t.error is None else error_message(t.error)
        return Facts(
            usage=t.usage, finish_reason=t.finish_reason, upstream_id=t.upstream_id, text=t.text, error=error
        )

    def feed(self, event: SSEEvent) -> list[bytes]:
        return self._translator.feed(event)

    def finish(self) -> list[bytes]:
        return self._translator.finish()

    def fail(self, message: str, *, type: str = "api_error", code: str | None = None) -> list[bytes]:
        return self._translator.fail(message, type=type, code=code)
