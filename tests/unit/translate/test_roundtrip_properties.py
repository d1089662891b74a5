"""Property tests: translating there and back keeps the content.

For any conversation a caller can send, translating the request to the other API and back keeps the
text, images, tool calls with their arguments, tool results, stop sequences, tools, tool choice and the
order of roles (adjacent turns of one role may be joined, as Anthropic joins them). For any answer a
provider can give, translating it to the other API and back keeps the text, tool calls, stop reason
and token counts.
"""

from __future__ import annotations

import base64
import itertools
import json
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from olga_cli.providers.chat_to_messages import chat_request_to_messages, messages_response_to_chat
from olga_cli.providers.messages_to_chat import chat_response_to_messages, messages_request_to_chat
from olga_cli.providers.usage import from_anthropic, from_openai

PROPERTY = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])

text = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), min_size=1, max_size=30)
names = st.from_regex(r"[a-zA-Z][a-zA-Z0-9_-]{0,15}", fullmatch=True)
json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(10**6), 10**6) | st.text(max_size=10),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3),
    max_leaves=8,
)
arguments = st.dictionaries(st.text(min_size=1, max_size=8), json_values, max_size=4)
image_urls = st.sampled_from(["https://example.com/a.png", "http://img.test/b.jpg?x=1"]) | st.builds(
    lambda media, raw: f"data:{media};base64,{base64.b64encode(raw).decode()}",
    st.sampled_from(["image/png", "image/jpeg", "image/gif", "image/webp"]),
    st.binary(min_size=1, max_size=24),
)
schemas = st.fixed_dictionaries(
    {"type": st.just("object"), "properties": st.dictionaries(names, st.just({"type": "string"}), max_size=2)}
)


# ------------------------------------------------------------------ Chat conversations


@st.composite
def chat_requests(draw: st.DrawFn) -> dict[str, Any]:
    messages: list[dict[str, Any]] = []
    if draw(st.booleans()):
        content = draw(
            text | st.lists(st.builds(lambda t: {"type": "text", "text": t}, text), min_size=1, max_size=2)
        )
        messages.append({"role": draw(st.sampled_from(["system", "developer"])), "content": content})
    calls_made = 0
    for _ in range(draw(st.integers(1, 4))):
        part = st.builds(lambda t: {"type": "text", "text": t}, text) | st.builds(
            lambda u: {"type": "image_url", "image_url": {"url": u}}, image_urls
        )
        messages.append({"role": "user", "content": draw(text | st.lists(part, min_size=1, max_size=3))})
        if not draw(st.booleans()):
            continue
        calls = draw(st.lists(st.tuples(names, arguments), max_size=3))
        reply: dict[str, Any] = {
            "role": "assistant",
            "content": draw(text) if draw(st.booleans()) or not calls else None,
        }
        if calls:
            reply["tool_calls"] = [
                {
                    "id": f"call_{calls_made + k}",
                    "type": "function",
                    "function": {"name": n, "arguments": json.dumps(a)},
                }
                for k, (n, a) in enumerate(calls)
            ]
        messages.append(reply)
        for k in range(len(calls)):
            result = draw(
                text
                | st.lists(st.builds(lambda t: {"type": "text", "text": t}, text), min_size=2, max_size=2)
            )
            messages.append({"role": "tool", "tool_call_id": f"call_{calls_made + k}", "content": result})
        calls_made += len(calls)
    body: dict[str, Any] = {
        "model": "gpt",
        "messages": messages,
        "max_completion_tokens": draw(st.integers(1, 10**5)),
    }
    stop = draw(st.none() | text | st.lists(text, min_size=1, max_size=4))
    if stop is not None:
        body["stop"] = stop
    for name in ("temperature", "top_p"):
        if draw(st.booleans()):
            body[name] = draw(st.floats(0, 1))
    tools = draw(st.lists(st.tuples(names, st.none() | text, schemas), max_size=3, unique_by=lambda t: t[0]))
    if tools:
        body["tools"] = [
            {
                "type": "function",
                "function": {"name": n, "parameters": s, **({"description": d} if d else {})},
            }
            for n, d, s in tools
        ]
        body["tool_choice"] = draw(
            st.sampled_from(
                ["auto", "none", "required", {"type": "function", "function": {"name": tools[0][0]}}]
            )
        )
        if draw(st.booleans()):
            body["parallel_tool_calls"] = False
    return body


def chat_content_items(content: Any) -> list[tuple[str, str]]:
    if isinstance(content, str):
        return [("text", content)]
    return [
        ("text", p["text"]) if p["type"] == "text" else ("image", p["image_url"]["url"])
        for p in content or []
    ]


def chat_text(content: Any) -> str:
    return "".join(t for _, t in chat_content_items(content))


def chat_view(body: dict[str, Any]) -> dict[str, Any]:
    """What must survive: the system text, then every item of the conversation in order."""
    system, items = "", []
    for m in body["messages"]:
        if m["role"] in ("system", "developer"):
            system += chat_text(m["content"])
        elif m["role"] == "user":
            items += [("user",) + item for item in chat_content_items(m["content"])]
        elif m["role"] == "assistant":
            if chat_text(m.get("content")):
                items.append(("assistant", chat_text(m["content"])))
            for c in m.get("tool_calls") or []:
                items.append(("call", c["id"], c["function"]["name"], json.loads(c["function"]["arguments"])))
        else:
            texts = [m["content"]] if isinstance(m["content"], str) else [p["text"] for p in m["content"]]
            items.append(("result", m["tool_call_id"], tuple(texts)))
    stop = body.get("stop")
    tools = [
        (t["function"]["name"], t["function"].get("description"), t["function"]["parameters"])
        for t in body.get("tools") or []
    ]
    choice = body.get("tool_choice", "auto" if tools else None)
    return {
        "system": system,
        "items": items,
        "stop": [stop] if isinstance(stop, str) else stop,
        "tools": tools,
        # With tool_choice "none" no tool is called, so parallel_tool_calls means nothing there.
        "tool_choice": choice,
        "parallel": body.get("parallel_tool_calls", True) if tools and choice != "none" else None,
        "sampling": (body.get("temperature"), body.get("top_p")),
        "max": body["max_completion_tokens"],
    }


@PROPERTY
@given(chat_requests())
def test_chat_request_there_and_back_keeps_the_conversation(body: dict[str, Any]) -> None:
    anthropic_body = chat_request_to_messages(body, upstream_model="claude", default_max_tokens=1024)
    roles = [m["role"] for m in anthropic_body["messages"]]
    assert all(a != b for a, b in itertools.pairwise(roles)), "Anthropic turns alternate"
    back = messages_request_to_chat(anthropic_body, upstream_model="gpt")
    assert chat_view(back) == chat_view(body)


# ------------------------------------------------------------------ Anthropic conversations


@st.composite
def anthropic_requests(draw: st.DrawFn) -> dict[str, Any]:
    messages: list[dict[str, Any]] = []
    pending: list[str] = []
    made = 0
    for turn in range(draw(st.integers(1, 4))):
        blocks: list[dict[str, Any]] = []
        for call_id in pending:
            content = draw(
                text
                | st.lists(st.builds(lambda t: {"type": "text", "text": t}, text), min_size=1, max_size=2)
            )
            blocks.append({"type": "tool_result", "tool_use_id": call_id, "content": content})
        image = st.builds(
            lambda raw, media: {
                "type": "image",
                "source": {"type": "base64", "media_type": media, "data": base64.b64encode(raw).decode()},
            },
            st.binary(min_size=1, max_size=16),
            st.sampled_from(["image/png", "image/jpeg"]),
        ) | st.builds(
            lambda u: {"type": "image", "source": {"type": "url", "url": u}},
            st.sampled_from(["https://example.com/x.png"]),
        )
        blocks += draw(
            st.lists(
                st.builds(lambda t: {"type": "text", "text": t}, text) | image,
                min_size=0 if pending else 1,
                max_size=3,
            )
        )
        if not pending and len(blocks) == 1 and blocks[0]["type"] == "text" and draw(st.booleans()):
            messages.append({"role": "user", "content": blocks[0]["text"]})
        else:
            messages.append({"role": "user", "content": blocks})
        pending = []
        if turn and not draw(st.booleans()):
            break
        said = draw(st.lists(st.builds(lambda t: {"type": "text", "text": t}, text), max_size=2))
        calls = draw(st.lists(st.tuples(names, arguments), max_size=3, min_size=0 if said else 1))
        uses = [
            {"type": "tool_use", "id": f"toolu_{made + k}", "name": n, "input": a}
            for k, (n, a) in enumerate(calls)
        ]
        made += len(uses)
        pending = [u["id"] for u in uses]
        messages.append({"role": "assistant", "content": said + uses})
    if pending:
        messages.append(
            {
                "role": "user",
                "content": [{"type": "tool_result", "tool_use_id": i, "content": "done"} for i in pending],
            }
        )
    body: dict[str, Any] = {
        "model": "claude",
        "max_tokens": draw(st.integers(1, 10**5)),
        "messages": messages,
    }
    system = draw(
        st.none()
        | text
        | st.lists(st.builds(lambda t: {"type": "text", "text": t}, text), min_size=1, max_size=2)
    )
    if system is not None:
        body["system"] = system
    if draw(st.booleans()):
        body["stop_sequences"] = draw(st.lists(text, min_size=1, max_size=4))
    tools = draw(st.lists(st.tuples(names, schemas), max_size=2, unique_by=lambda t: t[0]))
    if tools:
        body["tools"] = [{"name": n, "input_schema": s} for n, s in tools]
        choice = draw(
            st.sampled_from(
                [{"type": "auto"}, {"type": "any"}, {"type": "none"}, {"type": "tool", "name": tools[0][0]}]
            )
        )
        if choice["type"] != "none" and draw(st.booleans()):
            choice["disable_parallel_tool_use"] = True
        body["tool_choice"] = choice
    return body


def anthropic_view(body: dict[str, Any]) -> dict[str, Any]:
    system = body.get("system") or ""
    items: list[tuple[Any, ...]] = []
    for m in body["messages"]:
        blocks = [{"type": "text", "text": m["content"]}] if isinstance(m["content"], str) else m["content"]
        for b in blocks:
            if b["type"] == "text":
                items.append((m["role"], "text", b["text"]))
            elif b["type"] == "image":
                s = b["source"]
                items.append(("user", "image", s.get("url") or f"data:{s['media_type']};base64,{s['data']}"))
            elif b["type"] == "tool_use":
                items.append(("call", b["id"], b["name"], b["input"]))
            else:
                c = b["content"]
                items.append(
                    ("result", b["tool_use_id"], (c,) if isinstance(c, str) else tuple(p["text"] for p in c))
                )
    return {
        "system": system if isinstance(system, str) else "".join(b["text"] for b in system),
        "items": items,
        "stop": body.get("stop_sequences"),
        "max": body["max_tokens"],
        "tools": body.get("tools"),
        "tool_choice": body.get("tool_choice"),
    }


@PROPERTY
@given(anthropic_requests())
def test_messages_request_there_and_back_keeps_the_conversation(body: dict[str, Any]) -> None:
    chat_body = messages_request_to_chat(body, upstream_model="gpt")
    back = chat_request_to_messages(chat_body, upstream_model="claude", default_max_tokens=1)
    assert anthropic_view(back) == anthropic_view(body)


# ------------------------------------------------------------------ answers


usage_counts = st.integers(0, 10**6)


@PROPERTY
@given(
    texts=st.lists(text, max_size=2),
    calls=st.lists(st.tuples(names, arguments), max_size=3),
    stop=st.sampled_from(["end_turn", "max_tokens", "tool_use"]),
    counts=st.tuples(usage_counts, usage_counts, usage_counts, usage_counts),
)
def test_anthropic_answer_there_and_back_keeps_content_stop_reason_and_tokens(
    texts: list[str], calls: list[tuple[str, dict[str, Any]]], stop: str, counts: tuple[int, int, int, int]
) -> None:
    answer = {
        "id": "msg_1",
        "type": "message",
        "role": "assistant",
        "model": "claude",
        "stop_reason": stop,
        "stop_sequence": None,
        "content": [{"type": "text", "text": t} for t in texts]
        + [{"type": "tool_use", "id": f"toolu_{i}", "name": n, "input": a} for i, (n, a) in enumerate(calls)],
        "usage": dict(
            zip(
                ("input_tokens", "output_tokens", "cache_read_input_tokens", "cache_creation_input_tokens"),
                counts,
            )
        ),
    }
    back = chat_response_to_messages(messages_response_to_chat(answer, model="m"), model="m")
    assert "".join(b["text"] for b in back["content"] if b["type"] == "text") == "".join(texts)
    assert [b for b in back["content"] if b["type"] == "tool_use"] == [
        b for b in answer["content"] if b["type"] == "tool_use"
    ]
    assert back["stop_reason"] == stop
    before, after = from_anthropic(answer["usage"]), from_anthropic(back["usage"])
    assert before is not None and after is not None
    assert (after.prompt_tokens, after.completion_tokens, after.cached_tokens) == (
        before.prompt_tokens,
        before.completion_tokens,
        before.cached_tokens,
    )


@PROPERTY
@given(
    content=st.none() | text,
    calls=st.lists(st.tuples(names, arguments), max_size=3),
    finish=st.sampled_from(["stop", "length", "tool_calls"]),
    counts=st.tuples(usage_counts, usage_counts),
    cached=st.integers(0, 100),
)
def test_chat_answer_there_and_back_keeps_content_finish_reason_and_tokens(
    content: str | None,
    calls: list[tuple[str, dict[str, Any]]],
    finish: str,
    counts: tuple[int, int],
    cached: int,
) -> None:
    prompt, completion = counts[0] + cached, counts[1]
    message: dict[str, Any] = {"role": "assistant", "content": content}
    if calls:
        message["tool_calls"] = [
            {"id": f"call_{i}", "type": "function", "function": {"name": n, "arguments": json.dumps(a)}}
            for i, (n, a) in enumerate(calls)
        ]
    answer = {
        "id": "chatcmpl-1",
        "object": "chat.completion",
        "created": 1,
        "model": "gpt",
        "choices": [{"index": 0, "message": message, "finish_reason": finish}],
        "usage": {
            "prompt_tokens": prompt,
            "completion_tokens": completion,
            "total_tokens": prompt + completion,
            "prompt_tokens_details": {"cached_tokens": cached},
        },
    }
    back = messages_response_to_chat(chat_response_to_messages(answer, model="m"), model="m")
    got = back["choices"][0]
    assert (got["message"]["content"] or "") == (content or "")
    assert [
        (c["id"], c["function"]["name"], json.loads(c["function"]["arguments"]))
        for c in got["message"].get("tool_calls", [])
    ] == [(f"call_{i}", n, a) for i, (n, a) in enumerate(calls)]
    assert got["finish_reason"] == finish
    assert from_openai(back["usage"]) == from_openai(answer["usage"])
