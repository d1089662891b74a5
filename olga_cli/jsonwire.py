"""JSON as it crosses the wire on the request path: bodies read from UTF-8 bytes, written compact.

``json.loads`` on bytes first sniffs for UTF-16 and UTF-32 in Python code; the APIs olga serves speak
UTF-8 only, so bodies are decoded directly (a stray byte-order mark tolerated). ``json.dumps`` with
separators builds a new encoder on every call; these are built once.

Bodies are written with orjson: an agent's turn is 100-200 KB of JSON that olga re-encodes on every
request (the model name changed, cache breakpoints added), and the standard library's encoder takes
1.2 ms for 150 KB where orjson takes 0.06 ms, with the same bytes but for two spellings: a negative
exponent without its leading zero (``1e-7`` for ``1e-07``, the same number) and a non-finite float as
``null`` instead of the non-JSON ``NaN``. What orjson refuses (integers past 64 bits, non-string keys,
lone surrogates) goes through the standard library as before. Parsing stays with the standard
library: orjson reads integers past 64 bits as floats, which would silently change a number a caller
or a provider sent.
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


def loads_request(raw: bytes) -> Any:
    """``loads`` for a caller's body, which must be standard JSON: Python's parser also takes ``NaN``
    and ``Infinity``, which no provider would, so they are refused here (``ValueError``)."""
    return json.loads(raw.decode("utf-8").removeprefix("\ufeff"), parse_constant=_not_json)


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
