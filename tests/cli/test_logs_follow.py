"""`olga logs --follow` in its own process picks up records another process commits, within a second."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
import time
from pathlib import Path

from tests.cli.seed import make_record, seed

START_TIMEOUT = 15.0  # the first line waits for Python to start; later lines are held to a second
PROMISE = 1.0


async def _start(home: Path, *args: str) -> asyncio.subprocess.Process:
    env = {**os.environ, "OLGA_HOME": str(home), "COLUMNS": "200"}
    return await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "olga_cli",
        "logs",
        "--follow",
        *args,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env=env,
    )


async def _stop(process: asyncio.subprocess.Process) -> int:
    process.send_signal(signal.SIGINT)
    return await asyncio.wait_for(process.wait(), 10)


async def test_follow_json_shows_a_record_committed_elsewhere_within_a_second(home: Path) -> None:
    await seed(home, [make_record(created_at=time.time() - 5, key_name="before")])
    process = await _start(home, "--json")
    try:
        assert process.stdout is not None
        first = json.loads(await asyncio.wait_for(process.stdout.readline(), START_TIMEOUT))
        assert first["key_name"] == "before"  # the recent page comes first
        for n in range(3):
            fresh = make_record(key_name=f"fresh-{n}")
            await seed(home, [fresh])
            committed = time.monotonic()
            line = await asyncio.wait_for(process.stdout.readline(), PROMISE + 0.5)
            assert time.monotonic() - committed < PROMISE
            assert json.loads(line)["id"] == fresh.id
    finally:
        code = await _stop(process)
    assert code == 0  # Ctrl-C is the normal way out


async def test_follow_plain_text_prints_one_access_line_per_new_record_and_respects_filters(
    home: Path,
) -> None:
    process = await _start(home, "--status", "5xx")
    try:
        assert process.stdout is not None
        await asyncio.sleep(1.0)  # let it start and take its high-water mark
        await seed(
            home,
            [
                make_record(key_name="fine", status=200),
                make_record(key_name="broken", status=502, error="upstream_error"),
            ],
        )
        line = (await asyncio.wait_for(process.stdout.readline(), START_TIMEOUT)).decode()
        assert "broken" in line and "502" in line and "upstream_error" in line and "\x1b[" not in line
    finally:
        await _stop(process)
        assert process.stdout is not None
        rest = (await process.stdout.read()).decode()
    assert "fine" not in rest


async def test_follow_prints_usage_limit_alerts_as_they_are_recorded(home: Path) -> None:
    import sqlite3

    await seed(home, [make_record(key_name="warmup")])  # creates the store with every table
    process = await _start(home)
    try:
        assert process.stdout is not None
        await asyncio.wait_for(process.stdout.readline(), START_TIMEOUT)  # the warm-up record's line
        with sqlite3.connect(home / "olga.db") as db:
            db.execute(
                "INSERT INTO limit_alerts (limit_id, scope, scope_id, metric, time_window, period_day, percent,"
                " threshold, usage, generation_id, created_at) VALUES (7, 'team', 'team_x', 'requests', 'monthly',"
                " 0, 100, 500, 500, NULL, ?)",
                (time.time(),),
            )
        line = (await asyncio.wait_for(process.stdout.readline(), PROMISE + 0.5)).decode()
        assert "alert: team 'team_x' reached 100% of its monthly requests limit (500 of 500)" in line
    finally:
        await _stop(process)
