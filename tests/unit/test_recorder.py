"""``Recorder``: a request whose wait for its batch is cancelled still has its record committed."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

from olga_cli.gateway.recorder import Recorder
from olga_cli.store.db import open_store
from tests.cli.seed import make_record


async def test_a_cancelled_wait_still_commits_the_record_and_later_writes_go_on(tmp_path: Path) -> None:
    db = await open_store(tmp_path / "olga.db")
    try:
        row, _ = await db.keys.create_key(name="laptop", credits_pico=None)
        recorder = Recorder(db)
        recorder.start()
        abandoned = make_record(key_id=row.id, cost_pico=5)
        waiting = asyncio.create_task(recorder.write(abandoned))
        await asyncio.sleep(0)  # queued
        waiting.cancel()
        kept = make_record(key_id=row.id, cost_pico=7)
        await recorder.write(kept)  # committed in the same batch as the abandoned one, or after it
        await recorder.stop()
        assert waiting.cancelled()
        stored = await db.records.get_generation(abandoned.id)
        assert stored is not None and stored.cost_pico == 5
        assert (await db.records.get_generation(kept.id)) is not None
    finally:
        await db.close()


async def test_a_record_the_store_refuses_fails_alone_and_its_batch_is_committed(tmp_path: Path) -> None:
    """Two records with one id: the batch fails, nothing can be sanitised, so records go one by one."""
    db = await open_store(tmp_path / "olga.db")
    try:
        row, _ = await db.keys.create_key(name="laptop", credits_pico=None)
        recorder = Recorder(db)
        recorder.start()
        first = make_record(key_id=row.id, cost_pico=5)
        twin = make_record(key_id=row.id, cost_pico=9)
        twin.id = first.id
        bystander = make_record(key_id=row.id, cost_pico=7, model_requested="caf\udce9")
        results = await asyncio.gather(
            recorder.write(first), recorder.write(twin), recorder.write(bystander), return_exceptions=True
        )
        await recorder.stop()
        assert results[0] is None and results[2] is None
        assert isinstance(results[1], sqlite3.IntegrityError)
        stored = await db.records.get_generation(bystander.id)
        assert stored is not None and stored.model_requested == "caf\ufffd"
        assert stored.flags == ["sanitised: model_requested (text with lone surrogates replaced)"]
        async with db.conn.execute("SELECT amount_pico FROM ledger ORDER BY id") as cursor:
            assert [r[0] async for r in cursor] == [5, 7]
    finally:
        await db.close()


async def test_a_record_holding_an_object_where_text_belongs_is_stored_as_its_text(tmp_path: Path) -> None:
    db = await open_store(tmp_path / "olga.db")
    try:
        row, _ = await db.keys.create_key(name="laptop", credits_pico=None)
        recorder = Recorder(db)
        recorder.start()
        odd = make_record(key_id=row.id, cost_pico=3)
        odd.upstream_id = {"id": "chatcmpl-1"}  # type: ignore[assignment]
        odd.tokens_completion = 2**70
        await recorder.write(odd)
        await recorder.stop()
        stored = await db.records.get_generation(odd.id)
        assert stored is not None and stored.upstream_id == "{'id': 'chatcmpl-1'}"
        assert stored.tokens_completion == 2**63 - 1
        assert sorted(stored.flags) == [
            "sanitised: tokens_completion (clamped)",
            "sanitised: upstream_id (not text, stored as its text)",
        ]
    finally:
        await db.close()


async def test_housekeeping_runs_after_the_batch_is_answered(tmp_path: Path) -> None:
    """The store's checkpoint (``tidy``) comes after the batch's writers were released, never before."""
    db = await open_store(tmp_path / "olga.db")
    try:
        row, _ = await db.keys.create_key(name="laptop", credits_pico=None)
        recorder = Recorder(db)
        written: list[asyncio.Task[None]] = []
        seen: list[bool] = []
        tidy = db.records.tidy

        async def watched_tidy() -> None:
            await asyncio.sleep(0)  # a released writer finishes at the loop's next turn
            seen.append(all(task.done() for task in written))
            await tidy()

        db.records.tidy = watched_tidy  # type: ignore[method-assign]
        recorder.start()
        written.append(asyncio.create_task(recorder.write(make_record(key_id=row.id))))
        await written[0]
        await recorder.stop()
        assert seen and all(seen)
    finally:
        await db.close()
