"""Walkers reach every text the model reads or the user gets, in each API's body shapes."""

from __future__ import annotations

import json
from typing import Any

from olga_cli.guardrails import (
    GuardrailSpec,
    Screen,
    request_texts,
    response_texts,
    screen_request,
    screen_response,
)

EMAIL = "jane.doe@example.com"
REDACT = Screen([GuardrailSpec("g1", "pii", "pii", "both", "redact")], "input")
REDACT_OUT = Screen([GuardrailSpec("g1", "pii", "pii", "both", "redact")], "output")
BLOCK = Screen([GuardrailSpec("g2", "no-pii", "pii", "input", "block")], "input")


def paths(slots: Any) -> list[str]:
    return [slot.path for slot in slots]


def test_chat_request_texts_cover_messages_parts_tool_calls_and_tool_results() -> None:
    body: dict[str, Any] = {
        "model": "gpt-4o-mini",
        "messages": [
            {"role": "system", "content": "You are terse."},
            {"role": "user", "content": [
                {"type": "text", "text": f"mail {EMAIL}"},
                {"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBORw0KGgo="}},
            ]},
            {"role": "assistant", "content": None, "tool_calls": [
                {"id": "call_1", "type": "function",
                 "function": {"name": "send", "arguments": json.dumps({"to": EMAIL})}},
            ]},
            {"role": "tool", "tool_call_id": "call_1", "content": f"sent to {EMAIL}"},
            {"role": "tool", "tool_call_id": "call_2", "content": [{"type": "text", "text": "ok"}]},
            {"role": "assistant", "content": [{"type": "refusal", "refusal": "no"}], "refusal": "no"},
            {"role": "assistant", "function_call": {"name": "f", "arguments": "{}"}},
        ],
        "prediction": {"type": "content", "content": "draft"},
    }  # fmt: skip
    assert paths(request_texts("chat", body)) == [
        "messages[0].content",
        "messages[1].content[0].text",
        "messages[2].tool_calls[0].function.arguments",
        "messages[3].content",
        "messages[4].content[0].text",
        "messages[5].content[0].refusal",
        "messages[5].refusal",
        "messages[6].function_call.arguments",
        "prediction.content",
    ]
    outcome = screen_request("chat", body, REDACT)
    assert len(outcome.violations) == 3 and outcome.redacted and outcome.blocked is None
    assert body["messages"][1]["content"][0]["text"] == "mail [EMAIL]"
    assert json.loads(body["messages"][2]["tool_calls"][0]["function"]["arguments"]) == {"to": "[EMAIL]"}
    assert body["messages"][3]["content"] == "sent to [EMAIL]"
    assert body["messages"][1]["content"][1]["image_url"]["url"].startswith("data:image/png")


def test_chat_response_texts_cover_content_refusal_and_tool_call_arguments() -> None:
    body: dict[str, Any] = {
        "id": "chatcmpl-1", "object": "chat.completion",
        "choices": [
            {"index": 0, "finish_reason": "tool_calls", "message": {
                "role": "assistant", "content": f"Found {EMAIL}", "refusal": None,
                "tool_calls": [{"id": "c", "type": "function",
                                "function": {"name": "lookup", "arguments": json.dumps({"email": EMAIL})}}],
            }},
            {"index": 1, "finish_reason": "stop", "message": {"role": "assistant", "content": None,
                                                              "refusal": "I can't share that."}},
        ],
    }  # fmt: skip
    assert paths(response_texts("chat", body)) == [
        "choices[0].message.content",
        "choices[0].message.tool_calls[0].function.arguments",
        "choices[1].message.refusal",
    ]
    outcome = screen_response("chat", body, REDACT_OUT)
    assert {v.stage for v in outcome.violations} == {"output"}
    assert body["choices"][0]["message"]["content"] == "Found [EMAIL]"
    assert json.loads(body["choices"][0]["message"]["tool_calls"][0]["function"]["arguments"]) == {
        "email": "[EMAIL]"
    }


def test_messages_request_texts_cover_system_blocks_tool_use_and_tool_results() -> None:
    body: dict[str, Any] = {
        "model": "claude-haiku-4-5", "max_tokens": 100,
        "system": [{"type": "text", "text": f"Operator: {EMAIL}", "cache_control": {"type": "ephemeral"}}],
        "messages": [
            {"role": "user", "content": f"hi {EMAIL}"},
            {"role": "assistant", "content": [
                {"type": "thinking", "thinking": f"user is {EMAIL}", "signature": "sig"},
                {"type": "text", "text": "Looking up."},
                {"type": "tool_use", "id": "tu1", "name": "crm",
                 "input": {"query": EMAIL, "filters": [{"field": "owner", "value": EMAIL}], "limit": 3}},
            ]},
            {"role": "user", "content": [
                {"type": "tool_result", "tool_use_id": "tu1", "content": f"owner {EMAIL}"},
                {"type": "tool_result", "tool_use_id": "tu2", "content": [
                    {"type": "text", "text": "row 1"},
                    {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": "iVBORw0KGgo="}},
                ]},
                {"type": "document", "source": {"type": "text", "media_type": "text/plain", "data": "doc body"},
                 "title": "Notes"},
                {"type": "document", "source": {"type": "content", "content": [{"type": "text", "text": "chunk"}]}},
            ]},
        ],
    }  # fmt: skip
    assert paths(request_texts("messages", body)) == [
        "system[0].text",
        "messages[0].content",
        "messages[1].content[1].text",
        "messages[1].content[2].input.query",
        "messages[1].content[2].input.filters[0].field",
        "messages[1].content[2].input.filters[0].value",
        "messages[2].content[0].content",
        "messages[2].content[1].content[0].text",
        "messages[2].content[2].title",
        "messages[2].content[2].source.data",
        "messages[2].content[3].source.content[0].text",
    ]
    screen_request("messages", body, REDACT)
    assert body["system"][0]["text"] == "Operator: [EMAIL]"
    assert body["messages"][1]["content"][2]["input"]["filters"][0]["value"] == "[EMAIL]"
    assert body["messages"][1]["content"][2]["input"]["limit"] == 3
    # Signed thinking from an earlier turn goes back untouched.
    assert body["messages"][1]["content"][0]["thinking"] == f"user is {EMAIL}"


def test_messages_system_as_a_string() -> None:
    body = {"system": f"contact {EMAIL}", "messages": [{"role": "user", "content": "hi"}]}
    assert paths(request_texts("messages", body)) == ["system", "messages[0].content"]
    assert screen_request("messages", body, BLOCK).blocked is not None


def test_messages_response_texts_cover_text_tool_use_and_thinking() -> None:
    body: dict[str, Any] = {
        "type": "message", "role": "assistant",
        "content": [
            {"type": "thinking", "thinking": f"the user is {EMAIL}", "signature": "s"},
            {"type": "text", "text": f"Your email is {EMAIL}"},
            {"type": "tool_use", "id": "t", "name": "notify", "input": {"to": EMAIL}},
        ],
    }  # fmt: skip
    assert paths(response_texts("messages", body)) == [
        "content[0].thinking", "content[1].text", "content[2].input.to",
    ]  # fmt: skip
    screen_response("messages", body, REDACT_OUT)
    assert body["content"][1]["text"] == "Your email is [EMAIL]"
    assert body["content"][2]["input"] == {"to": "[EMAIL]"}


def test_responses_request_input_as_a_string_and_instructions() -> None:
    body = {"model": "gpt-4o-mini", "instructions": f"Sign as {EMAIL}", "input": f"write to {EMAIL}"}
    assert paths(request_texts("responses", body)) == ["instructions", "input"]
    screen_request("responses", body, REDACT)
    assert body == {"model": "gpt-4o-mini", "instructions": "Sign as [EMAIL]", "input": "write to [EMAIL]"}


def test_responses_request_input_items() -> None:
    body: dict[str, Any] = {
        "input": [
            {"role": "user", "content": f"hi {EMAIL}"},
            {"type": "message", "role": "user", "content": [
                {"type": "input_text", "text": "see image"},
                {"type": "input_image", "image_url": "data:image/png;base64,iVBORw0KGgo="},
            ]},
            {"type": "message", "role": "assistant", "content": [{"type": "output_text", "text": "ok", "annotations": []}]},
            {"type": "reasoning", "id": "rs_1", "summary": [{"type": "summary_text", "text": "thought"}],
             "encrypted_content": "gAAAA"},
            {"type": "function_call", "call_id": "c1", "name": "send", "arguments": json.dumps({"to": EMAIL})},
            {"type": "function_call_output", "call_id": "c1", "output": f"sent to {EMAIL}"},
            {"type": "function_call_output", "call_id": "c2", "output": [{"type": "input_text", "text": "done"}]},
            {"type": "custom_tool_call", "call_id": "c3", "name": "sql", "input": "select 1"},
            {"type": "mcp_call", "id": "m", "name": "x", "server_label": "s", "arguments": "{}", "output": "out"},
            {"type": "item_reference", "id": "msg_1"},
        ],
        "prompt": {"id": "pmpt_1", "variables": {"customer": EMAIL, "note": {"type": "input_text", "text": "vip"}}},
    }  # fmt: skip
    assert paths(request_texts("responses", body)) == [
        "input[0].content",
        "input[1].content[0].text",
        "input[2].content[0].text",
        "input[4].arguments",
        "input[5].output",
        "input[6].output[0].text",
        "input[7].input",
        "input[8].arguments",
        "input[8].output",
        "prompt.variables.customer",
        "prompt.variables.note.text",
    ]
    outcome = screen_request("responses", body, REDACT)
    assert len(outcome.violations) == 4
    assert body["prompt"]["variables"]["customer"] == "[EMAIL]"


def test_responses_response_output_items() -> None:
    body: dict[str, Any] = {
        "object": "response", "instructions": "be nice",
        "output": [
            {"type": "reasoning", "id": "rs", "summary": [{"type": "summary_text", "text": f"user {EMAIL}"}]},
            {"type": "message", "id": "msg", "role": "assistant", "status": "completed", "content": [
                {"type": "output_text", "text": f"Write to {EMAIL}", "annotations": []},
                {"type": "refusal", "refusal": "no"},
            ]},
            {"type": "function_call", "id": "fc", "call_id": "c", "name": "f", "arguments": json.dumps({"e": EMAIL})},
        ],
    }  # fmt: skip
    assert paths(response_texts("responses", body)) == [
        "output[0].summary[0].text",
        "output[1].content[0].text",
        "output[1].content[1].refusal",
        "output[2].arguments",
    ]
    screen_response("responses", body, REDACT_OUT)
    assert body["output"][1]["content"][0]["text"] == "Write to [EMAIL]"


def test_embeddings_input_strings_but_not_token_arrays() -> None:
    assert paths(request_texts("embeddings", {"input": EMAIL})) == ["input"]
    body = {"input": [EMAIL, "plain", [1, 2, 3]]}
    assert paths(request_texts("embeddings", body)) == ["input[0]", "input[1]"]
    screen_request("embeddings", body, REDACT)
    assert body["input"] == ["[EMAIL]", "plain", [1, 2, 3]]
    assert paths(response_texts("embeddings", {"data": [{"embedding": [0.1]}]})) == []


def test_malformed_bodies_are_walked_without_errors() -> None:
    for api in ("chat", "messages", "responses", "embeddings"):
        for body in ({}, {"messages": "x", "input": 3, "system": None, "choices": [None, 1]}):
            assert isinstance(paths(request_texts(api, body)), list)  # type: ignore[arg-type]
            assert isinstance(paths(response_texts(api, body)), list)  # type: ignore[arg-type]


def test_a_block_anywhere_in_the_body_blocks_the_request_and_names_the_field() -> None:
    body = {"messages": [{"role": "user", "content": "hi"}, {"role": "user", "content": f"I am {EMAIL}"}]}
    outcome = screen_request("chat", body, BLOCK)
    assert outcome.blocked is not None and outcome.blocked.field == "messages[1].content"
    assert body["messages"][1]["content"] == f"I am {EMAIL}"
    assert not outcome.redacted


def test_redacting_a_response_drops_token_logprobs_that_would_spell_the_text_out() -> None:
    def body() -> dict[str, Any]:
        logprobs = {"content": [{"token": EMAIL, "logprob": -0.1, "top_logprobs": []}]}
        message = {"role": "assistant", "content": f"hi {EMAIL}"}
        return {"choices": [{"index": 0, "message": message, "logprobs": logprobs}]}

    redacted = body()
    screen_response("chat", redacted, REDACT_OUT)
    assert redacted["choices"][0]["logprobs"] is None
    logged = body()
    screen_response("chat", logged, Screen([GuardrailSpec("g", "audit", "pii", "output", "log")], "output"))
    assert logged == body()

    part = {"type": "output_text", "text": f"hi {EMAIL}", "logprobs": [{"token": EMAIL, "logprob": -0.1}]}
    responses_body: dict[str, Any] = {"output": [{"type": "message", "content": [part]}]}
    screen_response("responses", responses_body, REDACT_OUT)
    assert part == {"type": "output_text", "text": "hi [EMAIL]", "logprobs": []}
