"""A stream the provider broke off ends with one well-formed error event in the caller's API."""

from __future__ import annotations

import json

from olga_cli.errors import UpstreamFailure
from olga_cli.gateway.relay.streaming import broken_stream_tail
from olga_cli.providers.openai import ChatPassthroughRelay
from olga_cli.providers.relay import Facts
from olga_cli.providers.sse import SSEParser

DROPPED = UpstreamFailure("disconnected", "the provider dropped the stream")
STALLED = UpstreamFailure("idle_timeout", "the provider sent nothing for 0.2s mid-stream")


def parse(data: bytes) -> list[tuple[str | None, dict]]:
    return [(e.event, json.loads(e.data)) for e in SSEParser().feed(data)]


def test_chat_gets_an_error_chunk_the_openai_sdk_raises_on_and_no_done() -> None:
    relay = ChatPassthroughRelay(client_wants_usage=False)
    [(event, payload)] = parse(b"".join(broken_stream_tail("chat", relay, DROPPED)))
    assert (
        event is None
        and payload["error"]["code"] == "upstream_error"
        and payload["error"]["type"] == "server_error"
    )
    assert "broke off" in payload["error"]["message"]


def test_messages_gets_anthropics_error_event() -> None:
    relay = ChatPassthroughRelay(client_wants_usage=False)
    [(event, payload)] = parse(b"".join(broken_stream_tail("messages", relay, STALLED)))
    assert event == "error" and payload["type"] == "error" and payload["error"]["type"] == "api_error"
    assert "went silent" in payload["error"]["message"]


def test_responses_gets_its_error_event_with_a_code() -> None:
    relay = ChatPassthroughRelay(client_wants_usage=False)
    [(event, payload)] = parse(b"".join(broken_stream_tail("responses", relay, STALLED)))
    assert event == "error" and payload["type"] == "error" and payload["code"] == "upstream_timeout"


def test_a_translating_relay_ends_the_stream_its_own_way() -> None:
    class Translating:
        facts = Facts()

        def __init__(self) -> None:
            self.failed: tuple[str, str, str | None] | None = None

        def feed(self, event: object) -> list[bytes]:
            return []

        def finish(self) -> list[bytes]:
            raise AssertionError("a failed stream is not finished normally")

        def fail(self, message: str, *, type: str = "api_error", code: str | None = None) -> list[bytes]:
            self.failed = (message, type, code)
            return [b"event: error\ndata: {}\n\n", b"event: response.failed\ndata: {}\n\n"]

    relay = Translating()
    assert len(broken_stream_tail("responses", relay, DROPPED)) == 2
    assert relay.failed is not None and relay.failed[2] == "upstream_error"
