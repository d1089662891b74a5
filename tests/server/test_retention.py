"""[retention] in config.toml: the server prunes old records and bodies by itself, never the ledger."""

from __future__ import annotations

import asyncio
import sqlite3
import time
from pathlib import Path

from olga_cli.config import Retention, load_config
from olga_cli.server.retention import apply_retention
from tests.cli.seed import make_record, seed
from tests.fakes.gateway import configure, start_gateway

DAY = 86400


def _rows(home: Path) -> list[tuple[str, str | None]]:
    with sqlite3.connect(home / "olga.db") as db:
        return [
            (r[0], r[1])
            for r in db.execute("SELECT key_name, response_body FROM generations ORDER BY created_at")
        ]


def _ledger(home: Path) -> tuple[int, int]:
    with sqlite3.connect(home / "olga.db") as db:
        count, total = db.execute("SELECT COUNT(*), SUM(amount_pico) FROM ledger").fetchone()
    return int(count), int(total)


async def _seed_ages(home: Path) -> None:
    now = time.time()
    await seed(
        home,
        [
            make_record(created_at=now - 40 * DAY, key_name="old", response_body="a"),
            make_record(created_at=now - 10 * DAY, key_name="middle", response_body="b"),
            make_record(created_at=now - 60, key_name="new", response_body="c"),
        ],
    )


async def test_policy_deletes_old_records_and_drops_old_bodies(home: Path) -> None:
    await _seed_ages(home)
    configure(home, retention={"days": 30, "bodies_days": 7})
    config = load_config(home)
    assert config.retention == Retention(days=30, bodies_days=7)
    assert await apply_retention(config) == (1, 2)
    assert _rows(home) == [("middle", None), ("new", "c")]
    assert _ledger(home) == (3, 18_000_000)


async def test_bad_or_missing_settings_prune_nothing(home: Path) -> None:
    await _seed_ages(home)
    assert await apply_retention(load_config(home)) == (0, 0)
    configure(home, retention={"days": "forever", "bodies_days": 0})
    assert load_config(home).retention == Retention()
    assert len(_rows(home)) == 3


async def test_the_running_server_applies_retention_in_the_background(home: Path) -> None:
    await _seed_ages(home)
    configure(home, retention={"days": 30})
    running = await start_gateway(home)
    try:
        for _ in range(100):
            if len(_rows(home)) == 2:
                break
            await asyncio.sleep(0.1)
    finally:
        await running.close()
    assert [name for name, _ in _rows(home)] == ["middle", "new"]
