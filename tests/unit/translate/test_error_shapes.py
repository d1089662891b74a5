"""Provider errors reshaped for the caller's API, and mid-stream error events each SDK understands."""

from __future__ import annotations

import anthropic
import openai
import pytest

from olga_cli.providers.error_shapes import (
    anthropic_error_type,
    map_error,
    stream_error_event,
    to_anthropic_error,
    to_openai_error,
)
from olga_cli.providers.translate import translate_error
from tests.unit.translate.sdk_streams import anthropic_final_message, openai_chat_chunks, parse_events


@pytest.mark.parametrize(
    ("status", "kind"),
    [
        (400, "invalid_request_error"),
        (401, "authentication_error"),
        (403, "permission_error"),
        (404, "not_found_error"),
        (413, "request_too_large"),
        (429, "rate_limit_error"),
        (500, "api_error"),
        (529, "overloaded_error"),
        (502, "api_error"),
        (503, "api_error"),
        (422, "invalid_request_error"),
    ],
)
def test_anthropic_error_type_by_status(status: int, kind: str) -> None:
    assert anthropic_error_type(status) == kind


def test_openai_error_becomes_anthropic_shape() -> None:
    body = {
        "error": {
            "message": "Rate limit reached for gpt-4o",
            "type": "requests",
            "param": None,
            "code": "rate_limit_exceeded",
        }
    }
    assert to_anthropic_error(429, body) == {
        "type": "error",
        "error": {
            "type": "rate_limit_error",
            "message": "Rate limit reached for gpt-4o",
            "code": "rate_limit_exceeded",
        },
    }


def test_anthropic_error_becomes_openai_shape() -> None:
    body = {"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}}
    assert to_openai_error(529, body) == {
        "error": {"message": "Overloaded", "type": "server_error", "param": None, "code": "overloaded_error"}
    }


def test_errors_already_in_the_target_shape_pass_unchanged() -> None:
    anthropic_body = {"type": "error", "error": {"type": "invalid_request_error", "message": "bad"}}
    openai_body = {
        "error": {"message": "bad", "type": "invalid_request_error", "param": "messages", "code": None}
    }
    assert to_anthropic_error(400, anthropic_body) == anthropic_body
    assert to_openai_error(400, openai_body) == openai_body


@pytest.mark.parametrize(
    "body", [b"<html>Bad Gateway</html>", "upstream connect error", None, {"detail": "x"}]
)
def test_non_standard_bodies_still_give_a_message(body: object) -> None:
    anthropic_shape = map_error(502, body, to="anthropic")
    assert anthropic_shape["type"] == "error" and anthropic_shape["error"]["type"] == "api_error"
    assert anthropic_shape["error"]["message"]
    assert map_error(502, body, to="openai")["error"]["message"]


def test_translate_error_picks_the_shape_by_the_callers_api() -> None:
    body = {"type": "error", "error": {"type": "not_found_error", "message": "model: claude-x"}}
    assert translate_error(404, body, caller="chat")["error"]["message"] == "model: claude-x"
    assert translate_error(404, body, caller="responses")["error"]["code"] == "not_found_error"
    assert translate_error(404, body, caller="messages") == body


def test_openai_sdk_raises_the_status_error_for_a_translated_body() -> None:
    # The SDK picks the exception by status and reads `message` from the body's "error" object.
    import httpx2

    client = openai.OpenAI(api_key="k", base_url="http://127.0.0.1:9/v1", max_retries=0)
    body = to_openai_error(
        429, {"type": "error", "error": {"type": "rate_limit_error", "message": "slow down"}}
    )
    response = httpx2.Response(
        429, json=body, request=httpx2.Request("POST", "http://127.0.0.1:9/v1/chat/completions")
    )
    error = client._make_status_error_from_response(response)
    assert isinstance(error, openai.RateLimitError) and "slow down" in error.message


# ------------------------------------------------------------------ mid-stream error events


def test_messages_stream_error_event_raises_in_the_anthropic_sdk() -> None:
    raw = stream_error_event("messages", "Overloaded", "overloaded_error")
    assert (
        raw
        == b'event: error\ndata: {"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}\n\n'
    )
    start = (
        b'event: message_start\ndata: {"type":"message_start","message":{"id":"msg_1","type":"message",'
        b'"role":"assistant","model":"m","content":[],"stop_reason":null,"stop_sequence":null,'
        b'"usage":{"input_tokens":1,"output_tokens":1}}}\n\n'
    )
    with pytest.raises(anthropic.APIStatusError, match="Overloaded") as info:
        anthropic_final_message(start + raw)
    assert info.value.body == {
        "type": "error",
        "error": {"type": "overloaded_error", "message": "Overloaded"},
    }


def test_chat_stream_error_event_raises_in_the_openai_sdk() -> None:
    raw = stream_error_event("chat", "The provider failed", "server_error", "upstream_error")
    assert parse_events(raw)[0].event is None
    with pytest.raises(openai.APIError, match="The provider failed") as info:
        openai_chat_chunks(raw)
    assert info.value.body == {
        "message": "The provider failed",
        "type": "server_error",
        "param": None,
        "code": "upstream_error",
    }


def test_responses_stream_error_event_is_a_response_error_event() -> None:
    from openai.types.responses import ResponseErrorEvent

    raw = stream_error_event("responses", "boom", "server_error", "upstream_error", sequence_number=7)
    event = parse_events(raw)[0]
    assert event.event == "error"
    parsed = ResponseErrorEvent.model_validate(event.json())
    assert (parsed.message, parsed.code, parsed.sequence_number) == ("boom", "upstream_error", 7)
