"""JSON as it crosses the wire on the request path: bodies read from UTF-8 bytes, written compact.

``json.loads`` on bytes first sniffs for UTF-16 and UTF-32 in Python code; the APIs olga serves speak
UTF-8 only, so bodies are decoded directly (a stray byte-order mark tolerated). ``json.dumps`` with
separators builds a new encoder on every call; these are built once.

Bodies are written with orjson: an agent's turn is 100-200 KB of JSON that olga re-encodes on every
request (the model name changed, cache breakpoints added), and the standard library's encoder takes
1.2 ms for 150 KB where orjson takes 0.06 ms, with the same bytes but for two spellings: a negative
exponent without its leading zero (``1e-7`` for ``1e-07``, the same number) and a non-finite float as
``null`` instead of the non-JSON ``NaN``. What orjson refuses (integers past 64 bits, non-string keys,
lone surrogates) goes through the standard library as before.

A caller's body is parsed with msgspec (0.15 ms for an agent's 150 KB against 1.8 ms for decoding and
``json.loads``), which reads every number as the standard library does, integers past 64 bits
included. orjson parses as fast but reads those integers as floats, so it needed a search of the whole
body for runs of 19 digits first (90 µs of 150 KB, and a body with one, such as a timestamp in
nanoseconds, went to the standard library at ten times the cost). What msgspec refuses (``NaN``,
``1e400``, a byte-order mark, a lone surrogate, nesting deeper than the interpreter's recursion limit)
goes the way it went before: orjson unless a long number is there, else the standard library, which
parses it or explains what is wrong. A provider's stream events are parsed the same way, one by one
(``loads_event``: a word of a stream is a few hundred bytes of JSON, which msgspec reads in a third of
the standard library's time); what msgspec refuses goes to the standard library, which takes what it
always took (``NaN``, say) or raises the ``ValueError`` it always raised.
"""

from __future__ import annotations

import json
from typing import Any

import msgspec
import orjson

_COMPACT = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False).encode
_DECODE = msgspec.json.Decoder().decode


def loads(raw: bytes | str) -> Any:
    """Parse a JSON body (a provider's answer, a stored item); ``ValueError`` (``UnicodeDecodeError``
    included) when it is not UTF-8 JSON. msgspec reads what it can, the same value in a third of the
    time; what it refuses (a byte-order mark, ``NaN``, bytes that are not UTF-8, deep nesting) is read,
    or refused, by the standard library as before."""
    try:
        return _DECODE(raw)
    except (msgspec.DecodeError, RecursionError):
        text = raw.decode("utf-8") if isinstance(raw, bytes) else raw
        return json.loads(text.removeprefix("\ufeff"))


# Every digit as "0", every other byte as ".": a run of digits becomes a run of "0" that a substring
# test finds (both run in C; a regular expression for a run of digits takes ten times as long).
_DIGITS_ONLY = bytes(48 if 48 <= byte <= 57 else 46 for byte in range(256))
_LONG_NUMBER = b"0" * 19  # up to 18 digits every integer is within orjson's 64 bits


def loads_event(text: str) -> Any:
    """``json.loads`` of a provider's event data, the same value for any text, faster for all but the
    rare text msgspec refuses."""
    try:
        return _DECODE(text)
    except msgspec.DecodeError:
        return json.loads(text)


def loads_request(raw: bytes) -> tuple[Any, bool]:
    """``loads`` for a caller's body, which must be standard JSON: Python's parser also takes ``NaN``
    and ``Infinity``, which no provider would, so they are refused here (``ValueError``).

    Returns the value and whether all its text is known to be valid Unicode: msgspec and orjson refuse
    lone surrogates (``"\\ud800"``), so a body either parsed needs no search for them.
    """
    try:
        return _DECODE(raw), True
    except (msgspec.DecodeError, RecursionError):
        return _loads_as_before(raw)


def _loads_as_before(raw: bytes) -> tuple[Any, bool]:
    """What msgspec refused: orjson (which nests deeper) unless a long number is there, else the
    standard library."""
    if _LONG_NUMBER not in raw.translate(_DIGITS_ONLY):
        try:
            return orjson.loads(raw), True
        except orjson.JSONDecodeError:
            pass  # the standard library parses it or says what is wrong, as it always did
    return json.loads(raw.decode("utf-8").removeprefix("\ufeff"), parse_constant=_not_json), False


def _not_json(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


def dumps_text(value: Any) -> str:
    """Compact JSON text, non-ASCII text kept as is (as the providers send it)."""
    try:
        return orjson.dumps(value).decode()
    except TypeError:  # orjson.JSONEncodeError: see the module's docstring
        return _COMPACT(value)


def dumps(value: Any) -> bytes:
    """``dumps_text`` as UTF-8 bytes, for a body."""
    try:
        return orjson.dumps(value)
    except TypeError:
        return _COMPACT(value).encode()


# -- a body's large values, forwarded as the caller wrote them --------------------------------------

_TOP_LEVEL = msgspec.json.Decoder(dict[str, msgspec.Raw]).decode


def top_level(raw: bytes) -> dict[str, msgspec.Raw] | None:
    """A JSON object's members, each as its own bytes (unparsed, a view into ``raw``); None for what
    is not an object or that msgspec refuses (the caller parses it the usual way)."""
    try:
        return _TOP_LEVEL(raw)
    except msgspec.DecodeError:
        return None


def loads_value(raw: bytes | msgspec.Raw) -> Any:
    """A member from ``top_level`` parsed; ``msgspec.DecodeError`` for what msgspec refuses."""
    return _DECODE(raw)


# Set by the test suite: every body written from spans is also written the ordinary way and the two
# compared, so that a value changed in place after parsing (which spans would not see) fails a test.
VERIFY_SPANS = False


class Spans:
    """The caller's own bytes for a body's large top-level values, beside the values parsed from them.

    ``dumps`` writes a body olga built from the caller's (the model renamed, fields added or dropped)
    with each of those values that is still the very object parsed written as the caller's bytes
    (``orjson.Fragment``), not encoded again: an agent's tools and system prompt are most of its
    150 KB turn, and encoding them again cost a quarter millisecond on every turn. A value replaced by
    a new object is encoded as usual. This holds only while nothing changes a parsed value in place:
    the pipeline copies what it changes, and a request guardrails screen is sent without spans.
    """

    __slots__ = ("_kept",)

    def __init__(self, kept: dict[str, tuple[Any, bytes]]) -> None:
        self._kept = kept  # name -> (the parsed value, its bytes as the caller sent them)

    def raw(self, name: str) -> bytes | None:
        span = self._kept.get(name)
        return None if span is None else span[1]

    def dumps(self, body: dict[str, Any]) -> bytes:
        kept = self._kept
        out = {}
        for name, value in body.items():
            span = kept.get(name)
            out[name] = orjson.Fragment(span[1]) if span is not None and span[0] is value else value
        try:
            written = orjson.dumps(out)
        except TypeError:  # what orjson refuses elsewhere in the body: the standard library, whole
            return dumps(body)
        if VERIFY_SPANS and loads(written) != loads(dumps(body)):
            raise AssertionError(f"a body written from spans differs from the body: {sorted(kept)}")
        return written
