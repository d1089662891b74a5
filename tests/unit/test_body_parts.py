"""The text an agent resends every turn is stored once, and every body reads back exactly as sent."""

from __future__ import annotations

import json
import sqlite3
import time
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from olga_cli.store.body_parts import KEYS, MIN_BODY, MIN_PART, SharedParts, join
from olga_cli.store.db import open_store
from olga_cli.store.reports import LogFilter
from tests.cli.seed import make_record

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "clients"


def captured(name: str) -> str:
    """A real client's request body, as text."""
    return json.dumps(json.loads((FIXTURES / f"{name}.json").read_text())["body"], ensure_ascii=False)


def text(size: int, seed: str) -> str:
    return (seed * (size // len(seed) + 1))[:size]


@settings(max_examples=60, deadline=None)
@given(
    shared=st.integers(MIN_PART, 3 * MIN_PART),
    turns=st.lists(st.text(min_size=0, max_size=300), min_size=2, max_size=5),
    at_end=st.booleans(),
    glyph=st.sampled_from(["a", "é", "😀", "\\ud83d", "x\u2028y", "\ud83d"]),
    as_bytes=st.booleans(),
)
def test_split_and_join_are_exact(
    shared: int, turns: list[str], at_end: bool, glyph: str, as_bytes: bool
) -> None:
    """Bodies given as text or as UTF-8 bytes (a request body the store decodes itself)."""
    parts = SharedParts()
    common = text(shared, f"tools {glyph} system ")
    history = ""
    for n, turn in enumerate(turns):
        history += turn + text(MIN_BODY, f"turn {n} ")  # every body big enough to share
        body = history + common if at_end else common + history
        given_as = body.encode("utf-8", "surrogatepass") if as_bytes and "\ud83d" not in body else body
        split = parts.split("key", given_as)
        if split is None:
            assert n == 0  # only a key's first body has nothing to share with
            continue
        assert join(split.rest, split.part.text, split.at) == body
        assert len(split.part.text) >= shared  # the whole common run, at least


@pytest.mark.parametrize("at_end", [True, False])
def test_a_part_starts_and_ends_on_whole_characters(at_end: bool) -> None:
    """ "é" and "ĩ" differ in their first UTF-8 byte only: the run their bodies share in bytes starts
    inside a character, and the part must not."""
    parts = SharedParts()
    common = text(MIN_BODY, "tools and system ")
    for glyph in ("é", "ĩ"):
        body = common + glyph if not at_end else glyph + common
        split = parts.split("key", body.encode())
    assert split is not None and split.part.text == common
    assert join(split.rest, split.part.text, split.at) == body


def test_small_bodies_are_never_split_and_keys_are_forgotten_oldest_first() -> None:
    parts = SharedParts()
    small = text(MIN_BODY - 1, "small ")
    assert parts.split("k", small) is None and parts.split("k", small) is None
    body = text(MIN_BODY * 2, "big ")
    for n in range(KEYS + 1):
        parts.split(f"key{n}", body)
    assert parts.split("key0", body) is None  # forgotten: seen afresh
    assert parts.split(f"key{KEYS}", body) is not None


async def test_a_claude_code_session_stores_its_system_and_tools_once(tmp_path: Path) -> None:
    path = tmp_path / "olga.db"
    store = await open_store(path)
    first, second = captured("claude_code_sonnet_turn1"), captured("claude_code_sonnet_turn2")
    records = [make_record(request_body=body, response_body="{}") for body in (first, second, second)]
    try:
        for record in records:
            await store.records.write_batch([record])
        for record in records:
            found = await store.records.get_generation(record.id)
            assert found is not None and found.request_body == record.request_body
        listed = {r.id: r.request_body for _, r in await store.reports.latest(LogFilter(), limit=10)}
        assert listed == {r.id: r.request_body for r in records}
        stored = _stored(path)
        assert stored["parts"] == 1 and stored["rest"] < len(first) + 2 * len(second) // 10
    finally:
        await store.close()


async def test_bodies_kept_as_bytes_read_back_as_the_text_sent(tmp_path: Path) -> None:
    """A large body the gateway hands over as bytes (``request_raw``) is stored as its text."""
    store = await open_store(tmp_path / "olga.db")
    bodies = [captured(name).encode() for name in ("claude_code_sonnet_turn1", "claude_code_sonnet_turn2")]
    records = [make_record(response_body="{}") for _ in range(3)]
    for record, body in zip(records, [*bodies, bodies[1]], strict=True):
        record.request_raw = body
    try:
        for record in records:
            await store.records.write_batch([record])
        for record, body in zip(records, [*bodies, bodies[1]], strict=True):
            found = await store.records.get_generation(record.id)
            assert found is not None and found.request_body == body.decode()
        assert _stored(tmp_path / "olga.db")["parts"] == 1
    finally:
        await store.close()


async def test_pruning_bodies_drops_parts_no_record_names(tmp_path: Path) -> None:
    path = tmp_path / "olga.db"
    store = await open_store(path)
    old = time.time() - 86_400
    body = captured("claude_code_sonnet_turn2")
    try:
        for created in (old, old, time.time()):
            await store.records.write_batch([make_record(request_body=body, created_at=created)])
        await store.reports.prune(before=old + 1, bodies_only=True)
        assert _stored(path)["parts"] == 1  # the newest record still names it
        await store.reports.prune(before=time.time() + 1)
        assert _stored(path)["parts"] == 0
        # The recorder still knows the part: it writes it again with the next record that names it.
        again = make_record(request_body=body)
        await store.records.write_batch([again])
        found = await store.records.get_generation(again.id)
        assert found is not None and found.request_body == body
    finally:
        await store.close()


def _stored(path: Path) -> dict[str, int]:
    with sqlite3.connect(path) as conn:
        parts = conn.execute("SELECT COUNT(*) FROM body_parts").fetchone()[0]
        rest = conn.execute("SELECT COALESCE(SUM(length(request_body)), 0) FROM generations").fetchone()[0]
    return {"parts": parts, "rest": rest}
