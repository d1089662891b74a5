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
    return merge_windows(starts, len(haystack), before=before, after=after)


def merge_windows(starts: list[int], size: int, *, before: int, after: int) -> list[tuple[int, int]]:
    """Merged [lo, hi) windows from `before` ahead of each start to `after` past it."""
    if not starts:
        return []
    starts = sorted(starts)
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


class KeywordIndex:
    """Finds where any of many keywords occur, and which groups each belongs to.

    Short texts (a stream's window) are scanned once with one regex of all the keywords; long ones
    with `str.find` per keyword, which is faster there since each search jumps between occurrences.
    """

    def __init__(self, groups: Iterable[Iterable[str]], *, short: int = 4096) -> None:
        self._groups: tuple[tuple[str, ...], ...] = tuple(tuple(group) for group in groups)
        owners: dict[str, list[int]] = {}
        for index, group in enumerate(self._groups):
            for keyword in group:
                owners.setdefault(keyword, []).append(index)
        self._owners = {keyword: tuple(indexes) for keyword, indexes in owners.items()}
        # One alternation: the engine skips ahead to characters that can start a keyword.
        ordered = sorted(self._owners, key=len, reverse=True)
        self._any = re.compile("|".join(re.escape(k) for k in ordered))
        self._by_first: dict[str, tuple[str, ...]] = {}
        for keyword in ordered:
            self._by_first[keyword[0]] = (*self._by_first.get(keyword[0], ()), keyword)
        self._short = short

    def occurrences(self, haystack: str, start: int = 0) -> dict[int, list[int]]:
        """Group index -> positions (from `start`) where one of the group's keywords begins."""
        found: dict[int, list[int]] = {}
        if len(haystack) - start <= self._short:
            search = self._any.search
            m = search(haystack, start)
            while m is not None:
                position = m.start()
                # Every keyword starting here counts ("instruction" inside "instructions"), and the
                # next search starts one character on, so keywords overlapping this one are seen.
                for keyword in self._by_first[haystack[position]]:
                    if haystack.startswith(keyword, position):
                        for group in self._owners[keyword]:
                            found.setdefault(group, []).append(position)
                m = search(haystack, position + 1)
            return found
        for keyword, groups in self._owners.items():
            index = haystack.find(keyword, start)
            while index != -1:
                for group in groups:
                    found.setdefault(group, []).append(index)
                index = haystack.find(keyword, index + 1)
        return found


def finditer_in(
    regex: re.Pattern[str], text: str, spans: Iterable[tuple[int, int]]
) -> Iterator[re.Match[str]]:
    """`regex.finditer` restricted to the spans (lookbehinds still see the text before a span)."""
    for lo, hi in spans:
        yield from regex.finditer(text, lo, hi)


def trailing_run(text: str, chars: str, *, limit: int) -> int:
    """Start of the run of `chars` that ends `text`, looking at most `limit` characters back
    (`len(text)` when the text does not end in one). Linear, unlike a `[...]+\\Z` search."""
    size = len(text)
    tail = text[max(0, size - limit) :]
    return size - (len(tail) - len(tail.rstrip(chars)))
