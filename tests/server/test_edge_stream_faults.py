"""No 500 inside a stream: an exception driven at every stage of the stream relay ends the request the
way a client can read it. Before the first byte it is a JSON 500 ``internal_error`` in the route's
shape; after it, the stream ends with a well-formed error event of the route's API. The request is
recorded, and the server stays healthy."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import aiohttp
import pytest

from olga_cli.gateway import finish, pipeline
from olga_cli.gateway.relay import streaming
from olga_cli.gateway.upstream import client
from olga_cli.providers.sse import SSEParser
from olga_cli.server.sink import ConnectionSink
from tests.fakes.openai_upstream import Script
from tests.server.translation_support import Olga, fake_anthropic, olga

__all__ = ["fake_anthropic", "olga"]

ROUTES = {
    "chat": ("/v1/chat/completions", {"model": "openai/gpt-4o-mini", "messages": [{"role": "user", "content": "hi"}]}),
    "messages": ("/v1/messages", {"model": "anthropic/claude-haiku-4-5", "max_tokens": 64, "messages": [{"role": "user", "content": "hi"}]}),
    "responses": ("/v1/responses", {"model": "openai/gpt-4o-mini", "input": "hi"}),
    "translated": ("/v1/chat/completions", {"model": "anthropic/claude-haiku-4-5", "messages": [{"role": "user", "content": "hi"}]}),
}  # fmt: skip


class Boom(Exception):
    """The injected fault."""


def failing_after(calls: int, original: Callable[..., Any]) -> Callable[..., Any]:
    """``original``, raising ``Boom`` on its ``calls``-th call (1-based)."""
    seen = 0

    def wrapper(*args: Any, **kwargs: Any) -> Any:
        nonlocal seen
        seen += 1
        if seen >= calls:
            raise Boom(f"injected at call {seen}")
        return original(*args, **kwargs)

    return wrapper


def async_failing(original: Callable[..., Any]) -> Callable[..., Any]:
    async def wrapper(*args: Any, **kwargs: Any) -> Any:
        raise Boom("injected")

    return wrapper


class ExplodingParser(SSEParser):
    """Parses the first chunks, then raises: a bug in the middle of a stream."""

    def feed(self, chunk: bytes) -> Any:
        self.calls = getattr(self, "calls", 0) + 1
        if self.calls >= 3:
            raise Boom("parser")
        return super().feed(chunk)


# stage -> (how to inject it, whether the caller has seen the first byte when it fires)
STAGES: dict[str, tuple[Callable[[pytest.MonkeyPatch], None], bool]] = {
    "screening input": (lambda mp: mp.setattr(pipeline, "screen", failing_after(1, pipeline.screen)), False),
    "building the upstream request": (
        lambda mp: mp.setattr(pipeline, "make_exchange", failing_after(1, pipeline.make_exchange)),
        False,
    ),
    "starting the caller's stream": (
        lambda mp: mp.setattr(streaming.StreamAnswer, "_begin", async_failing(streaming.StreamAnswer._begin)),
        False,
    ),
    "parsing a chunk mid-stream": (lambda mp: mp.setattr(client, "SSEParser", ExplodingParser), True),
    "finishing the relay": (
        lambda mp: mp.setattr(streaming.StreamAnswer, "end", async_failing(streaming.StreamAnswer.end)),
        True,
    ),
    "filling the record": (lambda mp: mp.setattr(streaming, "fill", failing_after(1, finish.fill)), True),
    "writing to the caller": (
        lambda mp: mp.setattr(ConnectionSink, "write", _write_failing_after(3)),
        True,
    ),
}


def _write_failing_after(calls: int) -> Callable[..., Any]:
    original = ConnectionSink.write
    seen = 0

    async def write(self: ConnectionSink, data: bytes) -> None:
        nonlocal seen
        seen += 1
        if seen == calls:
            raise Boom("sink")
        await original(self, data)

    return write


def events_of(raw: bytes) -> list[tuple[str | None, str]]:
    """(event name, data) of each SSE event; asserts the stream is well formed."""
    text = raw.decode("utf-8")
    assert "HTTP/1.1" not in text, "a second response was written inside the stream"
    assert text.endswith("\n\n"), f"the stream ends mid-event: {text[-200:]!r}"
    out = []
    for block in text.strip("\n").split("\n\n"):
        name, data = None, []
        for line in block.split("\n"):
            if line.startswith("event:"):
                name = line.split(":", 1)[1].strip()
            elif line.startswith("data:"):
                data.append(line.split(":", 1)[1].strip())
        if data:
            out.append((name, "\n".join(data)))
    return out


def assert_error_ending(route: str, events: list[tuple[str | None, str]]) -> None:
    if route in ("chat", "translated"):
        assert events[-1][1] == "[DONE]"
        error = json.loads(events[-2][1])["error"]
        assert error["code"] == "internal_error" and error["message"]
    elif route == "messages":
        assert events[-1][0] == "error"
        assert json.loads(events[-1][1])["error"]["type"] == "api_error"
    else:
        assert events[-1][0] == "error"
        assert json.loads(events[-1][1])["code"] == "internal_error"


@pytest.mark.parametrize("stage", list(STAGES))
@pytest.mark.parametrize("route", list(ROUTES))
async def test_an_exception_at_any_stage_never_breaks_the_stream(
    olga: Olga, monkeypatch: pytest.MonkeyPatch, route: str, stage: str
) -> None:
    path, body = ROUTES[route]
    inject, after_first_byte = STAGES[stage]
    # Events a few milliseconds apart, so that the caller's stream is written in several parts.
    olga.openai_fake.script(Script(chunk_delay=0.01, reply="one two three four five six"))
    olga.anthropic_fake.reply(event_delay=0.01)
    inject(monkeypatch)
    headers = {"Authorization": f"Bearer {olga.key}"}
    async with aiohttp.ClientSession() as session:
        async with session.post(olga.url + path, json={**body, "stream": True}, headers=headers) as reply:
            status, content_type, raw = reply.status, reply.headers["Content-Type"], await reply.read()
            generation_id = reply.headers.get("x-olga-generation-id")
    if after_first_byte:
        assert status == 200 and content_type.startswith("text/event-stream")
        assert_error_ending(route, events_of(raw))
    else:
        assert status == 500 and content_type.startswith("application/json")
        error = json.loads(raw)
        if route == "messages":
            assert error["type"] == "error" and error["error"]["type"] == "api_error"
        else:
            assert error["error"]["code"] == "internal_error"
    monkeypatch.undo()
    assert generation_id is not None
    record = await olga.generation(generation_id)
    assert record["status"] == 500 and record["error"] == "internal_error"
    # The server is healthy after: the same request streams normally.
    async with aiohttp.ClientSession() as session:
        async with session.post(olga.url + path, json={**body, "stream": True}, headers=headers) as reply:
            assert reply.status == 200
            events = events_of(await reply.read())
    assert not any(name == "error" or '"error"' in data[:12] for name, data in events)
