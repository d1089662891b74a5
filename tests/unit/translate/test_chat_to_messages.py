"""Chat Completions caller, Anthropic provider: requests and non-streamed responses."""

from __future__ import annotations

from typing import Any

import pytest

from olga_cli.errors import TranslationError
from olga_cli.providers.chat_to_messages import chat_request_to_messages, messages_response_to_chat
from olga_cli.providers.policy import Notes

PNG = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg=="


def to_messages(body: dict[str, Any], **kw: Any) -> dict[str, Any]:
    body = {"model": "claude-haiku-4-5", **body}
    return chat_request_to_messages(
        body,
        upstream_model=kw.pop("upstream_model", "claude-haiku-4-5-20251001"),
        default_max_tokens=kw.pop("default_max_tokens", 4096),
    )


def refused(body: dict[str, Any]) -> TranslationError:
    with pytest.raises(TranslationError) as info:
        to_messages(body)
    return info.value


def test_minimal_request_gets_the_upstream_model_and_default_max_tokens() -> None:
    out = to_messages({"messages": [{"role": "user", "content": "Hi"}]})
    assert out == {
        "model": "claude-haiku-4-5-20251001",
        "max_tokens": 4096,
        "messages": [{"role": "user", "content": "Hi"}],
    }


@pytest.mark.parametrize("field", ["max_tokens", "max_completion_tokens"])
def test_either_limit_field_becomes_max_tokens(field: str) -> None:
    out = to_messages({"messages": [{"role": "user", "content": "Hi"}], field: 77})
    assert out["max_tokens"] == 77


def test_max_completion_tokens_wins_over_legacy_max_tokens() -> None:
    out = to_messages(
        {"messages": [{"role": "user", "content": "Hi"}], "max_tokens": 5, "max_completion_tokens": 9}
    )
    assert out["max_tokens"] == 9


def test_system_and_developer_messages_become_the_system_prompt_in_order() -> None:
    out = to_messages(
        {
            "messages": [
                {"role": "system", "content": "Be brief."},
                {
                    "role": "developer",
                    "content": [{"type": "text", "text": "Answer in "}, {"type": "text", "text": "French."}],
                },
                {"role": "user", "content": "Hi"},
            ]
        }
    )
    assert out["system"] == [
        {"type": "text", "text": "Be brief."},
        {"type": "text", "text": "Answer in French."},
    ]
    assert out["messages"] == [{"role": "user", "content": "Hi"}]


def test_single_system_message_is_a_plain_string() -> None:
    out = to_messages(
        {"messages": [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hi"}]}
    )
    assert out["system"] == "Be brief."


def test_multi_turn_history_keeps_roles_and_order() -> None:
    out = to_messages(
        {
            "messages": [
                {"role": "user", "content": "one"},
                {"role": "assistant", "content": "two"},
                {"role": "user", "content": "three"},
            ]
        }
    )
    assert out["messages"] == [
        {"role": "user", "content": "one"},
        {"role": "assistant", "content": "two"},
        {"role": "user", "content": "three"},
    ]


def test_images_by_url_and_base64_data_url() -> None:
    out = to_messages(
        {
            "messages": [
                {
                    "role": "user",
                    "content": [
                        {"type": "text", "text": "What is this?"},
                        {
                            "type": "image_url",
                            "image_url": {"url": "https://example.com/cat.jpg", "detail": "high"},
                        },
                        {"type": "image_url", "image_url": {"url": f"data:image/png;base64,{PNG}"}},
                    ],
                }
            ]
        }
    )
    assert out["messages"][0]["content"] == [
        {"type": "text", "text": "What is this?"},
        {"type": "image", "source": {"type": "url", "url": "https://example.com/cat.jpg"}},
        {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": PNG}},
    ]


def test_image_of_a_type_anthropic_cannot_read_is_refused_with_its_path() -> None:
    error = refused(
        {
            "messages": [
                {
                    "role": "user",
                    "content": [{"type": "image_url", "image_url": {"url": f"data:image/bmp;base64,{PNG}"}}],
                }
            ]
        }
    )
    assert error.param == "messages[0].content[0].image_url.url"
    assert "PNG" in error.message


def test_audio_content_is_refused_naming_the_part() -> None:
    error = refused(
        {
            "messages": [
                {"role": "user", "content": "listen"},
                {"role": "assistant", "content": "ok"},
                {
                    "role": "user",
                    "content": [
                        {"type": "text", "text": "x"},
                        {"type": "input_audio", "input_audio": {"data": "AA==", "format": "wav"}},
                    ],
                },
            ]
        }
    )
    assert error.param == "messages[2].content[1].type"
    assert error.status == 400 and error.code == "invalid_request"


def test_pdf_file_becomes_a_document_block() -> None:
    out = to_messages(
        {
            "messages": [
                {
                    "role": "user",
                    "content": [
                        {
                            "type": "file",
                            "file": {
                                "filename": "a.pdf",
                                "file_data": "data:application/pdf;base64,JVBERi0=",
                            },
                        }
                    ],
                }
            ]
        }
    )
    assert out["messages"][0]["content"] == [
        {
            "type": "document",
            "title": "a.pdf",
            "source": {"type": "base64", "media_type": "application/pdf", "data": "JVBERi0="},
        }
    ]


def test_tools_and_every_tool_choice() -> None:
    tools = [
        {
            "type": "function",
            "function": {
                "name": "get_weather",
                "description": "Weather by city",
                "parameters": {
                    "type": "object",
                    "properties": {"city": {"type": "string"}},
                    "required": ["city"],
                },
            },
        }
    ]
    base = {"messages": [{"role": "user", "content": "Weather?"}], "tools": tools}
    out = to_messages(base)
    assert out["tools"] == [
        {
            "name": "get_weather",
            "description": "Weather by city",
            "input_schema": {
                "type": "object",
                "properties": {"city": {"type": "string"}},
                "required": ["city"],
            },
        }
    ]
    assert "tool_choice" not in out
    assert to_messages({**base, "tool_choice": "auto"})["tool_choice"] == {"type": "auto"}
    assert to_messages({**base, "tool_choice": "none"})["tool_choice"] == {"type": "none"}
    assert to_messages({**base, "tool_choice": "required"})["tool_choice"] == {"type": "any"}
    named = {"type": "function", "function": {"name": "get_weather"}}
    assert to_messages({**base, "tool_choice": named})["tool_choice"] == {
        "type": "tool",
        "name": "get_weather",
    }


def test_parallel_tool_calls_false_disables_parallel_tool_use() -> None:
    tools = [{"type": "function", "function": {"name": "f", "parameters": {"type": "object"}}}]
    base = {"messages": [{"role": "user", "content": "go"}], "tools": tools, "parallel_tool_calls": False}
    assert to_messages(base)["tool_choice"] == {"type": "auto", "disable_parallel_tool_use": True}
    assert to_messages({**base, "tool_choice": "required"})["tool_choice"] == {
        "type": "any",
        "disable_parallel_tool_use": True,
    }
    assert to_messages({**base, "parallel_tool_calls": True}).get("tool_choice") is None


def test_tool_without_parameters_gets_an_empty_object_schema() -> None:
    out = to_messages(
        {
            "messages": [{"role": "user", "content": "go"}],
            "tools": [{"type": "function", "function": {"name": "now"}}],
        }
    )
    assert out["tools"] == [{"name": "now", "input_schema": {"type": "object", "properties": {}}}]


def test_parallel_tool_calls_and_results_merge_into_one_user_message() -> None:
    out = to_messages(
        {
            "messages": [
                {"role": "user", "content": "Weather in Paris and Rome?"},
                {
                    "role": "assistant",
                    "content": "Checking.",
                    "tool_calls": [
                        {
                            "id": "call_1",
                            "type": "function",
                            "function": {"name": "w", "arguments": '{"city": "Paris"}'},
                        },
                        {
                            "id": "call_2",
                            "type": "function",
                            "function": {"name": "w", "arguments": '{"city": "Rome"}'},
                        },
                    ],
                },
                {"role": "tool", "tool_call_id": "call_1", "content": "18C"},
                {"role": "tool", "tool_call_id": "call_2", "content": [{"type": "text", "text": "25C"}]},
                {"role": "user", "content": "Thanks; which is warmer?"},
            ]
        }
    )
    assert out["messages"] == [
        {"role": "user", "content": "Weather in Paris and Rome?"},
        {
            "role": "assistant",
            "content": [
                {"type": "text", "text": "Checking."},
                {"type": "tool_use", "id": "call_1", "name": "w", "input": {"city": "Paris"}},
                {"type": "tool_use", "id": "call_2", "name": "w", "input": {"city": "Rome"}},
            ],
        },
        {
            "role": "user",
            "content": [
                {"type": "tool_result", "tool_use_id": "call_1", "content": "18C"},
                {
                    "type": "tool_result",
                    "tool_use_id": "call_2",
                    "content": [{"type": "text", "text": "25C"}],
                },
                {"type": "text", "text": "Thanks; which is warmer?"},
            ],
        },
    ]


def test_assistant_tool_call_with_invalid_json_arguments_is_refused() -> None:
    error = refused(
        {
            "messages": [
                {"role": "user", "content": "go"},
                {
                    "role": "assistant",
                    "content": None,
                    "tool_calls": [
                        {"id": "c", "type": "function", "function": {"name": "f", "arguments": "{not json"}}
                    ],
                },
            ]
        }
    )
    assert error.param == "messages[1].tool_calls[0].function.arguments"


@pytest.mark.parametrize(("stop", "expected"), [("END", ["END"]), (["a", "b"], ["a", "b"])])
def test_stop_string_or_list_becomes_stop_sequences(stop: Any, expected: list[str]) -> None:
    assert (
        to_messages({"messages": [{"role": "user", "content": "x"}], "stop": stop})["stop_sequences"]
        == expected
    )


def test_sampling_user_and_stream_are_carried() -> None:
    out = to_messages(
        {
            "messages": [{"role": "user", "content": "x"}],
            "temperature": 0.3,
            "top_p": 0.9,
            "user": "user-42",
            "stream": True,
            "stream_options": {"include_usage": True},
        }
    )
    assert (out["temperature"], out["top_p"], out["metadata"], out["stream"]) == (
        0.3,
        0.9,
        {"user_id": "user-42"},
        True,
    )
    assert "stream_options" not in out


def test_temperature_above_anthropics_range_is_lowered_to_one_and_noted() -> None:
    notes = Notes("chat", "messages")
    body = {"model": "m", "messages": [{"role": "user", "content": "x"}], "temperature": 1.5}
    out = chat_request_to_messages(body, upstream_model="m", default_max_tokens=100, notes=notes)
    assert out["temperature"] == 1 and notes.dropped == ["temperature"]


def test_json_schema_response_format_becomes_structured_output() -> None:
    schema = {
        "type": "object",
        "properties": {"a": {"type": "integer"}},
        "required": ["a"],
        "additionalProperties": False,
    }
    out = to_messages(
        {
            "messages": [{"role": "user", "content": "x"}],
            "response_format": {
                "type": "json_schema",
                "json_schema": {"name": "r", "schema": schema, "strict": True},
            },
        }
    )
    assert out["output_config"] == {"format": {"type": "json_schema", "schema": schema}}


def test_json_object_response_format_is_refused_with_advice() -> None:
    error = refused(
        {"messages": [{"role": "user", "content": "x"}], "response_format": {"type": "json_object"}}
    )
    assert error.param == "response_format.type"
    assert "json_schema" in error.message


def test_text_response_format_needs_nothing() -> None:
    out = to_messages({"messages": [{"role": "user", "content": "x"}], "response_format": {"type": "text"}})
    assert "output_config" not in out


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("n", 2),
        ("logprobs", True),
        ("top_logprobs", 3),
        ("logit_bias", {"50256": -100}),
        ("audio", {"voice": "x"}),
        ("modalities", ["text", "audio"]),
    ],
)
def test_fields_whose_loss_would_change_the_answer_are_refused_by_name(field: str, value: Any) -> None:
    error = refused({"messages": [{"role": "user", "content": "x"}], field: value})
    assert error.param == field
    assert "Anthropic Messages" in error.message


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("frequency_penalty", 0.5),
        ("presence_penalty", 1),
        ("seed", 7),
        ("reasoning_effort", "high"),
        ("store", True),
        ("web_search_options", {}),
        ("some_future_field", 1),
    ],
)
def test_hints_and_missing_capabilities_are_dropped_and_noted(field: str, value: Any) -> None:
    notes = Notes("chat", "messages")
    body = {"model": "m", "messages": [{"role": "user", "content": "x"}], field: value}
    out = chat_request_to_messages(body, upstream_model="m", default_max_tokens=100, notes=notes)
    assert field not in out and "thinking" not in out
    assert notes.dropped == [field]


def test_harmless_defaults_are_accepted() -> None:
    out = to_messages(
        {
            "messages": [{"role": "user", "content": "x"}],
            "n": 1,
            "logprobs": False,
            "frequency_penalty": 0,
            "store": False,
            "modalities": ["text"],
            "models": ["a", "b"],
        }
    )
    assert set(out) == {"model", "max_tokens", "messages"}


def test_participant_name_is_dropped_and_noted() -> None:
    notes = Notes("chat", "messages")
    body = {"model": "m", "messages": [{"role": "user", "content": "x", "name": "bob"}]}
    out = chat_request_to_messages(body, upstream_model="m", default_max_tokens=100, notes=notes)
    assert out["messages"] == [{"role": "user", "content": "x"}] and notes.dropped == ["messages.name"]


# ------------------------------------------------------------------------------------- responses


def anthropic_message(**overrides: Any) -> dict[str, Any]:
    return {
        "id": "msg_01ABC",
        "type": "message",
        "role": "assistant",
        "model": "claude-haiku-4-5-20251001",
        "content": [{"type": "text", "text": "Hello!"}],
        "stop_reason": "end_turn",
        "stop_sequence": None,
        "usage": {
            "input_tokens": 10,
            "output_tokens": 3,
            "cache_read_input_tokens": 4,
            "cache_creation_input_tokens": 2,
        },
        **overrides,
    }


def test_text_response_becomes_a_chat_completion() -> None:
    out = messages_response_to_chat(
        anthropic_message(), model="anthropic/claude-haiku-4-5", created=1700000000
    )
    assert out == {
        "id": "msg_01ABC",
        "object": "chat.completion",
        "created": 1700000000,
        "model": "anthropic/claude-haiku-4-5",
        "choices": [
            {
                "index": 0,
                "logprobs": None,
                "finish_reason": "stop",
                "message": {"role": "assistant", "content": "Hello!", "refusal": None, "annotations": []},
            }
        ],
        "usage": {
            "prompt_tokens": 16,
            "completion_tokens": 3,
            "total_tokens": 19,
            "prompt_tokens_details": {"cached_tokens": 4, "cache_write_tokens": 2},
        },
        "system_fingerprint": None,
    }


def test_tool_use_response_becomes_tool_calls_and_thinking_is_not_shown() -> None:
    out = messages_response_to_chat(
        anthropic_message(
            stop_reason="tool_use",
            content=[
                {"type": "thinking", "thinking": "secret plan", "signature": "sig"},
                {"type": "tool_use", "id": "toolu_1", "name": "w", "input": {"city": "Paris"}},
                {"type": "tool_use", "id": "toolu_2", "name": "w", "input": {"city": "Rome"}},
            ],
        ),
        model="m",
    )
    choice = out["choices"][0]
    assert choice["finish_reason"] == "tool_calls"
    assert choice["message"]["content"] is None
    assert [
        (c["id"], c["function"]["name"], c["function"]["arguments"]) for c in choice["message"]["tool_calls"]
    ] == [("toolu_1", "w", '{"city":"Paris"}'), ("toolu_2", "w", '{"city":"Rome"}')]
    assert "secret plan" not in str(out)


@pytest.mark.parametrize(
    ("stop_reason", "finish_reason"),
    [
        ("end_turn", "stop"),
        ("stop_sequence", "stop"),
        ("max_tokens", "length"),
        ("tool_use", "tool_calls"),
        ("refusal", "content_filter"),
        ("model_context_window_exceeded", "length"),
    ],
)
def test_stop_reasons_map_to_finish_reasons(stop_reason: str, finish_reason: str) -> None:
    out = messages_response_to_chat(anthropic_message(stop_reason=stop_reason), model="m")
    assert out["choices"][0]["finish_reason"] == finish_reason
