"""Running a regex only near where it can match.

Python's regex engine scans fast only when a pattern starts with a literal; patterns that start with
a lookbehind, `\\b` or a case-insensitive word test every position. Finding a cheap anchor first
(a keyword with `str.find`, an `@`) and running the full pattern in small windows around the anchors
keeps the cost proportional to the anchors, not to the text.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator


def windows(haystack: str, needles: Iterable[str], *, before: int, after: int) -> list[tuple[int, int]]:
    """Merged [lo, hi) windows around every occurrence of any needle in `haystack`."""
    starts: list[int] = []
    for needle in needles:
        index = haystack.find(needle)
        while index != -1:
            starts.append(index)
            index = haystack.find(needle, index + 1)
    if not starts:
        return []
    starts.sort()
    size = len(haystack)
    merged: list[tuple[int, int]] = []
    lo, hi = max(0, starts[0] - before), starts[0] + after
    for start in starts[1:]:
        if start - before <= hi:
            hi = max(hi, start + after)
        else:
            merged.append((lo, min(hi, size)))
            lo, hi = start - before, start + after
    merged.append((lo, min(hi, size)))
    return merged


def finditer_in(
    regex: re.Pattern[str], text: str, spans: Iterable[tuple[int, int]]
) -> Iterator[re.Match[str]]:
    """`regex.finditer` restricted to the spans (lookbehinds still see the text before a span)."""
    for lo, hi in spans:
        yield from regex.finditer(text, lo, hi)


def folded_windows(
    text: str, lowered: str, needles: Iterable[str], *, before: int, after: int
) -> list[tuple[int, int]]:
    """Windows found in the lower-cased text, valid for `text` when lowering kept every offset
    (it does except for a few letters such as 'İ'); otherwise the whole text is one window."""
    found = windows(lowered, needles, before=before, after=after)
    if found and len(lowered) != len(text):
        return [(0, len(text))]
    return found


def trailing_run(text: str, chars: str, *, limit: int) -> int:
    """Start of the run of `chars` that ends `text`, looking at most `limit` characters back
    (`len(text)` when the text does not end in one). Linear, unlike a `[...]+\\Z` search."""
    size = len(text)
    tail = text[max(0, size - limit) :]
    return size - (len(tail) - len(tail.rstrip(chars)))
