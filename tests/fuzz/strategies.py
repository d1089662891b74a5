"""Hypothesis strategies for what callers send: bodies for every route (valid shapes, then mutated:
fields of the wrong type, dropped, added; unicode edge cases down to lone surrogates), header values
of any bytes and size, and raw HTTP request lines."""

from __future__ import annotations

import copy
import json
from typing import Any

from hypothesis import strategies as st

from olga_cli.validation import TABLES

# Any code point, lone surrogates included (hypothesis leaves them out unless asked).
CHARS = st.characters(exclude_categories=())
EDGE_TEXT = st.sampled_from(
    [
        "",
        "\x00",
        "\ud800",
        "\udfff",
        "a\ud83d",
        "\U0001f600",
        "\u202e\u0627",
        "\ufeff",
        "\\u0000",
        " " * 3,
        "x" * 5000,
    ]
)
TEXT = st.one_of(st.text(CHARS, max_size=30), EDGE_TEXT)
NUMBERS = st.one_of(
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=False, allow_infinity=False),
    st.sampled_from([0, 1, -1, 2, 0.5, 1e308, -0.0, 128, 129]),
)
JSON_VALUES = st.recursive(
    st.one_of(st.none(), st.booleans(), NUMBERS, TEXT),
    lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(TEXT, inner, max_size=4)),
    max_leaves=12,
)

OPENAI_MODELS = st.sampled_from(["openai/gpt-4o-mini", "anthropic/claude-haiku-4-5", "mock/echo"])
ANTHROPIC_MODELS = st.sampled_from(["anthropic/claude-haiku-4-5", "openai/gpt-4o-mini", "mock/echo"])

_CHAT_MESSAGE = st.one_of(
    st.fixed_dictionaries({"role": st.sampled_from(["user", "system", "developer"]), "content": TEXT}),
    st.fixed_dictionaries(
        {
            "role": st.just("user"),
            "content": st.lists(
                st.fixed_dictionaries({"type": st.just("text"), "text": TEXT}), min_size=1, max_size=3
            ),
        }
    ),
    st.fixed_dictionaries(
        {
            "role": st.just("assistant"),
            "content": st.one_of(st.none(), TEXT),
            "tool_calls": st.lists(
                st.fixed_dictionaries(
                    {
                        "id": TEXT,
                        "type": st.just("function"),
                        "function": st.fixed_dictionaries({"name": TEXT, "arguments": TEXT}),
                    }
                ),
                max_size=2,
            ),
        }
    ),
    st.fixed_dictionaries({"role": st.just("tool"), "tool_call_id": TEXT, "content": TEXT}),
)
_ANTHROPIC_BLOCK = st.one_of(
    st.fixed_dictionaries({"type": st.just("text"), "text": TEXT}),
    st.fixed_dictionaries(
        {
            "type": st.just("tool_use"),
            "id": TEXT,
            "name": TEXT,
            "input": st.dictionaries(TEXT, JSON_VALUES, max_size=2),
        }
    ),
    st.fixed_dictionaries(
        {
            "type": st.just("tool_result"),
            "tool_use_id": TEXT,
            "content": st.one_of(
                TEXT, st.lists(st.fixed_dictionaries({"type": st.just("text"), "text": TEXT}), max_size=2)
            ),
        }
    ),
    st.fixed_dictionaries({"type": st.just("thinking"), "thinking": TEXT, "signature": TEXT}),
    st.fixed_dictionaries(
        {
            "type": st.just("image"),
            "source": st.fixed_dictionaries(
                {
                    "type": st.just("base64"),
                    "media_type": st.just("image/png"),
                    "data": st.just("iVBORw0KGgo="),
                }
            ),
        }
    ),
)
_ANTHROPIC_MESSAGE = st.fixed_dictionaries(
    {
        "role": st.sampled_from(["user", "assistant"]),
        "content": st.one_of(TEXT, st.lists(_ANTHROPIC_BLOCK, min_size=1, max_size=3)),
    }
)
_RESPONSES_ITEM = st.one_of(
    st.fixed_dictionaries({"role": st.sampled_from(["user", "system", "developer"]), "content": TEXT}),
    st.fixed_dictionaries(
        {
            "type": st.just("message"),
            "role": st.just("user"),
            "content": st.lists(
                st.fixed_dictionaries({"type": st.just("input_text"), "text": TEXT}), min_size=1, max_size=2
            ),
        }
    ),
    st.fixed_dictionaries(
        {"type": st.just("function_call"), "call_id": TEXT, "name": TEXT, "arguments": TEXT}
    ),
    st.fixed_dictionaries({"type": st.just("function_call_output"), "call_id": TEXT, "output": TEXT}),
    st.fixed_dictionaries({"type": st.just("reasoning"), "summary": st.just([]), "encrypted_content": TEXT}),
)
_OPTIONAL = {
    "chat": {
        "stream": st.booleans(),
        "temperature": st.floats(0, 2),
        "max_tokens": st.integers(1, 4096),
        "tools": st.just([{"type": "function", "function": {"name": "f", "parameters": {"type": "object"}}}]),
        "tool_choice": st.sampled_from(["auto", "none", "required"]),
        "stop": st.one_of(TEXT, st.lists(TEXT, max_size=2)),
        "response_format": st.just({"type": "json_schema", "json_schema": {"name": "r", "schema": {"type": "object"}}}),
        "stream_options": st.just({"include_usage": True}),
        "n": st.just(1),
        "user": TEXT,
    },
    "messages": {
        "stream": st.booleans(),
        "system": st.one_of(TEXT, st.just([{"type": "text", "text": "sys", "cache_control": {"type": "ephemeral"}}])),
        "temperature": st.floats(0, 1),
        "tools": st.just([{"name": "f", "input_schema": {"type": "object"}}]),
        "tool_choice": st.just({"type": "auto"}),
        "stop_sequences": st.lists(TEXT, max_size=2),
        "thinking": st.just({"type": "enabled", "budget_tokens": 1024}),
        "metadata": st.fixed_dictionaries({"user_id": TEXT}),
    },
    "responses": {
        "stream": st.booleans(),
        "instructions": TEXT,
        "max_output_tokens": st.integers(16, 4096),
        "tools": st.just([{"type": "function", "name": "f", "parameters": {"type": "object"}}]),
        "text": st.just({"format": {"type": "json_schema", "name": "r", "schema": {"type": "object"}}}),
        "reasoning": st.just({"effort": "low"}),
        "store": st.booleans(),
    },
    "embeddings": {"dimensions": st.integers(1, 3072), "encoding_format": st.sampled_from(["float", "base64"]), "user": TEXT},
    "count_tokens": {"system": TEXT, "tools": st.just([{"name": "f", "input_schema": {"type": "object"}}])},
}  # fmt: skip


def _base(api: str) -> st.SearchStrategy[dict[str, Any]]:
    if api == "chat":
        required = {"model": OPENAI_MODELS, "messages": st.lists(_CHAT_MESSAGE, min_size=1, max_size=4)}
    elif api in ("messages", "count_tokens"):
        required = {
            "model": ANTHROPIC_MODELS,
            "messages": st.lists(_ANTHROPIC_MESSAGE, min_size=1, max_size=4),
        }
        if api == "messages":
            required["max_tokens"] = st.integers(1, 2048)
    elif api == "responses":
        required = {
            "model": OPENAI_MODELS,
            "input": st.one_of(TEXT, st.lists(_RESPONSES_ITEM, min_size=1, max_size=4)),
        }
    else:
        required = {
            "model": st.just("openai/text-embedding-3-small"),
            "input": st.one_of(
                TEXT,
                st.lists(TEXT, min_size=1, max_size=3),
                st.lists(st.integers(0, 50000), min_size=1, max_size=5),
            ),
        }
    return st.fixed_dictionaries(required, optional=_OPTIONAL[api])


def _paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every place in a JSON value, as a path of keys and indexes."""
    out = [prefix] if prefix else []
    if isinstance(value, dict):
        for key, item in value.items():
            out += _paths(item, (*prefix, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            out += _paths(item, (*prefix, index))
    return out


def _parent(body: Any, path: tuple[Any, ...]) -> Any:
    for part in path[:-1]:
        body = body[part]
    return body


@st.composite
def bodies(draw: st.DrawFn, api: str) -> dict[str, Any]:
    """A valid body for ``api``, then up to three mutations: a field olga reads set to any JSON value,
    any value deep inside replaced, or a key dropped."""
    body = copy.deepcopy(draw(_base(api)))  # st.just values are shared: never mutate them in place
    for _ in range(draw(st.integers(0, 3))):
        kind = draw(st.sampled_from(["field", "deep", "drop"]))
        if kind == "field":
            body[draw(st.sampled_from(sorted(TABLES[api].fields)))] = draw(JSON_VALUES)  # type: ignore[index]
            continue
        paths = _paths(body)
        if not paths:
            continue
        path = draw(st.sampled_from(paths))
        parent = _parent(body, path)
        if kind == "deep":
            parent[path[-1]] = draw(JSON_VALUES)
        elif isinstance(parent, dict):
            del parent[path[-1]]
    return body


def encode(body: Any, ascii_only: bool) -> bytes:
    """The body as a client would write it: escapes for everything outside ASCII, or UTF-8 (in which
    a lone surrogate can only be written as invalid bytes)."""
    if ascii_only:
        return json.dumps(body).encode()
    return json.dumps(body, ensure_ascii=False).encode("utf-8", "surrogatepass")


HEADER_NAMES = st.sampled_from(
    ["X-Title", "X-Request-ID", "Authorization", "x-api-key", "anthropic-beta", "anthropic-version", "HTTP-Referer",
     "User-Agent", "x-olga-tags", "x-olga-user", "x-olga-session", "traceparent", "Content-Type", "Accept-Encoding",
     "Content-Encoding", "originator", "x-app", "X-Claude-Code-Session-Id", "Transfer-Encoding"]
)  # fmt: skip
# Any bytes a header value can carry (CR, LF and NUL end the header: the raw HTTP tests cover them).
HEADER_VALUES = st.one_of(
    st.binary(max_size=64).map(lambda b: b.replace(b"\r", b"").replace(b"\n", b"").replace(b"\x00", b"")),
    st.integers(1000, 30000).map(lambda n: b"v" * n),
    st.sampled_from(
        [
            b"Bearer \xff\xfe",
            b"caf\xc3\xa9",
            b"\xed\xa0\x80",
            b"gzip",
            b"chunked",
            b"application/x-www-form-urlencoded",
        ]
    ),
)
METHODS = st.one_of(
    st.sampled_from(["GET", "POST", "HEAD", "DELETE", "PUT", "OPTIONS", "PATCH", "TRACE", "CONNECT"]),
    st.text("ABCXYZ", min_size=1, max_size=8),
)
PATHS = st.one_of(
    st.sampled_from(
        [
            "/v1/chat/completions",
            "/v1/messages",
            "/v1/responses",
            "/v1/embeddings",
            "/v1/models",
            "/v1/generation",
            "/v1/key",
            "/health",
            "/metrics",
            "/v1/messages/count_tokens",
            "/v1/responses/resp_1",
            "/v1/x/messages",
            "/",
        ]
    ),
    st.binary(min_size=1, max_size=60)
    .map(lambda b: b"/" + b.replace(b" ", b"%20").replace(b"\r", b"").replace(b"\n", b""))
    .map(lambda b: b.decode("latin-1")),
).flatmap(
    lambda path: st.sampled_from(
        [path, path + "?id=%ff%fe", path + "?id=" + "%ud800", path + "?beta=true&limit=-1&after_id=\u00e9"]
    )
)
VERSIONS = st.sampled_from(["HTTP/1.1", "HTTP/1.0", "HTTP/2.0", "HTTP/9.9", "http/1.1", "HTTP/1.1x", ""])
