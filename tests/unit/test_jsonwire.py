"""Bodies parsed from UTF-8 bytes (a byte-order mark tolerated) and written compact, text kept as is."""

from __future__ import annotations

import json

import pytest

from olga_cli import jsonwire
from olga_cli.errors import InvalidRequest
from olga_cli.gateway.call import Call
from olga_cli.gateway.pipeline import parse_body


def test_loads_reads_utf8_with_or_without_a_byte_order_mark() -> None:
    body = {"model": "mock/echo", "messages": [{"role": "user", "content": "héllo ✓"}]}
    raw = json.dumps(body, ensure_ascii=False).encode()
    assert jsonwire.loads(raw) == body
    assert jsonwire.loads(b"\xef\xbb\xbf" + raw) == body
    assert jsonwire.loads(raw.decode()) == body


def test_dumps_is_compact_and_keeps_non_ascii_text() -> None:
    assert jsonwire.dumps({"a": [1, "é"], "b": None}) == '{"a":[1,"é"],"b":null}'.encode()


def test_a_body_that_is_not_utf8_is_a_clear_400() -> None:
    call = Call(
        api="chat",
        shape="openai",
        endpoint="/v1/chat/completions",
        headers={},
        raw_body='{"model": "mock/echo", "x": "caf\xe9"}'.encode("latin-1"),
    )
    with pytest.raises(InvalidRequest, match="not valid JSON"):
        parse_body(call)


def test_bodies_are_written_byte_for_byte_as_the_standard_library_writes_them() -> None:
    value = {
        "model": "m",
        "messages": [{"role": "user", "content": 'héllo \n "quoted" \u2028 \x00 ✓'}],
        "numbers": [0, -1, 2**63 - 1, -(2**63), 0.1, 1e16, 3.0, 1.5e300],
        "nested": {"a": [True, False, None, {}, []]},
    }
    expected = json.dumps(value, separators=(",", ":"), ensure_ascii=False)
    assert jsonwire.dumps(value) == expected.encode()
    assert jsonwire.dumps_text(value) == expected
    # The one difference in spelling: a negative exponent has no leading zero. Same number.
    assert jsonwire.dumps([1e-7]) == b"[1e-7]" and json.loads(jsonwire.dumps([1e-7])) == [1e-7]


def test_what_the_fast_writer_refuses_is_written_as_before() -> None:
    for value in ({"big": 2**64}, {"n": -(2**70)}, {1: "a"}):
        expected = json.dumps(value, separators=(",", ":"), ensure_ascii=False)
        assert jsonwire.dumps(value) == expected.encode()
        assert jsonwire.dumps_text(value) == expected
    assert jsonwire.dumps_text({"s": "\ud800"}) == '{"s":"\ud800"}'
    with pytest.raises(UnicodeEncodeError):
        jsonwire.dumps({"s": "\ud800"})
