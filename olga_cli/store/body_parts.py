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

MIN_BODY = 32 * 1024  # bytes of UTF-8; smaller bodies are stored whole (too little to gain)
MIN_PART = 16 * 1024  # bytes; the shortest run worth a part of its own
KEYS = 32  # keys remembered (least recently used first out): 32 bodies of memory at most
PARTS_PER_KEY = 2  # a session's tools and system prompt, say, when something sits between them


@dataclass(slots=True, frozen=True)
class Part:
    hash: str
    text: str
    data: bytes  # ``text`` as UTF-8: what bodies are searched for


@dataclass(slots=True, frozen=True)
class Split:
    rest: str  # the body without the part
    part: Part
    at: int  # where the part goes back into ``rest`` (characters)


@dataclass(slots=True)
class _Seen:
    last: bytes
    parts: list[Part] = field(default_factory=list)


def part_of(data: bytes) -> Part:
    return Part(hashlib.blake2b(data, digest_size=16).hexdigest(), _text(data), data)


def join(rest: str, part: str, at: int) -> str:
    return rest[:at] + part + rest[at:]


def _text(data: bytes) -> str:
    return data.decode("utf-8", "surrogatepass")  # text given as str may hold lone surrogates


class SharedParts:
    """The runs each key's bodies share, remembered from the bodies seen (per process, bounded).

    Bodies are searched and cut as UTF-8 bytes: a body that came as bytes is decoded only for the rest
    around its part (the part's text was decoded when it was learnt), which spares decoding 119 KB of
    an agent's 125 KB turn on every turn."""

    def __init__(self) -> None:
        self._seen: OrderedDict[str, _Seen] = OrderedDict()

    def split(self, key: str, body: str | bytes) -> Split | None:
        """``body`` without the longest run it shares with this key's earlier bodies, or None. Bytes
        must be UTF-8 (a request body olga's parser took)."""
        data = body if isinstance(body, bytes) else body.encode("utf-8", "surrogatepass")
        if len(data) < MIN_BODY:
            return None
        seen = self._seen.get(key)
        if seen is None:
            self._remember(key, _Seen(data))
            return None
        self._seen.move_to_end(key)
        found = _known(seen.parts, data) or _learn(seen, data)
        seen.last = data
        return found

    def _remember(self, key: str, seen: _Seen) -> None:
        self._seen[key] = seen
        if len(self._seen) > KEYS:
            self._seen.popitem(last=False)


def _known(parts: list[Part], data: bytes) -> Split | None:
    for part in parts:
        at = _where(data, part.data)
        if at >= 0:
            return _cut(data, part, at)
    return None


def _cut(data: bytes, part: Part, at: int) -> Split:
    """``data`` split around ``part`` at byte ``at``. A part starts and ends on a character's bounds
    (``_learn``), and UTF-8 finds no character's bytes inside another's, so neither piece is cut
    inside a character."""
    head = _text(data[:at])
    return Split(head + _text(data[at + len(part.data) :]), part, len(head))


def _where(data: bytes, part: bytes) -> int:
    """Where ``part`` is in ``data``, or -1. A part is learnt as a body's end or start and usually
    stays there: those two are a memory compare each, where ``find`` prepares the whole needle first
    (0.25 ms for Claude Code's 119 KB of system prompt and tools)."""
    if data.endswith(part):
        return len(data) - len(part)
    if data.startswith(part):
        return 0
    return data.find(part)


def _learn(seen: _Seen, data: bytes) -> Split | None:
    """A new part: the longer of the prefix and the suffix ``data`` shares with the previous body,
    shortened to whole characters."""
    previous = seen.last
    most = min(len(data), len(previous))
    suffix = _common(data, previous, most, from_end=True)
    prefix = _common(data, previous, most - suffix, from_end=False)
    if max(prefix, suffix) < MIN_PART:
        return None
    if suffix >= prefix:
        at = len(data) - suffix
        while at < len(data) and _inside(data[at]):
            at += 1
        start, end = at, len(data)
    else:
        end = prefix
        while 0 < end < len(data) and _inside(data[end]):
            end -= 1
        start, at = 0, 0
    if end - start < MIN_PART:
        return None
    part = part_of(data[start:end])
    seen.parts.insert(0, part)
    del seen.parts[PARTS_PER_KEY:]
    return _cut(data, part, at)


def _inside(byte: int) -> bool:
    """Whether a UTF-8 byte continues a character (rather than starting one)."""
    return byte & 0xC0 == 0x80


def _common(a: bytes, b: bytes, most: int, *, from_end: bool) -> int:
    """The length of the longest common prefix (or suffix) of ``a`` and ``b``, at most ``most``.

    A binary search over slice comparisons: each is a memory compare in C, so a 150 KB body costs
    about 17 of them rather than a Python loop over its bytes.
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
