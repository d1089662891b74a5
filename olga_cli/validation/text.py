"""Text that cannot be sent on: lone UTF-16 surrogates.

``"\\ud800"`` is valid JSON, and Python parses it into a string that no UTF-8 encoder takes: it would
fail wherever the text is written (the provider's request, the stored record). Escapes are looked for
in the raw bytes first, a cheap search that finds nothing in almost every body; only a body that has
an unpaired one is walked, to name its field.
"""

from __future__ import annotations

import re
from typing import Any

# A surrogate escape; the literal prefix lets the regex engine skip ahead to each backslash-u.
_SURROGATE = re.compile(rb"\\u[dD][89a-fA-F][0-9a-fA-F]{2}")


def unencodable_field(raw: bytes, body: Any) -> str | None:
    """The path of the first string (or object key) in ``body`` that is not encodable as UTF-8, or
    None. ``raw`` is the body's JSON text, searched first."""
    # Substring tests run at memory speed; the regex walks every byte (about 1 ms for an agent's 150 KB).
    if (b"\\ud" not in raw and b"\\uD" not in raw) or not _has_lone_escape(raw):
        return None
    return _find(body, "")


def _has_lone_escape(raw: bytes) -> bool:
    """A high surrogate escape not followed at once by a low one, or a low one without its high one.
    (An escaped backslash before ``u`` can look like one: the walk that follows settles it.)"""
    pending_high = -1  # where the low half of the last high surrogate must start
    for match in _SURROGATE.finditer(raw):
        high = match.group()[3] in b"89abAB"
        if pending_high != -1 and (high or match.start() != pending_high):
            return True
        if high:
            pending_high = match.end()
        elif pending_high == -1:
            return True
        else:
            pending_high = -1
    return pending_high != -1


def is_encodable(text: str) -> bool:
    if text.isascii():
        return True
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _find(value: Any, path: str) -> str | None:
    if isinstance(value, str):
        return None if is_encodable(value) else (path or "body")
    if isinstance(value, list):
        for index, item in enumerate(value):
            found = _find(item, f"{path}[{index}]")
            if found is not None:
                return found
    elif isinstance(value, dict):
        for key, item in value.items():
            # The name goes into the error and the record: an unencodable key is spelled as its escape.
            readable = key.encode("utf-8", "backslashreplace").decode("utf-8")
            name = f"{path}.{readable}" if path else readable
            if not is_encodable(key):
                return name
            found = _find(item, name)
            if found is not None:
                return found
    return None
