"""What an agent resends on every turn, parsed and checked once.

A coding agent's turn is 100-200 KB, and most of it comes again verbatim on the next: Claude Code's
24 tools are 90 KB of a 125 KB body. A large body (``SPANNED_BODY``) is parsed member by member
(``jsonwire.top_level``), so that each large member's own bytes are at hand:

- they are forwarded as they came when olga changed nothing in them and no guardrail screens the
  request (``jsonwire.Spans``);
- tools and a system prompt byte for byte the same as a recent body's are not parsed again: that
  body's parsed value is used, and not checked again either when it passed the same API's checks.

Sharing a parsed value between requests is safe because nothing changes it in place: the pipeline
copies what it changes (cache breakpoints, translation, metadata tags), and a request whose
guardrails screen its system prompt, which a redaction rewrites in place, screens a copy of its own
(``own_copies``). The test suite checks after every test that each value shared is still what its
bytes say. No shared member is one a table requires, so a member skipped by the check is never one
whose absence it would report.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any

import msgspec

from olga_cli import jsonwire

SPANNED_BODY = 16 * 1024  # bytes; a smaller body is parsed whole (nothing worth sparing)
SPANNED_MEMBER = 2 * 1024  # bytes; a smaller member is written again (cheaper than keeping its bytes)
SHARED = frozenset({"tools", "system"})
SCREENED = frozenset({"system"})  # the shared members guardrails read, and a redaction rewrites
REMEMBERED = 16  # distinct tool lists and system prompts kept (least recently used first out): a few MB


@dataclass(slots=True)
class _Known:
    data: bytes
    value: Any
    checked: set[str] = field(default_factory=set)  # the tables it passed


# By length: a lookup is one memory compare (hashing 90 KB of bytes would cost a third of parsing
# them). Two lists of one length are rare; the later one takes the place.
_known: OrderedDict[int, _Known] = OrderedDict()


@dataclass(slots=True)
class Spanned:
    """A large body parsed member by member: the body, its members' bytes, the shared values it uses."""

    body: dict[str, Any]
    spans: jsonwire.Spans
    shared: dict[str, _Known]

    def checked_before(self, table: str) -> frozenset[str]:
        """The members that passed ``table``'s checks in an earlier body, byte for byte the same."""
        return frozenset(name for name, known in self.shared.items() if table in known.checked)

    def passed(self, table: str) -> None:
        """The whole body passed ``table``'s checks: so did its shared members."""
        for known in self.shared.values():
            known.checked.add(table)


def parse_spanned(raw: bytes) -> Spanned | None:
    """``raw`` parsed with its large members' bytes kept; None when it is small, not a JSON object, or
    holds anything msgspec refuses (the caller parses it the usual way and explains what is wrong)."""
    if len(raw) < SPANNED_BODY:
        return None
    members = jsonwire.top_level(raw)
    if members is None:
        return None
    body: dict[str, Any] = {}
    kept: dict[str, tuple[Any, bytes]] = {}
    shared: dict[str, _Known] = {}
    try:
        for name, member in members.items():
            if len(member) < SPANNED_MEMBER:
                body[name] = jsonwire.loads_value(member)
                continue
            data = bytes(member)
            if name in SHARED:
                known = _recall(data)
                shared[name] = known
                value = known.value
            else:
                value = jsonwire.loads_value(data)
            body[name] = value
            kept[name] = (value, data)
    except (msgspec.DecodeError, RecursionError):
        return None
    return Spanned(body, jsonwire.Spans(kept), shared)


def _recall(data: bytes) -> _Known:
    """The parsed value of a shared member's bytes: remembered, or parsed now and remembered."""
    known = _known.get(len(data))
    if known is not None and known.data == data:
        _known.move_to_end(len(data))
        return known
    known = _known[len(data)] = _Known(data, jsonwire.loads_value(data))
    _known.move_to_end(len(data))
    if len(_known) > REMEMBERED:
        _known.popitem(last=False)
    return known


def own_copies(body: dict[str, Any], spans: jsonwire.Spans) -> None:
    """Give ``body`` its own copy of each shared member guardrails screen, before they do: a
    redaction rewrites text in place, and the value parsed is shared with other requests."""
    for name in SCREENED:
        data = spans.raw(name)
        if data is not None and name in body:
            body[name] = jsonwire.loads_value(data)


def intact() -> bool:
    """Whether every value remembered is still what its bytes say (the test suite asks)."""
    return all(known.value == jsonwire.loads_value(known.data) for known in _known.values())


def forget() -> None:
    """Drop every remembered value (tests)."""
    _known.clear()
