"""The facade: one function per job, picking the translator for the caller's and provider's APIs."""

from __future__ import annotations

import pytest

from olga_cli.providers.policy import Notes
from olga_cli.providers.translate import needs_translation, translate_request, translate_response


def test_same_api_needs_no_translation_and_unknown_pairs_are_a_programming_error() -> None:
    assert needs_translation("chat", "chat") is False
    assert needs_translation("messages", "messages") is False
    assert needs_translation("chat", "messages") is True
    with pytest.raises(ValueError):
        needs_translation("messages", "responses")


@pytest.mark.parametrize(
    ("caller", "provider", "body", "expected"),
    [
        (
            "chat",
            "messages",
            {"model": "x", "messages": [{"role": "user", "content": "Hi"}]},
            {"model": "up", "max_tokens": 333, "messages": [{"role": "user", "content": "Hi"}]},
        ),
        (
            "messages",
            "chat",
            {"model": "x", "max_tokens": 5, "messages": [{"role": "user", "content": "Hi"}]},
            {"model": "up", "max_tokens": 5, "messages": [{"role": "user", "content": "Hi"}]},
        ),
        (
            "responses",
            "chat",
            {"model": "x", "input": "Hi"},
            {"model": "up", "messages": [{"role": "user", "content": "Hi"}]},
        ),
        (
            "responses",
            "messages",
            {"model": "x", "input": "Hi"},
            {"model": "up", "max_tokens": 333, "messages": [{"role": "user", "content": "Hi"}]},
        ),
    ],
)
def test_translate_request_for_each_pair(
    caller: str, provider: str, body: dict[str, object], expected: dict[str, object]
) -> None:
    out = translate_request(
        body,
        caller=caller,
        provider=provider,
        upstream_model="up",  # type: ignore[arg-type]
        default_max_tokens=333,
        max_tokens_field="max_tokens",
    )
    assert out == expected


def test_translate_response_for_each_pair() -> None:
    message = {
        "id": "msg_1",
        "type": "message",
        "role": "assistant",
        "model": "c",
        "stop_reason": "end_turn",
        "content": [{"type": "text", "text": "Hi"}],
        "usage": {"input_tokens": 1, "output_tokens": 1},
    }
    chat = {
        "id": "chatcmpl-1",
        "object": "chat.completion",
        "created": 1,
        "model": "g",
        "choices": [{"index": 0, "finish_reason": "stop", "message": {"role": "assistant", "content": "Hi"}}],
        "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2},
    }
    request = {"input": "x"}
    assert (
        translate_response(message, caller="chat", provider="messages", model="m", request=request)["object"]
        == "chat.completion"
    )
    assert (
        translate_response(chat, caller="messages", provider="chat", model="m", request=request)["type"]
        == "message"
    )
    assert (
        translate_response(chat, caller="responses", provider="chat", model="m", request=request)["object"]
        == "response"
    )
    assert (
        translate_response(message, caller="responses", provider="messages", model="m", request=request)[
            "object"
        ]
        == "response"
    )


def test_unknown_fields_are_dropped_and_listed_under_their_own_name() -> None:
    notes = Notes("chat", "messages")
    out = translate_request(
        {"model": "x", "messages": [], "frobnicate": True},
        caller="chat",
        provider="messages",
        upstream_model="up",
        default_max_tokens=1,
        notes=notes,
    )
    assert "frobnicate" not in out and notes.dropped == ["frobnicate"]
