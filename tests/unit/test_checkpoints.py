"""The server's store checkpoints its write-ahead log after a batch's answers went out, not inside the
commit that a request waits for, and on a thread of its own that the next batch never waits for."""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path

import pytest

from olga_cli.store.db import open_store
from olga_cli.store.sqlite.records import CHECKPOINT_PAGES, Checkpointer
from tests.cli.seed import make_record

BODY = "x" * (CHECKPOINT_PAGES * 4096 + 100_000)  # more than a checkpoint's worth of log on its own


async def test_the_log_is_copied_by_tidy_not_by_the_commit(tmp_path: Path) -> None:
    path = tmp_path / "olga.db"
    store = await open_store(path)
    try:
        await store.records.tidy()  # the recorder's first tidy: checkpoints wait for it from now on
        await store.records.write_batch([make_record(request_body=BODY)])
        assert path.stat().st_size < len(BODY)  # committed to the log only: no request waited for a copy
        await store.records.tidy()
        await _copied(path, len(BODY))  # copied into the database, after the answers
        await store.records.write_batch([make_record(request_body="small")])
        await store.records.tidy()  # far below the mark: nothing to copy
    finally:
        await store.close()


async def test_without_the_recorder_sqlite_checkpoints_as_usual(tmp_path: Path) -> None:
    """CLI commands and tools never call tidy: SQLite's own checkpoints still run for them."""
    path = tmp_path / "olga.db"
    store = await open_store(path)
    try:
        await store.records.write_batch([make_record(request_body=BODY)])
        assert path.stat().st_size > len(BODY)
    finally:
        await store.close()


async def test_batches_commit_while_a_checkpoint_runs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A slow checkpoint (a disk busy syncing) holds up no commit and no tidy; one runs at a time."""
    release, started = threading.Event(), threading.Event()
    copy = Checkpointer._checkpoint
    runs = 0

    def slow_checkpoint(self: Checkpointer) -> None:
        nonlocal runs
        runs += 1
        started.set()
        release.wait(10)
        copy(self)

    monkeypatch.setattr(Checkpointer, "_checkpoint", slow_checkpoint)
    path = tmp_path / "olga.db"
    store = await open_store(path)
    try:
        await store.records.tidy()
        await store.records.write_batch([make_record(request_body=BODY)])
        await store.records.tidy()  # begins the checkpoint and returns at once
        assert await asyncio.to_thread(started.wait, 5)
        for _ in range(3):  # the writer goes on meanwhile, even past the mark again
            await asyncio.wait_for(store.records.write_batch([make_record(request_body=BODY)]), 5)
            await asyncio.wait_for(store.records.tidy(), 5)
        assert runs == 1
        release.set()
        await _copied(path, len(BODY))
    finally:
        release.set()
        await store.close()


async def _copied(path: Path, size: int) -> None:
    """Wait (up to 5 s) for the background checkpoint to have grown the database past ``size``."""
    for _ in range(500):
        if _size(path) > size:
            return
        await asyncio.sleep(0.01)
    raise AssertionError(f"no checkpoint copied the log into {path.name}")


def _size(path: Path) -> int:
    return path.stat().st_size
