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
        sys.executable, "-m", "olga_cli", "logs", "--follow", *args,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE, env=env,
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


async def test_follow_plain_text_prints_one_access_line_per_new_record_and_respects_filters(home: Path) -> None:
    process = await _start(home, "--status", "5xx")
    try:
        assert process.stdout is not None
        await asyncio.sleep(1.0)  # let it start and take its high-water mark
        await seed(home, [make_record(key_name="fine", status=200), make_record(key_name="broken", status=502,
                                                                                  error="upstream_error")])
        line = (await asyncio.wait_for(process.stdout.readline(), START_TIMEOUT)).decode()
        assert "broken" in line and "502" in line and "upstream_error" in line and "\x1b[" not in line
    finally:
        await _stop(process)
        assert process.stdout is not None
        rest = (await process.stdout.read()).decode()
    assert "fine" not in rest
