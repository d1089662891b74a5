"""Anthropic Messages caller, Chat Completions provider: requests and non-streamed responses."""

from __future__ import annotations

from typing import Any

import pytest

from olga_cli.errors import TranslationError, UpstreamError
from olga_cli.providers.messages_to_chat import chat_response_to_messages, messages_request_to_chat
from olga_cli.providers.policy import Notes, TargetTraits

PNG = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg=="


def to_chat(body: dict[str, Any], **kw: Any) -> dict[str, Any]:
    body = {"model": "gpt-4o-mini", "max_tokens": 256, **body}
    return messages_request_to_chat(body, upstream_model="gpt-4o-mini-2024-07-18", **kw)


def refused(body: dict[str, Any]) -> TranslationError:
    with pytest.raises(TranslationError) as info:
        to_chat(body)
    return info.value


def test_minimal_request() -> None:
    assert to_chat({"messages": [{"role": "user", "content": "Hi"}]}) == {
        "model": "gpt-4o-mini-2024-07-18",
        "messages": [{"role": "user", "content": "Hi"}],
        "max_completion_tokens": 256,
    }


def test_max_tokens_field_can_be_the_legacy_one_for_compatible_servers() -> None:
    out = to_chat({"messages": [{"role": "user", "content": "Hi"}]}, max_tokens_field="max_tokens")
    assert out["max_tokens"] == 256 and "max_completion_tokens" not in out


def test_system_string_and_blocks() -> None:
    assert to_chat({"system": "Be brief.", "messages": [{"role": "user", "content": "Hi"}]})["messages"][
        0
    ] == {"role": "system", "content": "Be brief."}
    out = to_chat(
        {
            "system": [
                {"type": "text", "text": "A", "cache_control": {"type": "ephemeral"}},
                {"type": "text", "text": "B"},
            ],
            "messages": [{"role": "user", "content": "Hi"}],
        }
    )
    assert out["messages"][0] == {
        "role": "system",
        "content": [{"type": "text", "text": "A"}, {"type": "text", "text": "B"}],
    }


def test_images_base64_and_url_become_image_url_parts() -> None:
    out = to_chat(
        {
            "messages": [
                {
                    "role": "user",
                    "content": [
                        {
                            "type": "image",
                            "source": {"type": "base64", "media_type": "image/png", "data": PNG},
                        },
                        {"type": "image", "source": {"type": "url", "url": "https://example.com/a.jpg"}},
                        {"type": "text", "text": "Compare."},
                    ],
                }
            ]
        }
    )
    assert out["messages"] == [
        {
            "role": "user",
            "content": [
                {"type": "image_url", "image_url": {"url": f"data:image/png;base64,{PNG}"}},
                {"type": "image_url", "image_url": {"url": "https://example.com/a.jpg"}},
                {"type": "text", "text": "Compare."},
            ],
        }
    ]


def test_tool_use_history_and_parallel_results() -> None:
    out = to_chat(
        {
            "messages": [
                {"role": "user", "content": "Weather in Paris and Rome?"},
                {
                    "role": "assistant",
                    "content": [
                        {"type": "thinking", "thinking": "let me see", "signature": "sig"},
                        {"type": "text", "text": "Checking."},
                        {"type": "tool_use", "id": "toolu_1", "name": "w", "input": {"city": "Paris"}},
                        {"type": "tool_use", "id": "toolu_2", "name": "w", "input": {"city": "Rome"}},
                    ],
                },
                {
                    "role": "user",
                    "content": [
                        {"type": "tool_result", "tool_use_id": "toolu_1", "content": "18C"},
                        {
                            "type": "tool_result",
                            "tool_use_id": "toolu_2",
                            "content": [{"type": "text", "text": "25C"}],
                        },
                        {"type": "text", "text": "Which is warmer?"},
                    ],
                },
            ]
        }
    )
    assert out["messages"] == [
        {"role": "user", "content": "Weather in Paris and Rome?"},
        {
            "role": "assistant",
            "content": "Checking.",
            "tool_calls": [
                {
                    "id": "toolu_1",
                    "type": "function",
                    "function": {"name": "w", "arguments": '{"city":"Paris"}'},
                },
                {
                    "id": "toolu_2",
                    "type": "function",
                    "function": {"name": "w", "arguments": '{"city":"Rome"}'},
                },
            ],
        },
        {"role": "tool", "tool_call_id": "toolu_1", "content": "18C"},
        {"role": "tool", "tool_call_id": "toolu_2", "content": "25C"},
        {"role": "user", "content": "Which is warmer?"},
    ]


def test_tool_result_error_flag_is_kept_as_a_marker() -> None:
    out = to_chat(
        {
            "messages": [
                {
                    "role": "user",
                    "content": [
                        {"type": "tool_result", "tool_use_id": "t", "content": "boom", "is_error": True}
                    ],
                }
            ]
        }
    )
    assert out["messages"] == [{"role": "tool", "tool_call_id": "t", "content": "[tool error] boom"}]


def test_image_inside_a_tool_result_follows_in_a_user_message() -> None:
    image = {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": PNG}}
    out = to_chat(
        {
            "messages": [
                {
                    "role": "user",
                    "content": [{"type": "tool_result", "tool_use_id": "t", "content": [image]}],
                }
            ]
        }
    )
    assert out["messages"] == [
        {"role": "tool", "tool_call_id": "t", "content": "[image shown below]"},
        {
            "role": "user",
            "content": [{"type": "image_url", "image_url": {"url": f"data:image/png;base64,{PNG}"}}],
        },
    ]


def test_tools_tool_choice_and_disable_parallel() -> None:
    tools = [
        {
            "name": "w",
            "description": "weather",
            "input_schema": {"type": "object", "properties": {}},
            "cache_control": {"type": "ephemeral"},
        }
    ]
    base = {"messages": [{"role": "user", "content": "x"}], "tools": tools}
    out = to_chat(base)
    assert out["tools"] == [
        {
            "type": "function",
            "function": {
                "name": "w",
                "description": "weather",
                "parameters": {"type": "object", "properties": {}},
            },
        }
    ]
    assert to_chat({**base, "tool_choice": {"type": "auto"}})["tool_choice"] == "auto"
    assert to_chat({**base, "tool_choice": {"type": "any"}})["tool_choice"] == "required"
    assert to_chat({**base, "tool_choice": {"type": "none"}})["tool_choice"] == "none"
    named = to_chat({**base, "tool_choice": {"type": "tool", "name": "w", "disable_parallel_tool_use": True}})
    assert named["tool_choice"] == {"type": "function", "function": {"name": "w"}}
    assert named["parallel_tool_calls"] is False


def test_server_tools_are_withheld_and_noted() -> None:
    notes = Notes("messages", "chat")
    out = to_chat(
        {
            "messages": [{"role": "user", "content": "x"}],
            "tools": [{"type": "web_search_20250305", "name": "web_search"}],
            "tool_choice": {"type": "auto"},
        },
        notes=notes,
    )
    assert "tools" not in out and "tool_choice" not in out
    assert notes.dropped == ["tools.server"]


def test_stop_sequences_sampling_user_and_stream() -> None:
    out = to_chat(
        {
            "messages": [{"role": "user", "content": "x"}],
            "stop_sequences": ["END"],
            "temperature": 0.2,
            "top_p": 0.8,
            "metadata": {"user_id": "u-1"},
            "stream": True,
        }
    )
    assert out["stop"] == ["END"]
    assert (out["temperature"], out["top_p"], out["user"]) == (0.2, 0.8, "u-1")
    assert out["stream"] is True and out["stream_options"] == {"include_usage": True}


def test_structured_output_becomes_strict_json_schema() -> None:
    schema = {"type": "object", "properties": {"a": {"type": "string"}}}
    out = to_chat(
        {
            "messages": [{"role": "user", "content": "x"}],
            "output_config": {"format": {"type": "json_schema", "schema": schema}},
        }
    )
    assert out["response_format"] == {
        "type": "json_schema",
        "json_schema": {"name": "response", "schema": schema, "strict": True},
    }


def test_thinking_becomes_reasoning_effort_for_a_reasoning_target_else_is_dropped() -> None:
    body = {
        "messages": [{"role": "user", "content": "x"}],
        "thinking": {"type": "enabled", "budget_tokens": 2048},
    }
    assert to_chat(body, traits=TargetTraits(reasoning=True))["reasoning_effort"] == "low"
    notes = Notes("messages", "chat")
    assert "reasoning_effort" not in to_chat(body, notes=notes)
    assert notes.dropped == ["thinking"]
    adaptive = {**body, "thinking": {"type": "adaptive"}, "output_config": {"effort": "high"}}
    assert to_chat(adaptive, traits=TargetTraits(reasoning=True))["reasoning_effort"] == "high"
    assert "thinking" not in to_chat({**body, "thinking": {"type": "disabled"}})


@pytest.mark.parametrize(
    ("field", "value", "noted"),
    [
        ("top_k", 5, "top_k"),
        ("container", "c", "container"),
        ("mcp_servers", [{}], "mcp_servers"),
        ("output_config", {"effort": "high"}, "output_config.effort"),
        ("context_management", {"edits": [{"type": "clear_thinking_20251015"}]}, "context_management"),
    ],
)
def test_fields_chat_cannot_express_are_dropped_and_noted(field: str, value: Any, noted: str | None) -> None:
    notes = Notes("messages", "chat")
    out = to_chat({"messages": [{"role": "user", "content": "x"}], field: value}, notes=notes)
    assert field not in out and "reasoning_effort" not in out
    assert notes.dropped == ([noted] if noted else [])


# ------------------------------------------------------------------------------------- responses


def chat_completion(message: dict[str, Any], finish_reason: str = "stop", **extra: Any) -> dict[str, Any]:
    return {
        "id": "chatcmpl-1",
        "object": "chat.completion",
        "created": 1700000000,
        "model": "gpt-4o-mini-2024-07-18",
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", **message},
                "finish_reason": finish_reason,
                "logprobs": None,
            }
        ],
        "usage": {
            "prompt_tokens": 30,
            "completion_tokens": 5,
            "total_tokens": 35,
            "prompt_tokens_details": {"cached_tokens": 10},
        },
        **extra,
    }


def test_text_completion_becomes_a_message() -> None:
    out = chat_response_to_messages(chat_completion({"content": "Hello!"}), model="openai/gpt-4o-mini")
    assert out == {
        "id": "chatcmpl-1",
        "type": "message",
        "role": "assistant",
        "model": "openai/gpt-4o-mini",
        "content": [{"type": "text", "text": "Hello!"}],
        "stop_reason": "end_turn",
        "stop_sequence": None,
        "usage": {
            "input_tokens": 20,
            "cache_creation_input_tokens": 0,
            "cache_read_input_tokens": 10,
            "output_tokens": 5,
        },
    }


def test_tool_calls_become_tool_use_blocks() -> None:
    out = chat_response_to_messages(
        chat_completion(
            {
                "content": None,
                "tool_calls": [
                    {
                        "id": "call_1",
                        "type": "function",
                        "function": {"name": "w", "arguments": '{"city":"Paris"}'},
                    },
                    {"id": "call_2", "type": "function", "function": {"name": "t", "arguments": ""}},
                ],
            },
            "tool_calls",
        ),
        model="m",
    )
    assert out["content"] == [
        {"type": "tool_use", "id": "call_1", "name": "w", "input": {"city": "Paris"}},
        {"type": "tool_use", "id": "call_2", "name": "t", "input": {}},
    ]
    assert out["stop_reason"] == "tool_use"


@pytest.mark.parametrize(
    ("finish", "stop"),
    [
        ("stop", "end_turn"),
        ("length", "max_tokens"),
        ("tool_calls", "tool_use"),
        ("content_filter", "refusal"),
    ],
)
def test_finish_reasons_map_to_stop_reasons(finish: str, stop: str) -> None:
    assert (
        chat_response_to_messages(chat_completion({"content": "x"}, finish), model="m")["stop_reason"] == stop
    )


def test_refusal_becomes_text_with_refusal_stop_reason() -> None:
    out = chat_response_to_messages(
        chat_completion({"content": None, "refusal": "I can't help with that."}), model="m"
    )
    assert out["content"] == [{"type": "text", "text": "I can't help with that."}]
    assert out["stop_reason"] == "refusal"


def test_provider_tool_arguments_that_are_not_json_are_an_upstream_error() -> None:
    with pytest.raises(UpstreamError):
        chat_response_to_messages(
            chat_completion(
                {
                    "content": None,
                    "tool_calls": [
                        {
                            "id": "c",
                            "type": "function",
                            "function": {"name": "w", "arguments": '{"city": "Par'},
                        }
                    ],
                },
                "length",
            ),
            model="m",
        )
