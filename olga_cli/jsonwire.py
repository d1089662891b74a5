"""JSON as it crosses the wire on the request path: bodies read from UTF-8 bytes, written compact.

``json.loads`` on bytes first sniffs for UTF-16 and UTF-32 in Python code; the APIs olga serves speak
UTF-8 only, so bodies are decoded directly (a stray byte-order mark tolerated). ``json.dumps`` with
separators builds a new encoder on every call; these are built once.
"""

from __future__ import annotations

import json
from typing import Any

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
    return _COMPACT(value)


def dumps(value: Any) -> bytes:
    """``dumps_text`` as UTF-8 bytes, for a body."""
    return _COMPACT(value).encode()
