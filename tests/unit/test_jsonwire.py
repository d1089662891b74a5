"""Bodies parsed from UTF-8 bytes (a byte-order mark tolerated) and written compact, text kept as is."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

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


def _chat(raw_body: bytes) -> Call:
    return Call(api="chat", shape="openai", endpoint="/v1/chat/completions", headers={}, raw_body=raw_body)


def test_a_body_that_is_not_utf8_is_a_clear_400() -> None:
    with pytest.raises(InvalidRequest, match="not valid JSON"):
        parse_body(_chat('{"model": "mock/echo", "x": "caf\xe9"}'.encode("latin-1")))


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


def _stdlib(raw: bytes) -> object:
    return json.loads(raw.decode("utf-8").removeprefix("\ufeff"))


json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**80), max_value=2**80)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=20,
)


@given(json_values, st.booleans())
@settings(max_examples=300, deadline=None)
def test_a_callers_body_parses_to_what_the_standard_library_reads(value: object, ascii_only: bool) -> None:
    raw = json.dumps(value, ensure_ascii=ascii_only).encode()
    parsed, text_checked = jsonwire.loads_request(raw)
    assert repr(parsed) == repr(_stdlib(raw))  # repr: 1 and 1.0, -0.0 and 0.0 told apart
    # Text is vouched for whenever a fast parser read the body: always, long numbers included.
    assert text_checked


@given(st.from_regex(r"-?(0|[1-9][0-9]{0,24})(\.[0-9]{1,25})?([eE][-+]?[0-9]{1,3})?", fullmatch=True))
@settings(max_examples=300, deadline=None)
def test_numbers_as_callers_spell_them_read_the_same(number: str) -> None:
    raw = f'{{"n":{number}}}'.encode()
    assert repr(jsonwire.loads_request(raw)[0]) == repr(_stdlib(raw))


def test_integers_past_64_bits_stay_exact_without_the_slow_parser() -> None:
    for number in (2**64, 2**64 - 1, -(2**63) - 1, 10**30, -(10**40)):
        parsed, text_checked = jsonwire.loads_request(f'{{"max":{number},"s":"x"}}'.encode())
        assert parsed["max"] == number and isinstance(parsed["max"], int)
        assert text_checked  # read by the fast parser: no search for lone surrogates needed


def test_a_long_run_of_digits_in_text_keeps_the_fast_parser() -> None:
    """A timestamp in nanoseconds (19 digits) in a tool result used to send the whole body to the
    standard library."""
    raw = b'{"model":"m","messages":[{"role":"user","content":"at 1733500000123456789 ns"}]}'
    assert jsonwire.loads_request(raw) == (json.loads(raw), True)


def test_nesting_the_fast_parser_refuses_is_read_as_before() -> None:
    # Past msgspec's depth (the interpreter's recursion limit), within orjson's.
    deep = b"[" * 1020 + b"]" * 1020
    parsed, text_checked = jsonwire.loads_request(deep)
    depth = 0
    while isinstance(parsed, list) and parsed:
        parsed, depth = parsed[0], depth + 1
    assert (parsed, depth, text_checked) == ([], 1019, True)


def test_what_the_fast_parser_refuses_is_read_or_refused_as_before() -> None:
    assert jsonwire.loads_request(b"\xef\xbb\xbf{}") == ({}, False)
    assert jsonwire.loads_request(b'{"t":1e400}') == ({"t": float("inf")}, False)
    for lone in (b'{"s":"\\ud800"}', b'{"s":"\\udc00x"}'):  # read as the standard library reads them
        parsed, text_checked = jsonwire.loads_request(lone)
        assert not text_checked and parsed == _stdlib(lone)
    for refused in (b'{"t":NaN}', b"[Infinity]", b'{"a":1,}', b"", b'"caf\xe9"', b'{"a":"\x01"}'):
        with pytest.raises(ValueError):
            jsonwire.loads_request(refused)


def test_a_lone_surrogate_is_still_named_after_the_fast_parser_refused_it() -> None:
    call = _chat(b'{"model":"mock/echo","messages":[{"role":"user","content":"a\\ud800"}]}')
    with pytest.raises(InvalidRequest, match="not valid Unicode") as caught:
        parse_body(call)
    assert caught.value.param == "messages[0].content"


@given(json_values | st.floats(), st.booleans())
@settings(max_examples=300, deadline=None)
def test_a_providers_event_parses_to_what_the_standard_library_reads(value: object, ascii_only: bool) -> None:
    text = json.dumps(value, ensure_ascii=ascii_only)  # NaN and Infinity included, as json writes them
    assert repr(jsonwire.loads_event(text)) == repr(json.loads(text))


@pytest.mark.parametrize(
    "text",
    [
        '{"n": 1e400}',
        '"\\ud800"',
        "[" * 100_000 + "]" * 100_000,
        '{"a": 1, "a": 2}',
        "123456789012345678901234567890",
    ],
)
def test_what_msgspec_refuses_in_an_event_is_read_as_json_reads_it(text: str) -> None:
    try:
        expected: object = json.loads(text)
    except RecursionError:
        with pytest.raises(RecursionError):
            jsonwire.loads_event(text)
        return
    assert repr(jsonwire.loads_event(text)) == repr(expected)


@pytest.mark.parametrize("text", ["", "{", '{"a": }', "\ufeff{}", "nope"])
def test_an_event_that_is_not_json_raises_value_error_as_before(text: str) -> None:
    with pytest.raises(ValueError):
        jsonwire.loads_event(text)


@given(json_values | st.floats(), st.booleans())
@settings(max_examples=300, deadline=None)
def test_a_providers_answer_parses_to_what_the_standard_library_reads(
    value: object, ascii_only: bool
) -> None:
    raw = json.dumps(value, ensure_ascii=ascii_only).encode()
    assert repr(jsonwire.loads(raw)) == repr(json.loads(raw))


@pytest.mark.parametrize(
    "raw",
    [
        b'{"n": NaN}',
        b'{"n": 1e400}',
        b"\xef\xbb\xbf[1]",
        b'{"a": 1, "a": 2}',
        b"123456789012345678901234567890",
    ],
)
def test_what_msgspec_refuses_in_an_answer_is_read_as_before(raw: bytes) -> None:
    assert repr(jsonwire.loads(raw)) == repr(json.loads(raw.decode().removeprefix("\ufeff")))


@pytest.mark.parametrize("raw", [b"", b"<html>", b'{"a": }', b'{"s": "caf\xe9"}'])
def test_an_answer_that_is_not_utf8_json_raises_value_error_as_before(raw: bytes) -> None:
    with pytest.raises(ValueError):
        jsonwire.loads(raw)
