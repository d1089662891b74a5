"""The SSE parser finds events in arbitrary network chunks and keeps their bytes."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from olga_cli.providers.sse import SSEParser

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
