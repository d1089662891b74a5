"""The server's store checkpoints its write-ahead log after a batch's answers went out, not inside the
commit that a request waits for."""

from __future__ import annotations

from pathlib import Path

from olga_cli.store.db import open_store
from olga_cli.store.sqlite.records import CHECKPOINT_PAGES
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
        assert path.stat().st_size > len(BODY)  # copied into the database, after the answers
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
