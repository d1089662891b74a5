"""Responses caller, Chat Completions provider (and Anthropic provider, composed through Chat)."""

from __future__ import annotations

from typing import Any

import pytest
from openai.types.responses import Response

from olga_cli.errors import TranslationError
from olga_cli.providers.policy import Notes, TargetTraits
from olga_cli.providers.responses_to_chat import chat_response_to_responses, responses_request_to_chat
from olga_cli.providers.responses_to_messages import (
    messages_response_to_responses,
    responses_request_to_messages,
)


def to_chat(body: dict[str, Any]) -> dict[str, Any]:
    return responses_request_to_chat(
        {"model": "gpt-4o-mini", **body}, upstream_model="gpt-4o-mini-2024-07-18"
    )


def refused(body: dict[str, Any]) -> TranslationError:
    with pytest.raises(TranslationError) as info:
        to_chat(body)
    return info.value


def test_string_input_and_instructions() -> None:
    assert to_chat({"input": "Hi", "instructions": "Be brief.", "max_output_tokens": 100}) == {
        "model": "gpt-4o-mini-2024-07-18",
        "messages": [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hi"}],
        "max_completion_tokens": 100,
    }


def test_message_items_with_images_and_history() -> None:
    out = to_chat(
        {
            "input": [
                {"role": "developer", "content": "Rules."},
                {
                    "type": "message",
                    "role": "user",
                    "content": [
                        {"type": "input_text", "text": "What is this?"},
                        {"type": "input_image", "image_url": "https://example.com/a.png", "detail": "auto"},
                    ],
                },
                {
                    "type": "message",
                    "role": "assistant",
                    "id": "msg_1",
                    "status": "completed",
                    "content": [{"type": "output_text", "text": "A cat.", "annotations": []}],
                },
                {"role": "user", "content": "Thanks"},
            ]
        }
    )
    assert out["messages"] == [
        {"role": "system", "content": "Rules."},
        {
            "role": "user",
            "content": [
                {"type": "text", "text": "What is this?"},
                {"type": "image_url", "image_url": {"url": "https://example.com/a.png"}},
            ],
        },
        {"role": "assistant", "content": "A cat."},
        {"role": "user", "content": "Thanks"},
    ]


def test_function_calls_and_outputs_become_tool_calls_and_tool_messages() -> None:
    out = to_chat(
        {
            "input": [
                {"role": "user", "content": "Weather in Paris and Rome?"},
                {
                    "type": "function_call",
                    "call_id": "call_1",
                    "name": "w",
                    "arguments": '{"city":"Paris"}',
                    "id": "fc_1",
                },
                {"type": "function_call", "call_id": "call_2", "name": "w", "arguments": '{"city":"Rome"}'},
                {"type": "function_call_output", "call_id": "call_1", "output": "18C"},
                {
                    "type": "function_call_output",
                    "call_id": "call_2",
                    "output": [{"type": "input_text", "text": "25C"}],
                },
            ]
        }
    )
    assert out["messages"] == [
        {"role": "user", "content": "Weather in Paris and Rome?"},
        {
            "role": "assistant",
            "content": None,
            "tool_calls": [
                {
                    "id": "call_1",
                    "type": "function",
                    "function": {"name": "w", "arguments": '{"city":"Paris"}'},
                },
                {
                    "id": "call_2",
                    "type": "function",
                    "function": {"name": "w", "arguments": '{"city":"Rome"}'},
                },
            ],
        },
        {"role": "tool", "tool_call_id": "call_1", "content": "18C"},
        {"role": "tool", "tool_call_id": "call_2", "content": [{"type": "text", "text": "25C"}]},
    ]


def test_function_tools_tool_choice_and_json_schema_format() -> None:
    schema = {"type": "object", "properties": {"a": {"type": "integer"}}}
    out = to_chat(
        {
            "input": "x",
            "temperature": 0.5,
            "top_p": 0.9,
            "parallel_tool_calls": False,
            "stream": True,
            "tools": [
                {"type": "function", "name": "w", "description": "d", "parameters": schema, "strict": True}
            ],
            "tool_choice": {"type": "function", "name": "w"},
            "text": {"format": {"type": "json_schema", "name": "out", "schema": schema, "strict": True}},
        }
    )
    assert out["tools"] == [
        {
            "type": "function",
            "function": {"name": "w", "description": "d", "parameters": schema, "strict": True},
        }
    ]
    assert out["tool_choice"] == {"type": "function", "function": {"name": "w"}}
    assert out["response_format"] == {
        "type": "json_schema",
        "json_schema": {"name": "out", "schema": schema, "strict": True},
    }
    assert (out["temperature"], out["top_p"], out["parallel_tool_calls"]) == (0.5, 0.9, False)
    assert out["stream"] is True and out["stream_options"] == {"include_usage": True}
    tools = [{"type": "function", "name": "w", "parameters": schema}]
    assert to_chat({"input": "x", "tools": tools, "tool_choice": "required"})["tool_choice"] == "required"
    assert "tool_choice" not in to_chat({"input": "x", "tool_choice": "required"})  # no tool to choose


@pytest.mark.parametrize(
    ("field", "value", "param"),
    [
        ("previous_response_id", "resp_1", "previous_response_id"),
        ("background", True, "background"),
        ("conversation", "conv_1", "conversation"),
        ("input", [{"type": "item_reference", "id": "msg_1"}], "input[0].id"),  # not one olga made
    ],
)
def test_server_state_is_refused_by_name(field: str, value: Any, param: str) -> None:
    error = refused({"input": "x", field: value})
    assert error.param == param and "Chat Completions" in error.message


@pytest.mark.parametrize(
    ("field", "value", "noted"),
    [
        ("store", True, "store"),
        ("include", ["reasoning.encrypted_content"], "include"),
        ("tools", [{"type": "web_search"}], "tools.web_search"),
        ("tools", [{"type": "file_search", "vector_store_ids": ["v"]}], "tools.server"),
        (
            "input",
            [{"type": "reasoning", "id": "rs_1", "summary": []}, {"role": "user", "content": "x"}],
            "input.reasoning",
        ),
        ("reasoning", {"summary": "auto"}, "reasoning.summary"),
        ("tool_choice", {"type": "web_search_preview"}, None),
        ("truncation", "auto", "truncation"),
        ("client_metadata", {"turn_id": "t"}, "client_metadata"),
    ],
)
def test_hints_and_built_in_tools_are_dropped_and_noted(field: str, value: Any, noted: str | None) -> None:
    notes = Notes("responses", "chat")
    body = {"model": "m", "input": "x", field: value}
    out = responses_request_to_chat(body, upstream_model="m", notes=notes)
    assert field not in out or field == "input"
    assert notes.dropped == ([noted] if noted else [])


def test_store_false_is_dropped_and_reasoning_effort_carried_to_a_reasoning_model() -> None:
    body = {"model": "m", "input": "x", "store": False, "reasoning": {"effort": "low"}, "user": "u"}
    out = responses_request_to_chat(body, upstream_model="m", traits=TargetTraits(reasoning=True))
    assert out["reasoning_effort"] == "low" and out["user"] == "u" and "store" not in out
    notes = Notes("responses", "chat")
    assert "reasoning_effort" not in responses_request_to_chat(body, upstream_model="m", notes=notes)
    assert notes.dropped == ["reasoning.effort"]


def test_composed_translation_to_anthropic() -> None:
    out = responses_request_to_messages(
        {
            "model": "claude",
            "instructions": "Be brief.",
            "input": "Hi",
            "max_output_tokens": 50,
            "tools": [{"type": "function", "name": "w", "parameters": {"type": "object"}}],
            "tool_choice": "required",
        },
        upstream_model="claude-haiku-4-5",
        default_max_tokens=4096,
    )
    assert out == {
        "model": "claude-haiku-4-5",
        "max_tokens": 50,
        "system": "Be brief.",
        "messages": [{"role": "user", "content": "Hi"}],
        "tools": [{"name": "w", "input_schema": {"type": "object"}}],
        "tool_choice": {"type": "any"},
    }


def test_composed_refusal_names_the_responses_field() -> None:
    notes = Notes("responses", "messages")
    responses_request_to_messages(
        {"model": "c", "input": "x", "reasoning": {"effort": "high"}},
        upstream_model="c",
        default_max_tokens=10,
        notes=notes,
    )
    assert notes.dropped == ["reasoning.effort"]  # the target does not reason
    with pytest.raises(TranslationError) as info:
        responses_request_to_messages(
            {"model": "c", "input": "x", "text": {"format": {"type": "json_object"}}},
            upstream_model="c",
            default_max_tokens=10,
        )
    assert info.value.param == "text.format.type"


# ------------------------------------------------------------------------------------- responses

REQUEST = {
    "model": "m",
    "input": "x",
    "instructions": "Be brief.",
    "metadata": {"k": "v"},
    "temperature": 0.4,
    "tools": [{"type": "function", "name": "w", "parameters": {"type": "object"}}],
}


def test_chat_completion_becomes_a_response_the_sdk_accepts() -> None:
    chat = {
        "id": "chatcmpl-9",
        "object": "chat.completion",
        "created": 1700000000,
        "model": "gpt",
        "choices": [
            {
                "index": 0,
                "finish_reason": "tool_calls",
                "message": {
                    "role": "assistant",
                    "content": "Sure.",
                    "tool_calls": [
                        {
                            "id": "call_1",
                            "type": "function",
                            "function": {"name": "w", "arguments": '{"city":"Paris"}'},
                        }
                    ],
                },
            }
        ],
        "usage": {
            "prompt_tokens": 12,
            "completion_tokens": 4,
            "total_tokens": 16,
            "prompt_tokens_details": {"cached_tokens": 2},
        },
    }
    out = chat_response_to_responses(chat, model="openai/gpt", request=REQUEST)
    response = Response.model_validate(out)  # strict validation against the SDK's own type
    assert response.id == "chatcmpl-9" and response.status == "completed" and response.model == "openai/gpt"
    assert response.output_text == "Sure."
    call = response.output[1]
    assert call.type == "function_call" and (call.call_id, call.name, call.arguments) == (
        "call_1",
        "w",
        '{"city":"Paris"}',
    )
    assert response.usage is not None
    assert (
        response.usage.input_tokens,
        response.usage.output_tokens,
        response.usage.input_tokens_details.cached_tokens,
    ) == (12, 4, 2)
    assert (
        response.instructions == "Be brief."
        and response.metadata == {"k": "v"}
        and response.temperature == 0.4
    )


def test_length_finish_is_an_incomplete_response() -> None:
    chat = {
        "id": "c",
        "created": 1,
        "choices": [
            {"index": 0, "finish_reason": "length", "message": {"role": "assistant", "content": "Trunc"}}
        ],
        "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2},
    }
    out = Response.model_validate(chat_response_to_responses(chat, model="m", request={"input": "x"}))
    assert out.status == "incomplete" and out.incomplete_details is not None
    assert out.incomplete_details.reason == "max_output_tokens"


def test_anthropic_message_becomes_a_response() -> None:
    message = {
        "id": "msg_1",
        "type": "message",
        "role": "assistant",
        "model": "claude",
        "stop_reason": "end_turn",
        "content": [
            {"type": "thinking", "thinking": "hidden", "signature": "s"},
            {"type": "text", "text": "Hi!"},
        ],
        "usage": {
            "input_tokens": 5,
            "output_tokens": 2,
            "cache_read_input_tokens": 3,
            "cache_creation_input_tokens": 0,
        },
    }
    out = Response.model_validate(
        messages_response_to_responses(message, model="anthropic/claude", request={"input": "x"})
    )
    assert out.output_text == "Hi!" and out.id == "msg_1"
    assert (
        out.usage is not None
        and out.usage.input_tokens == 8
        and out.usage.input_tokens_details.cached_tokens == 3
    )
