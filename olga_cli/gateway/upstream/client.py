"""Talking to providers: pooled keep-alive connections (``http1.Client``), and the in-process mock.

``Upstreams.send`` returns an ``UpstreamReply`` as soon as the provider's status and headers arrive;
the body is then read whole (``read``) or chunk by chunk as it arrives (``chunks``), each read bounded
by the provider's idle timeout. Closing a reply before its end drops the connection, which is how a
cancelled request is cancelled upstream too.
"""

from __future__ import annotations

import asyncio
import functools
import json
from collections.abc import AsyncIterator, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import yarl

from olga_cli import jsonwire
from olga_cli.config import ProviderConfig
from olga_cli.errors import ConnectFailed, ConnectTimedOut, LinkError, SSETooLarge, UpstreamFailure
from olga_cli.gateway.upstream import http1
from olga_cli.providers import mock
from olga_cli.providers.sse import DEFAULT_MAX_EVENT, DEFAULT_MAX_LINE, SSEEvent, SSEParser

ANTHROPIC_VERSION = "2023-06-01"


@dataclass(frozen=True, slots=True)
class ProviderKey:
    label: str
    value: str | None


MIB = 1024 * 1024


@dataclass(slots=True)
class UpstreamReply:
    """A provider's answer as it arrives, read within its limits.

    The idle timer counts events, not bytes: a provider that keeps the connection alive with SSE
    comments or pings, or trickles a byte a second, is as silent as one that sends nothing. The total
    timer (``deadline``) runs from the request's arrival at olga, so retries never extend it, and
    nothing the provider sends resets it. Bytes are counted after decompression, so a small gzipped body
    that expands without end is refused at ``max_bytes``; events and lines have their own limits.
    """

    status: int
    headers: Mapping[str, str]
    idle_timeout: float
    _response: http1.Response | None = None
    _body: bytes | None = None
    _chunks: Iterator[bytes] | None = None
    closed: bool = field(default=False)
    total_timeout: float = 900.0
    max_bytes: int = 128 * MIB
    max_event: int = DEFAULT_MAX_EVENT
    max_line: int = DEFAULT_MAX_LINE
    deadline: float = float("inf")  # loop time by which the whole answer must be in
    _quiet_since: float | None = None  # loop time of the last event (or of the headers)
    _received: int = 0
    _parser: SSEParser | None = None

    @property
    def content_type(self) -> str:
        return self.headers.get("Content-Type", "application/json").split(";")[0].strip()

    @property
    def is_event_stream(self) -> bool:
        return self.content_type == "text/event-stream"

    async def read(self) -> bytes:
        """The whole body, within ``max_bytes``; here every byte resets the idle timer (no events)."""
        if self._body is not None:
            return self._body
        if self._chunks is not None:
            return b"".join(self._chunks)
        assert self._response is not None
        parts: list[bytes] = []
        try:
            while chunk := await self._next(self._response):
                parts.append(chunk)
                self._quiet_since = asyncio.get_running_loop().time()
        except LinkError as exc:
            raise UpstreamFailure("disconnected", f"the provider dropped the connection: {exc}") from None
        finally:
            self.close()
        return b"".join(parts)

    async def events(self) -> AsyncIterator[list[SSEEvent]]:
        """The stream's events, in the batches the network delivers them (see ``flush_events``)."""
        self._parser = parser = SSEParser(max_event=self.max_event, max_line=self.max_line)
        async for chunk in self._chunk_stream():
            try:
                events = parser.feed(chunk)
            except SSETooLarge as exc:
                raise UpstreamFailure("too_large", f"{exc} (limit: max_event_mb / max_line_mb)") from None
            if events:
                if any(event.event != "ping" for event in events):  # Anthropic's keep-alive event
                    self._quiet_since = asyncio.get_running_loop().time()
                yield events

    def flush_events(self) -> list[SSEEvent]:
        """The last event of a stream that ended without its blank line."""
        return self._parser.flush() if self._parser is not None else []

    async def _chunk_stream(self) -> AsyncIterator[bytes]:
        if self._chunks is not None:
            for chunk in self._chunks:
                yield chunk
            return
        if self._body is not None:
            yield self._body
            return
        assert self._response is not None
        content = self._response
        while True:
            try:
                chunk = await self._next(content)
            except LinkError as exc:
                raise UpstreamFailure("disconnected", f"the provider dropped the stream: {exc}") from None
            if not chunk:
                return
            yield chunk

    async def _next(self, content: http1.Response) -> bytes:
        """The next bytes, within the idle and total timers and the size limit (b"" at the end)."""
        if self._quiet_since is None:
            self._quiet_since = asyncio.get_running_loop().time()
        chunk = content.read_nowait()  # a whole answer is usually in with its headers: no timer needed
        if chunk is None:
            chunk = await self._wait(content)
        self._received += len(chunk)
        if self._received > self.max_bytes:
            raise UpstreamFailure(
                "too_large",
                f"the provider's answer is larger than {self.max_bytes / MIB:g} MiB once decompressed "
                "(limit: max_response_mb)",
            )
        return chunk

    async def _wait(self, content: http1.Response) -> bytes:
        """The next bytes once they come, within the idle and total timers."""
        assert self._quiet_since is not None
        idle_at = self._quiet_since + self.idle_timeout
        try:
            async with asyncio.timeout_at(min(idle_at, self.deadline)):
                return await content.readany()
        except TimeoutError:
            if self.deadline <= idle_at:
                raise UpstreamFailure(
                    "total_timeout",
                    f"the request took longer than {self.total_timeout:g}s (total_timeout), attempts included",
                ) from None
            raise UpstreamFailure(
                "idle_timeout", f"the provider sent no event for {self.idle_timeout:g}s (idle_timeout)"
            ) from None

    def close(self) -> None:
        if not self.closed:
            self.closed = True
            if self._response is not None:
                self._response.close()


@functools.lru_cache(maxsize=256)
def _url(text: str) -> yarl.URL:
    """The URL parsed once: a provider's few paths come back on every request."""
    return yarl.URL(text)


class Upstreams:
    """Owns the connection pools; closed once, when the server stops."""

    def __init__(self) -> None:
        self._client = http1.Client()

    async def close(self) -> None:
        await self._client.close()

    async def send(
        self,
        provider: ProviderConfig,
        key: ProviderKey | None,
        path: str,
        body: dict[str, Any],
        *,
        extra_headers: Mapping[str, str] | None = None,
        method: str = "POST",
        spans: jsonwire.Spans | None = None,
        arrived: float | None = None,
    ) -> UpstreamReply:
        """The provider's reply, once its status and headers are in. ``arrived`` (loop time) is when
        the request reached olga: the provider's ``total_timeout`` runs from then, across attempts.
        ``spans`` writes the body's unchanged large members as the caller sent them."""
        if provider.kind == "mock":
            return _mock_reply(path, body)
        headers = {"Content-Type": "application/json", "Accept": "*/*", "Accept-Encoding": "gzip, deflate"}
        if extra_headers:
            headers.update(extra_headers)
        if key is not None and key.value:
            if provider.auth == "bearer":
                headers["Authorization"] = f"Bearer {key.value}"
            elif provider.auth != "none":
                headers[provider.auth] = key.value  # x-api-key, api-key (Azure), x-goog-api-key (Gemini)
        if provider.kind == "anthropic":
            headers.setdefault("anthropic-version", ANTHROPIC_VERSION)
        url = _url(provider.base_url + path)
        if method in ("GET", "DELETE"):
            data = None
        else:
            data = jsonwire.dumps(body) if spans is None else spans.dumps(body)
        now = asyncio.get_running_loop().time()
        deadline = (now if arrived is None else arrived) + provider.total_timeout
        if deadline <= now:
            raise _past_total(provider)
        first_byte = min(provider.first_byte_timeout, deadline - now)
        try:
            async with asyncio.timeout(first_byte):
                # A provider's redirect is never followed: the request carries its key, and an answer
                # from elsewhere is not the provider's (the 3xx is recorded as its error instead).
                response = await self._client.request(
                    method, url, headers, data, connect_timeout=provider.connect_timeout
                )
        except TimeoutError:
            if first_byte < provider.first_byte_timeout:
                raise _past_total(provider) from None
            raise UpstreamFailure(
                "first_byte_timeout",
                f"{provider.name} did not answer within {first_byte:g}s",
            ) from None
        except ConnectTimedOut as exc:
            raise UpstreamFailure(
                "connect_timeout", f"connecting to {provider.name} timed out: {exc}", before_send=True
            ) from None
        except ConnectFailed as exc:
            raise UpstreamFailure(
                "connect", f"cannot connect to {provider.name}: {exc}", before_send=True
            ) from None
        except LinkError as exc:
            raise UpstreamFailure("disconnected", f"{provider.name} dropped the connection: {exc}") from None
        return UpstreamReply(
            response.status,
            response.headers,
            provider.idle_timeout,
            _response=response,
            total_timeout=provider.total_timeout,
            max_bytes=int(provider.max_response_mb * MIB),
            max_event=int(provider.max_event_mb * MIB),
            max_line=int(provider.max_line_mb * MIB),
            deadline=deadline,
        )


def _past_total(provider: ProviderConfig) -> UpstreamFailure:
    return UpstreamFailure(
        "total_timeout",
        f"the request took longer than {provider.total_timeout:g}s (total_timeout), attempts included",
    )


def _mock_reply(path: str, body: dict[str, Any]) -> UpstreamReply:
    model = str(body.get("model") or "echo")
    if path == "/chat/completions":
        if body.get("stream"):
            return UpstreamReply(
                200, {"Content-Type": "text/event-stream"}, 60.0, _chunks=mock.chat_stream(body, model)
            )
        payload = mock.chat_completion(body, model)
    elif path == "/embeddings":
        payload = mock.embeddings(body, model)
    else:
        error = {
            "error": {
                "message": f"The mock provider does not serve {path}.",
                "type": "invalid_request_error",
                "param": None,
                "code": "not_found",
            }
        }
        return UpstreamReply(
            404, {"Content-Type": "application/json"}, 60.0, _body=json.dumps(error).encode()
        )
    return UpstreamReply(200, {"Content-Type": "application/json"}, 60.0, _body=json.dumps(payload).encode())
