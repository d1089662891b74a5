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

A caller's body is parsed with orjson too (0.5 ms for an agent's 150 KB against 1.8 ms for decoding
and ``json.loads``), except where it would differ from the standard library: orjson reads integers
past 64 bits as floats, silently changing a number the caller sent, so a body with a run of 19 digits
or more goes to the standard library; and whatever orjson refuses (``NaN``, ``1e400``, a byte-order
mark, a lone surrogate) is parsed, or explained, by the standard library as before. Responses from
providers stay with the standard library.
"""

from __future__ import annotations

import json
from typing import Any

import orjson

_COMPACT = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False).encode


def loads(raw: bytes | str) -> Any:
    """Parse a JSON body; ``ValueError`` (``UnicodeDecodeError`` included) when it is not UTF-8 JSON."""
    text = raw.decode("utf-8") if isinstance(raw, bytes) else raw
    return json.loads(text.removeprefix("\ufeff"))


# Every digit as "0", every other byte as ".": a run of digits becomes a run of "0" that a substring
# test finds (both run in C; a regular expression for a run of digits takes ten times as long).
_DIGITS_ONLY = bytes(48 if 48 <= byte <= 57 else 46 for byte in range(256))
_LONG_NUMBER = b"0" * 19  # up to 18 digits every integer is within orjson's 64 bits


def loads_request(raw: bytes) -> tuple[Any, bool]:
    """``loads`` for a caller's body, which must be standard JSON: Python's parser also takes ``NaN``
    and ``Infinity``, which no provider would, so they are refused here (``ValueError``).

    Returns the value and whether all its text is known to be valid Unicode: orjson refuses lone
    surrogates (``"\\ud800"``), so a body it parsed needs no search for them.
    """
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
