"""Making a record storable when it cannot be stored as sent, rather than losing it.

Two things in a record can make SQLite refuse it: text with a lone surrogate (a ``"\\ud800"`` escape in
a JSON body, a header with bytes that are not UTF-8), which cannot be encoded as UTF-8; and an integer
outside SQLite's 64 bits (a provider reporting 2**64 tokens). Both come from outside olga, so both are
repaired here, each repair named in the record's ``flags`` so nobody takes the stored value for the
one that was sent. Only a record that failed to store goes through this: the hot path pays nothing.
"""

from __future__ import annotations

import re
from dataclasses import fields
from typing import Any

from olga_cli.records import Attempt, GenerationRecord

MAX_INTEGER = 2**63 - 1  # SQLite's INTEGER range
MIN_INTEGER = -(2**63)
# Lone surrogates cannot be encoded as UTF-8; NUL is refused in PostgreSQL text.
_UNSTORABLE = re.compile("[\ud800-\udfff\x00]")
_RECORD_FIELDS = tuple(
    f.name
    for f in fields(GenerationRecord)
    if f.name not in ("attempts", "guardrails", "flags", "request_raw")
)
_ATTEMPT_FIELDS = tuple(f.name for f in fields(Attempt))


def clean_text(value: str) -> str:
    """``value`` with each lone surrogate (and NUL) replaced by U+FFFD (valid pairs never reach a ``str``
    apart)."""
    return _UNSTORABLE.sub("\ufffd", value)


def clamp(value: int) -> int:
    return min(max(value, MIN_INTEGER), MAX_INTEGER)


def clean_value(value: Any) -> tuple[Any, str | None]:
    """A value SQLite (and JSON as UTF-8) can take, and what was done to it (None: nothing)."""
    if isinstance(value, bool):
        return value, None
    if isinstance(value, int):
        fixed = clamp(value)
        return fixed, None if fixed == value else "clamped"
    if isinstance(value, str):
        fixed_text = clean_text(value)
        return fixed_text, None if fixed_text == value else "text with lone surrogates replaced"
    if isinstance(value, list):
        items = [clean_value(item) for item in value]
        return [item for item, _ in items], _first(note for _, note in items)
    if isinstance(value, dict):
        pairs = [(clean_value(k), clean_value(v)) for k, v in value.items()]
        cleaned = {k: v for (k, _), (v, _) in pairs}
        return cleaned, _first(note for (_, kn), (_, vn) in pairs for note in (kn, vn))
    return value, None


def sanitise_record(record: GenerationRecord) -> list[str]:
    """Repair ``record`` in place; return the flags added (empty when there was nothing to repair)."""
    added: list[str] = []
    if record.request_raw is not None:  # the body as text, repaired like any other
        record.request_body, record.request_raw = record.request_text(), None
    for name in _RECORD_FIELDS:
        value, note = clean_value(getattr(record, name))
        if not isinstance(value, str | int | float | list | None):  # an object where a column wants text
            value, note = clean_value(str(value))[0], "not text, stored as its text"
        if note is not None:
            setattr(record, name, value)
            added.append(f"sanitised: {name} ({note})")
    for index, attempt in enumerate(record.attempts):
        for name in _ATTEMPT_FIELDS:
            value, note = clean_value(getattr(attempt, name))
            if note is not None:
                setattr(attempt, name, value)
                added.append(f"sanitised: attempts[{index}].{name} ({note})")
    guardrails, note = clean_value(record.guardrails)
    if note is not None:
        record.guardrails = guardrails
        added.append(f"sanitised: guardrails ({note})")
    record.flags = [clean_value(flag)[0] for flag in record.flags] + added
    return added


def sanitise_params(params: tuple[Any, ...]) -> tuple[tuple[Any, ...], bool]:
    """Statement parameters SQLite can bind, and whether any had to change."""
    cleaned = [clean_value(value) for value in params]
    return tuple(value for value, _ in cleaned), any(note is not None for _, note in cleaned)


def _first(notes: Any) -> str | None:
    return next((note for note in notes if note is not None), None)
