"""`olga logs --follow` in its own process picks up records another process commits, within a second."""

from __future__ import annotations

import asyncio
import fcntl
import json
import os
import pty
import re
import select
import signal
import struct
import sys
import termios
import time
from pathlib import Path

from olga_cli.cli.render.records import short_id
from tests.cli.helpers import olga
from tests.cli.seed import make_record, seed

START_TIMEOUT = 15.0  # the first line waits for Python to start; later lines are held to a second
PROMISE = 1.0
ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")


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
    process = await _start(home, "--json", "--since", "1m")
    try:
        assert process.stdout is not None
        first = json.loads(await asyncio.wait_for(process.stdout.readline(), START_TIMEOUT))
        assert first["key_name"] == "before"  # with --since, that window's requests come first
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
        header = (await asyncio.wait_for(process.stdout.readline(), START_TIMEOUT)).decode()
        assert header.startswith("time\tkey\tmodel\tstatus")  # piped: tab-separated under a header
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
        assert process.stdout is not None and process.stderr is not None
        ready = await asyncio.wait_for(process.stderr.readline(), START_TIMEOUT)  # piped: on stderr
        assert b"Ready, waiting for requests" in ready
        with sqlite3.connect(home / "olga.db") as db:
            db.execute(
                "INSERT INTO limit_alerts (limit_id, scope, scope_id, metric, time_window, period_day, percent,"
                " threshold, usage, generation_id, created_at) VALUES (7, 'team', 'team_x', 'requests', 'monthly',"
                " 0, 100, 500, 500, NULL, ?)",
                (time.time(),),
            )
        line = b""
        while b"alert" not in line:  # alerts go with the notes, off stdout when it is a pipe
            line = await asyncio.wait_for(process.stderr.readline(), PROMISE + 0.5)
        assert "alert: team 'team_x' reached 100% of its monthly requests limit (500 of 500)" in line.decode()
    finally:
        await _stop(process)


def _read_screen(fd: int, until: bytes, timeout: float) -> bytes:
    """What the pseudo-terminal showed, read until ``until`` appears (or the time is up)."""
    seen = b""
    deadline = time.monotonic() + timeout
    while until not in seen and time.monotonic() < deadline:
        ready, _, _ = select.select([fd], [], [], 0.1)
        if ready:
            try:
                seen += os.read(fd, 65536)
            except OSError:
                break
    return seen


def test_follow_in_a_terminal_streams_appended_lines_while_requests_flow(home: Path) -> None:
    """In a real 80-column pseudo-terminal: the ready line at once, then one coloured line per request,
    appended (no redraw, no cursor movement), every field whole: id, model, cost and error code."""
    asyncio.run(seed(home, [make_record(key_name="warmup")]))
    pid, fd = pty.fork()
    if pid == 0:  # the child: olga in the terminal
        os.environ.update({"OLGA_HOME": str(home), "COLUMNS": "80", "LINES": "24", "TERM": "xterm-256color"})
        os.execv(sys.executable, [sys.executable, "-m", "olga_cli", "logs", "--follow"])
    try:
        fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 80, 0, 0))
        started = time.monotonic()
        screen = _read_screen(fd, b"Ready, waiting for requests on http://127.0.0.1:", START_TIMEOUT)
        assert b"Ready, waiting for requests" in screen, screen
        assert b"warmup" not in screen  # no backlog unless --since asks for one
        records = [
            make_record(key_name=f"agent-{n}", status=status, error=error, cost_pico=1_234_567_000_000)
            for n, (status, error) in enumerate([(200, None), (402, "insufficient_credits"), (503, "x_y")])
        ]
        for record in records:
            asyncio.run(seed(home, [record]))
            shown = _read_screen(fd, short_id(record.id).encode(), PROMISE + 1.0)
            assert short_id(record.id).encode() in shown  # the short id, to copy into olga generation
            screen += shown
        text = screen.decode()
        assert time.monotonic() - started < START_TIMEOUT + 10
        plain = ANSI.sub("", text)
        assert "\x1b[2J" not in text and "\x1b[1A" not in text and "\x1b[H" not in text  # appended only
        for record in records:
            assert record.key_name in plain and "$1.234567" in plain
        assert "insufficient_credits" in plain and "openai/gpt-4o-mini" in plain
        assert "\x1b[1;32m200" in text or "\x1b[32m" in text  # 2xx green
        assert "\x1b[1;33m402" in text  # 4xx yellow
        assert "\x1b[1;31m503" in text  # 5xx red
        assert all(len(line) <= 80 for line in plain.splitlines())  # folded by olga, not cut by the terminal
        lines = plain.splitlines()
        row = next(i for i, line in enumerate(lines) if "agent-1" in line)
        assert "402" in lines[row] and "insufficient_credits" in lines[row]  # the code on its row
        assert short_id(records[1].id) in lines[row] + lines[row + 1]  # or just under it, whole
    finally:
        os.kill(pid, signal.SIGINT)
        os.waitpid(pid, 0)
        os.close(fd)
    shown = olga("generation", short_id(records[1].id))
    assert shown.exit_code == 0 and records[1].id in shown.stdout
