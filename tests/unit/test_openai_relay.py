"""The OpenAI passthrough relay: bytes forwarded as they came, minus only what olga itself asked for."""

from __future__ import annotations

import json

from hypothesis import given
from hypothesis import strategies as st

from olga_cli.providers.openai import _NULL_USAGE, ChatPassthroughRelay, without_null_usage
from olga_cli.providers.sse import SSEParser


def relay(raw: bytes, *, wants_usage: bool) -> tuple[list[bytes], ChatPassthroughRelay]:
    r = ChatPassthroughRelay(client_wants_usage=wants_usage)
    out = [b for event in SSEParser().feed(raw) for b in r.feed(event)] + r.finish()
    return out, r


def chunk(content: str, **extra: object) -> bytes:
    body = {
        "id": "c1",
        "model": "m",
        "choices": [{"index": 0, "delta": {"content": content}, "finish_reason": None}],
        **extra,
    }
    return b"data: " + json.dumps(body, separators=(",", ":")).encode() + b"\n\n"


def test_text_that_looks_like_a_usage_field_is_left_alone() -> None:
    tricky = 'he said "usage": null, twice'
    out, r = relay(chunk(tricky, usage=None), wants_usage=False)
    sent = json.loads(out[0][len(b"data: ") :])
    assert "usage" not in sent
    assert sent["choices"][0]["delta"]["content"] == tricky
    assert r.facts.text == tricky


def test_a_client_that_asked_gets_every_byte() -> None:
    raw = (
        chunk("a", usage=None)
        + b'data: {"id":"c1","choices":[],"usage":{"prompt_tokens":3,"completion_tokens":1}}\n\n'
    )
    out, r = relay(raw, wants_usage=True)
    assert b"".join(out[:-1]) == raw
    assert r.facts.usage is not None and r.facts.usage.prompt_tokens == 3


def test_the_usage_chunk_is_hidden_but_counted() -> None:
    raw = (
        chunk("a", usage=None)
        + b'data: {"id":"c1","choices":[],"usage":{"prompt_tokens":3,"completion_tokens":1}}\n\n'
    )
    out, r = relay(raw, wants_usage=False)
    assert len(out) == 2 and out[-1] == b"data: [DONE]\n\n"
    assert r.facts.usage is not None and r.facts.usage.completion_tokens == 1


def test_an_error_chunk_is_forwarded_and_noted() -> None:
    raw = (
        chunk("partial") + b'data: {"error":{"message":"The server had an error","type":"server_error"}}\n\n'
    )
    out, r = relay(raw, wants_usage=False)
    assert out[1] == b'data: {"error":{"message":"The server had an error","type":"server_error"}}\n\n'
    assert r.facts.error == "The server had an error"


@given(
    content=st.text(),
    at=st.integers(min_value=0, max_value=3),
    separators=st.sampled_from([(",", ":"), (", ", ": "), (",", " : ")]),
)
def test_the_null_usage_is_cut_as_the_expression_cuts_it_in_any_spelling(
    content: str, at: int, separators: tuple[str, str]
) -> None:
    """The plain-replace path and the expression agree, whichever key ``usage`` follows."""
    items = [("id", "c1"), ("model", "m"), ("choices", [{"index": 0, "delta": {"content": content}}])]
    items.insert(at, ("usage", None))
    raw = b"data: " + json.dumps(dict(items), separators=separators).encode() + b"\n\n"
    cut = without_null_usage(raw)
    assert cut == _NULL_USAGE.sub(b"", raw)
    assert "usage" not in json.loads(cut[len(b"data: ") :])
