"""What an agent sends again on every turn, stored once.

A coding agent's request is mostly the same text turn after turn: Claude Code's system prompt and
24 tools are 119 KB of a 127 KB body, resent verbatim while only the conversation grows. Stored
whole, a 100-turn session writes 15 MB of bodies (twice: the write-ahead log, then the database),
and on every turn the commit a request waits for copies them.

``SharedParts`` finds such a run of text in a body: one it already knows for the same key, found
anywhere in the body; or else the longest common prefix or suffix with the key's previous body. The
store keeps the run once, under its hash, and the record the rest of the body with the position the
run goes back in. Bodies are split and joined exactly: ``join(split(body)) == body``, character for
character. Nothing here touches a database; the backend stores the parts.
"""

from __future__ import annotations

import hashlib
from collections import OrderedDict
from dataclasses import dataclass, field

MIN_BODY = 32 * 1024  # characters; smaller bodies are stored whole (too little to gain)
MIN_PART = 16 * 1024  # the shortest run worth a part of its own
KEYS = 32  # keys remembered (least recently used first out): 32 bodies of memory at most
PARTS_PER_KEY = 2  # a session's tools and system prompt, say, when something sits between them


@dataclass(slots=True, frozen=True)
class Part:
    hash: str
    text: str


@dataclass(slots=True, frozen=True)
class Split:
    rest: str  # the body without the part
    part: Part
    at: int  # where the part goes back into ``rest`` (characters)


@dataclass(slots=True)
class _Seen:
    last: str
    parts: list[Part] = field(default_factory=list)


def part_of(text: str) -> Part:
    return Part(hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=16).hexdigest(), text)


def join(rest: str, part: str, at: int) -> str:
    return rest[:at] + part + rest[at:]


class SharedParts:
    """The runs each key's bodies share, remembered from the bodies seen (per process, bounded)."""

    def __init__(self) -> None:
        self._seen: OrderedDict[str, _Seen] = OrderedDict()

    def split(self, key: str, body: str) -> Split | None:
        """``body`` without the longest run it shares with this key's earlier bodies, or None."""
        if len(body) < MIN_BODY:
            return None
        seen = self._seen.get(key)
        if seen is None:
            self._remember(key, _Seen(body))
            return None
        self._seen.move_to_end(key)
        found = _known(seen.parts, body) or _learn(seen, body)
        seen.last = body
        return found

    def _remember(self, key: str, seen: _Seen) -> None:
        self._seen[key] = seen
        if len(self._seen) > KEYS:
            self._seen.popitem(last=False)


def _known(parts: list[Part], body: str) -> Split | None:
    for part in parts:
        at = _where(body, part.text)
        if at >= 0:
            return Split(body[:at] + body[at + len(part.text) :], part, at)
    return None


def _where(body: str, text: str) -> int:
    """Where ``text`` is in ``body``, or -1. A part is learnt as a body's end or start and usually
    stays there: those two are a memory compare each, where ``find`` prepares the whole needle first
    (0.25 ms for Claude Code's 119 KB of system prompt and tools)."""
    if body.endswith(text):
        return len(body) - len(text)
    if body.startswith(text):
        return 0
    return body.find(text)


def _learn(seen: _Seen, body: str) -> Split | None:
    """A new part: the longer of the prefix and the suffix ``body`` shares with the previous body."""
    previous = seen.last
    most = min(len(body), len(previous))
    suffix = _common(body, previous, most, from_end=True)
    prefix = _common(body, previous, most - suffix, from_end=False)
    if max(prefix, suffix) < MIN_PART:
        return None
    if suffix >= prefix:
        at = len(body) - suffix
        split = Split(body[:at], part_of(body[at:]), at)
    else:
        split = Split(body[prefix:], part_of(body[:prefix]), 0)
    seen.parts.insert(0, split.part)
    del seen.parts[PARTS_PER_KEY:]
    return split


def _common(a: str, b: str, most: int, *, from_end: bool) -> int:
    """The length of the longest common prefix (or suffix) of ``a`` and ``b``, at most ``most``.

    A binary search over slice comparisons: each is a memory compare in C, so a 150 KB body costs
    about 17 of them rather than a Python loop over its characters.
    """
    low, high = 0, most
    while low < high:
        mid = (low + high + 1) // 2
        same = a[len(a) - mid :] == b[len(b) - mid :] if from_end else a[:mid] == b[:mid]
        if same:
            low = mid
        else:
            high = mid - 1
    return low
