"""The SSE parser finds events in arbitrary network chunks and keeps their bytes."""

from __future__ import annotations

import time

import pytest
from hypothesis import given
from hypothesis import strategies as st

from olga_cli.errors import SSETooLarge
from olga_cli.providers.sse import MIB, SSEParser

STREAM = (
    b'data: {"a":1}\n\n'
    b": keep-alive\n\n"
    b'event: message_start\ndata: {"type":"message_start"}\n\n'
    b"data: line one\ndata: line two\n\n"
    b"data: [DONE]\n\n"
)


def parse(chunks: list[bytes]) -> list[tuple[str | None, str]]:
    parser = SSEParser()
    events = [e for chunk in chunks for e in parser.feed(chunk)] + parser.flush()
    return [(e.event, e.data) for e in events]


EXPECTED = [
    (None, '{"a":1}'),
    ("message_start", '{"type":"message_start"}'),
    (None, "line one\nline two"),
    (None, "[DONE]"),
]


def test_whole_stream() -> None:
    assert parse([STREAM]) == EXPECTED


@given(st.lists(st.integers(min_value=0, max_value=len(STREAM)), max_size=12))
def test_any_split_gives_the_same_events(cuts: list[int]) -> None:
    points = sorted(set(cuts))
    chunks = [STREAM[a:b] for a, b in zip([0, *points], [*points, len(STREAM)])]
    assert parse(chunks) == EXPECTED


def test_crlf_line_endings_and_a_missing_final_blank_line() -> None:
    assert parse([b"data: x\r\n\r\ndata: y"]) == [(None, "x"), (None, "y")]


def test_raw_bytes_are_kept_for_passthrough() -> None:
    parser = SSEParser()
    events = parser.feed(b'data: {"a":1}\n\ndata: {"b"')
    assert events[0].raw == b'data: {"a":1}\n\n'
    assert parser.pending == b'data: {"b"'


def test_an_event_spread_over_many_chunks_is_found_whole_whatever_the_split() -> None:
    stream = b'event: a\ndata: {"x": 1}\n\n: keep-alive\n\ndata: two\r\ndata: lines\r\n\r\ndata: last\n\n'
    for size in (1, 2, 3, 5, 7, 64):
        parser = SSEParser()
        events = [e for i in range(0, len(stream), size) for e in parser.feed(stream[i : i + size])]
        assert [(e.event, e.data) for e in events] == [
            ("a", '{"x": 1}'),
            (None, "two\nlines"),
            (None, "last"),
        ]
        assert parser.flush() == []


def test_an_endless_line_is_refused_at_its_limit_in_time_proportional_to_its_bytes() -> None:
    parser = SSEParser(max_event=32 * MIB, max_line=8 * MIB)
    block = b"x" * 65536
    started = time.perf_counter()
    parser.feed(b"data: ")
    with pytest.raises(SSETooLarge, match="line of more than 8 MiB"):
        for _ in range(1024):  # 64 MiB at most
            parser.feed(block)
    assert time.perf_counter() - started < 2.0  # quadratic rescanning took minutes
    assert len(parser.pending) <= 8 * MIB + 65536


def test_an_event_of_many_short_lines_is_refused_at_the_event_limit() -> None:
    parser = SSEParser(max_event=1 * MIB, max_line=1 * MIB)
    with pytest.raises(SSETooLarge, match="event of more than 1 MiB"):
        for _ in range(200_000):
            parser.feed(b"data: xxxxxxxxxx\n")
