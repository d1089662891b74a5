"""Same-API stream relays forward every byte wherever the network cuts the stream, and meter on the way."""

from __future__ import annotations

import itertools
import json

from hypothesis import given, settings
from hypothesis import strategies as st

from olga_cli.providers.anthropic import MessagesPassthroughRelay, forwarded_headers, prepare_messages
from olga_cli.providers.openai_responses import ResponsesPassthroughRelay
from olga_cli.providers.sse import SSEParser, encode_event
from olga_cli.providers.usage import Usage
from tests.fakes.anthropic_upstream import Reply, ToolUse, stream_events

REPLY = Reply(
    text="Hello, world.",
    thinking="Say hi.",
    tool_uses=[ToolUse("get_weather", {"city": "Paris"})],
    input_tokens=40,
    output_tokens=21,
    cache_read_input_tokens=30,
    cache_creation_input_tokens=5,
    message_id="msg_1",
)


def relay_all(
    relay: MessagesPassthroughRelay | ResponsesPassthroughRelay, raw: bytes, cuts: list[int]
) -> bytes:
    parser = SSEParser()
    out: list[bytes] = []
    bounds = [0, *sorted(set(cuts)), len(raw)]
    for start, end in itertools.pairwise(bounds):
        for event in parser.feed(raw[start:end]):
            out += relay.feed(event)
    for event in parser.flush():
        out += relay.feed(event)
    return b"".join(out + relay.finish())


@settings(max_examples=60, deadline=None)
@given(st.data())
def test_anthropic_stream_bytes_and_usage_survive_any_split(data: st.DataObject) -> None:
    raw = b"".join(stream_events(REPLY, model="claude-haiku-4-5"))
    cuts = data.draw(st.lists(st.integers(min_value=1, max_value=len(raw) - 1), max_size=12))
    relay = MessagesPassthroughRelay()
    assert relay_all(relay, raw, cuts) == raw
    facts = relay.facts
    assert facts.usage == Usage(75, 21, 30, 5)
    assert (facts.upstream_id, facts.model, facts.finish_reason, facts.text) == (
        "msg_1",
        "claude-haiku-4-5",
        "tool_use",
        "Hello, world.",
    )


def test_message_stop_waits_for_finish() -> None:
    relay = MessagesPassthroughRelay()
    events = SSEParser().feed(b"".join(stream_events(Reply(), model="m")))
    sent = [chunk for event in events for chunk in relay.feed(event)]
    assert not any(b"message_stop" in chunk for chunk in sent)
    assert relay.finish() == [b'event: message_stop\ndata: {"type": "message_stop"}\n\n']


def test_only_the_model_changes_and_max_tokens_is_filled() -> None:
    body = {
        "model": "anthropic/x",
        "messages": [],
        "system": [{"type": "text", "text": "s", "cache_control": {}}],
        "models": ["a"],
    }
    out = prepare_messages(body, "x", default_max_tokens=99)
    assert out == {"model": "x", "messages": [], "system": body["system"], "max_tokens": 99}
    assert list(out)[:3] == ["model", "messages", "system"]
    assert prepare_messages({**body, "max_tokens": 5}, "x", default_max_tokens=99)["max_tokens"] == 5


def test_only_anthropic_headers_are_forwarded() -> None:
    headers = {
        "Anthropic-Beta": "b1,b2",
        "anthropic-version": "2023-06-01",
        "Authorization": "Bearer sk-olga-x",
        "x-api-key": "sk-olga-x",
        "Cookie": "c",
    }
    assert forwarded_headers(headers) == {"anthropic-beta": "b1,b2", "anthropic-version": "2023-06-01"}


def responses_stream() -> bytes:
    started = {
        "id": "resp_1",
        "model": "gpt-5-mini-2025-08-07",
        "status": "in_progress",
        "output": [],
        "usage": None,
    }
    item = {"type": "message", "content": [{"type": "output_text", "text": "Hi there"}]}
    done = {
        **started,
        "status": "completed",
        "output": [item],
        "usage": {"input_tokens": 9, "input_tokens_details": {"cached_tokens": 4}, "output_tokens": 2},
    }
    events = [
        ("response.created", {"response": started}),
        ("response.output_text.delta", {"delta": "Hi "}),
        ("response.output_text.delta", {"delta": "there"}),
        ("response.completed", {"response": done}),
    ]
    return b"".join(
        encode_event({"type": kind, **data, "sequence_number": n}, event=kind)
        for n, (kind, data) in enumerate(events)
    )


@settings(max_examples=40, deadline=None)
@given(st.data())
def test_responses_stream_bytes_and_usage_survive_any_split(data: st.DataObject) -> None:
    raw = responses_stream()
    cuts = data.draw(st.lists(st.integers(min_value=1, max_value=len(raw) - 1), max_size=10))
    relay = ResponsesPassthroughRelay()
    assert relay_all(relay, raw, cuts) == raw
    facts = relay.facts
    assert facts.usage == Usage(9, 2, 4)
    assert (facts.upstream_id, facts.finish_reason, facts.text) == ("resp_1", "stop", "Hi there")


def test_the_completed_event_waits_for_finish() -> None:
    relay = ResponsesPassthroughRelay()
    sent = [chunk for event in SSEParser().feed(responses_stream()) for chunk in relay.feed(event)]
    assert not any(b"response.completed" in chunk for chunk in sent)
    (last,) = relay.finish()
    assert json.loads(last.split(b"data: ", 1)[1])["type"] == "response.completed"
