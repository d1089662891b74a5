"""Streamed events of each API, screened event by event, then read back by the official SDKs'
own stream accumulators: what a client assembles must be the redacted text, and no event may carry
any part of a redacted value."""

from __future__ import annotations

import copy
import json
from typing import Any

from anthropic._models import construct_type as anthropic_construct
from anthropic.lib.streaming._messages import accumulate_event
from anthropic.types import RawMessageStreamEvent
from openai import omit
from openai._models import construct_type as openai_construct
from openai.lib.streaming.chat import ChatCompletionStreamState
from openai.lib.streaming.responses import ResponseStreamState
from openai.types.chat import ChatCompletionChunk
from openai.types.responses import ResponseStreamEvent

from olga_cli.guardrails import GuardrailSpec, Screen, StreamEventScreener
from olga_cli.guardrails.spec import Action

EMAIL = "jane.doe@example.com"
ANSWER = f"Write to {EMAIL} or call +44 20 7946 0958 today."
ARGS = json.dumps({"to": EMAIL, "subject": "hi"})
REDACTED_ANSWER = "Write to [EMAIL] or call [PHONE] today."
REDACTED_ARGS = json.dumps({"to": "[EMAIL]", "subject": "hi"})


def output_screen(action: Action = "redact", kind: str = "pii") -> Screen:
    return Screen([GuardrailSpec("g1", "guard", kind, "output", action)], "output")  # type: ignore[arg-type]


def pieces(text: str, size: int = 5) -> list[str]:
    return [text[i : i + size] for i in range(0, len(text), size)]


def screen_all(
    api: str, events: list[dict[str, Any]], screen: Screen
) -> tuple[list[Any], StreamEventScreener]:
    screener = StreamEventScreener(api, screen)  # type: ignore[arg-type]
    out: list[Any] = []
    for event in copy.deepcopy(events):
        out += screener.process(event)
    out += screener.finish()
    return out, screener


def assert_nothing_leaks(events: list[Any]) -> None:
    wire = json.dumps(events)
    for fragment in ("jane", "doe@", "example.com", "7946"):
        assert fragment not in wire


# --- Chat Completions --------------------------------------------------------------------------


def chat_stream(*, finish: bool = True) -> list[dict[str, Any]]:
    envelope = {"id": "chatcmpl-1", "object": "chat.completion.chunk", "created": 1, "model": "gpt-4o-mini"}
    events = [
        {
            **envelope,
            "choices": [{"index": 0, "delta": {"role": "assistant", "content": ""}, "finish_reason": None}],
        }
    ]
    for piece in pieces(ANSWER):
        events.append(
            {**envelope, "choices": [{"index": 0, "delta": {"content": piece}, "finish_reason": None}]}
        )
    events.append(
        {
            **envelope,
            "choices": [
                {
                    "index": 0,
                    "delta": {
                        "tool_calls": [
                            {
                                "index": 0,
                                "id": "call_1",
                                "type": "function",
                                "function": {"name": "send", "arguments": ""},
                            }
                        ]
                    },
                    "finish_reason": None,
                }
            ],
        }
    )
    for piece in pieces(ARGS, 4):
        events.append(
            {
                **envelope,
                "choices": [
                    {
                        "index": 0,
                        "delta": {"tool_calls": [{"index": 0, "function": {"arguments": piece}}]},
                        "finish_reason": None,
                    }
                ],
            }
        )
    if finish:
        events.append({**envelope, "choices": [{"index": 0, "delta": {}, "finish_reason": "tool_calls"}]})
        events.append(
            {
                **envelope,
                "choices": [],
                "usage": {"prompt_tokens": 5, "completion_tokens": 9, "total_tokens": 14},
            }
        )
    for event in events:
        # Token log-probabilities carry the text too: they must not outrun the screen.
        for choice in event["choices"]:
            piece = choice["delta"].get("content")
            if piece:
                token = {"token": piece, "logprob": -0.1, "bytes": list(piece.encode()), "top_logprobs": []}
                choice["logprobs"] = {"content": [token]}
    return events


def chat_final(events: list[Any]) -> Any:
    state: ChatCompletionStreamState[Any] = ChatCompletionStreamState()
    for event in events:
        state.handle_chunk(ChatCompletionChunk.model_validate(event))
    return state.current_completion_snapshot


def test_chat_stream_is_redacted_as_the_client_assembles_it() -> None:
    out, screener = screen_all("chat", chat_stream(), output_screen())
    assert_nothing_leaks(out)
    message = chat_final(out).choices[0].message
    assert message.content == REDACTED_ANSWER
    assert message.tool_calls[0].function.arguments == REDACTED_ARGS
    assert out[-1]["usage"]["total_tokens"] == 14
    fields = sorted({v.field for v in screener.violations})
    assert fields == ["choices[0].message.content", "choices[0].message.tool_calls[0].function.arguments"]


def test_chat_held_text_is_flushed_even_without_a_finish_reason() -> None:
    out, _ = screen_all("chat", chat_stream(finish=False), output_screen())
    message = chat_final(out).choices[0].message
    assert message.content == REDACTED_ANSWER
    assert message.tool_calls[0].function.arguments == REDACTED_ARGS
    assert out[-1]["id"] == "chatcmpl-1"


def test_chat_block_stops_the_stream_before_the_match_is_sent() -> None:
    out, screener = screen_all("chat", chat_stream(), output_screen("block"))
    assert screener.blocked is not None and screener.blocked.entity == "email"
    assert_nothing_leaks(out)
    assert "".join(e["choices"][0]["delta"].get("content") or "" for e in out) == "Write to "


# --- Anthropic Messages ------------------------------------------------------------------------


def messages_stream() -> list[dict[str, Any]]:
    events: list[dict[str, Any]] = [
        {
            "type": "message_start",
            "message": {
                "id": "msg_1",
                "type": "message",
                "role": "assistant",
                "model": "claude-haiku-4-5",
                "content": [],
                "stop_reason": None,
                "stop_sequence": None,
                "usage": {"input_tokens": 10, "output_tokens": 1},
            },
        },
        {"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}},
    ]
    events += [
        {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": p}}
        for p in pieces(ANSWER)
    ]
    events += [
        {"type": "content_block_stop", "index": 0},
        {
            "type": "content_block_start",
            "index": 1,
            "content_block": {"type": "tool_use", "id": "toolu_1", "name": "send", "input": {}},
        },
    ]
    events += [
        {"type": "content_block_delta", "index": 1, "delta": {"type": "input_json_delta", "partial_json": p}}
        for p in pieces(ARGS, 3)
    ]
    events += [
        {"type": "content_block_stop", "index": 1},
        {
            "type": "message_delta",
            "delta": {"stop_reason": "tool_use", "stop_sequence": None},
            "usage": {"output_tokens": 20},
        },
        {"type": "message_stop"},
    ]
    return events  # fmt: skip


def test_messages_stream_is_redacted_as_the_client_assembles_it() -> None:
    out, screener = screen_all("messages", messages_stream(), output_screen())
    assert_nothing_leaks(out)
    snapshot = None
    json_bufs: dict[int, bytes] = {}
    for event in out:
        typed = anthropic_construct(type_=RawMessageStreamEvent, value=event)
        snapshot = accumulate_event(event=typed, current_snapshot=snapshot, json_bufs=json_bufs)
    assert snapshot is not None
    assert snapshot.content[0].text == REDACTED_ANSWER
    assert snapshot.content[1].input == {"to": "[EMAIL]", "subject": "hi"}
    # Empty deltas (text held back) are dropped; held text arrives before each block's stop.
    assert all(e["delta"].get("text", "x") for e in out if e["type"] == "content_block_delta")
    stop = next(i for i, e in enumerate(out) if e["type"] == "content_block_stop")
    assert out[stop - 1]["type"] == "content_block_delta"
    assert {v.field for v in screener.violations} == {"content[0].text", "content[1].input"}


def test_messages_stream_block() -> None:
    out, screener = screen_all("messages", messages_stream(), output_screen("block"))
    assert screener.blocked is not None
    assert_nothing_leaks(out)
    assert out[-1]["type"] == "content_block_delta"


# --- Responses ---------------------------------------------------------------------------------


def responses_stream() -> list[dict[str, Any]]:
    base = {
        "id": "resp_1",
        "object": "response",
        "created_at": 1,
        "model": "gpt-4o-mini",
        "status": "in_progress",
        "output": [],
        "parallel_tool_calls": True,
        "tool_choice": "auto",
        "tools": [],
    }
    message = {"type": "message", "id": "msg_1", "role": "assistant", "status": "in_progress", "content": []}
    call = {
        "type": "function_call",
        "id": "fc_1",
        "call_id": "call_1",
        "name": "send",
        "arguments": "",
        "status": "in_progress",
    }
    done_message = {
        **message,
        "status": "completed",
        "content": [{"type": "output_text", "text": ANSWER, "annotations": []}],
    }
    done_call = {**call, "status": "completed", "arguments": ARGS}
    events: list[dict[str, Any]] = [
        {"type": "response.created", "response": base},
        {"type": "response.output_item.added", "output_index": 0, "item": message},
        {
            "type": "response.content_part.added",
            "item_id": "msg_1",
            "output_index": 0,
            "content_index": 0,
            "part": {"type": "output_text", "text": "", "annotations": []},
        },
    ]
    events += [
        {
            "type": "response.output_text.delta",
            "item_id": "msg_1",
            "output_index": 0,
            "content_index": 0,
            "delta": p,
            "logprobs": [],
        }
        for p in pieces(ANSWER)
    ]
    events += [
        {
            "type": "response.output_text.done",
            "item_id": "msg_1",
            "output_index": 0,
            "content_index": 0,
            "text": ANSWER,
            "logprobs": [],
        },
        {
            "type": "response.content_part.done",
            "item_id": "msg_1",
            "output_index": 0,
            "content_index": 0,
            "part": {"type": "output_text", "text": ANSWER, "annotations": []},
        },
        {"type": "response.output_item.done", "output_index": 0, "item": done_message},
        {"type": "response.output_item.added", "output_index": 1, "item": call},
    ]
    events += [
        {"type": "response.function_call_arguments.delta", "item_id": "fc_1", "output_index": 1, "delta": p}
        for p in pieces(ARGS, 4)
    ]
    events += [
        {
            "type": "response.function_call_arguments.done",
            "item_id": "fc_1",
            "output_index": 1,
            "arguments": ARGS,
        },
        {"type": "response.output_item.done", "output_index": 1, "item": done_call},
        {
            "type": "response.completed",
            "response": {**base, "status": "completed", "output": [done_message, done_call]},
        },
    ]
    for number, event in enumerate(events):
        event["sequence_number"] = number
    for event in events:
        # Token log-probabilities carry the text too: they must not outrun the screen.
        if event["type"] in ("response.output_text.delta", "response.output_text.done"):
            event["logprobs"] = [{"token": event.get("delta", ANSWER), "logprob": -0.1, "top_logprobs": []}]
    done_message["content"][0]["logprobs"] = [{"token": ANSWER, "logprob": -0.1, "top_logprobs": []}]
    return events


def test_responses_stream_is_redacted_in_deltas_and_in_every_full_text_event() -> None:
    out, screener = screen_all("responses", responses_stream(), output_screen())
    assert_nothing_leaks(out)
    state: ResponseStreamState[Any] = ResponseStreamState(input_tools=omit, text_format=omit)
    for event in out:
        state.handle_event(openai_construct(type_=ResponseStreamEvent, value=event))
    completed = next(e for e in out if e["type"] == "response.completed")["response"]
    assert completed["output"][0]["content"][0]["text"] == REDACTED_ANSWER
    assert completed["output"][1]["arguments"] == REDACTED_ARGS
    done = next(e for e in out if e["type"] == "response.output_text.done")
    assert done["text"] == REDACTED_ANSWER
    streamed = "".join(e["delta"] for e in out if e["type"] == "response.output_text.delta")
    assert streamed == REDACTED_ANSWER
    assert [e["sequence_number"] for e in out] == list(range(len(out)))
    # Each match is recorded once, although the text appears in deltas, done events and the response.
    assert sorted(v.entity for v in screener.violations) == ["email", "email", "phone"]


def test_responses_text_that_never_streamed_is_screened_once_where_it_appears() -> None:
    item = {
        "type": "mcp_call",
        "id": "mcp_1",
        "name": "lookup",
        "server_label": "crm",
        "arguments": "{}",
        "output": f"owner is {EMAIL}",
    }
    events = [
        {"type": "response.output_item.done", "output_index": 0, "item": item, "sequence_number": 0},
        {"type": "response.completed", "sequence_number": 1,
         "response": {"id": "resp_1", "object": "response", "output": [item]}},
    ]  # fmt: skip
    out, screener = screen_all("responses", events, output_screen())
    assert out[0]["item"]["output"] == "owner is [EMAIL]"
    assert out[1]["response"]["output"][0]["output"] == "owner is [EMAIL]"
    assert [v.field for v in screener.violations] == ["output[0].output"]


def test_events_pass_untouched_without_output_guardrails() -> None:
    events = chat_stream()
    screener = StreamEventScreener("chat", Screen([], "output"))
    out = [e for event in copy.deepcopy(events) for e in screener.process(event)]
    assert out == events and screener.finish() == []
