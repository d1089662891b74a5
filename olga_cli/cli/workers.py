"""`olga serve --workers N`: N processes serving one port (SO_REUSEPORT), supervised by this one.

Each worker is a whole `olga serve` of its own (its own event loop, connection pool and lease); the
kernel spreads connections over them. They can only agree through a shared store, so workers are
for team mode: on SQLite each process's reservations would only know its own requests.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path
from types import FrameType

from olga_cli.config import Config


def worker_command(config: Config, *, quiet: bool, log_format: str) -> list[str]:
    """The command line of one worker; the database URL goes through the environment, never argv
    (where `ps` would show its password)."""
    command = [
        sys.executable,
        "-m",
        "olga_cli",
        "--home",
        str(config.home),
        "serve",
        "--host",
        config.host,
        "--port",
        str(config.port),
        "--log-format",
        log_format,
        "--reuse-port",
    ]
    return command + (["--quiet"] if quiet else [])


def run_workers(count: int, config: Config, *, quiet: bool, log_format: str) -> int:
    """Start ``count`` workers, pass SIGINT/SIGTERM on to them, and wait for all; the worst exit status."""
    env = {**os.environ, "OLGA_DATABASE_URL": config.database_url or ""}
    if config.redis_url:
        env["OLGA_REDIS_URL"] = config.redis_url
    command = worker_command(config, quiet=quiet, log_format=log_format)
    workers = [subprocess.Popen(command, env=env, cwd=Path.cwd()) for _ in range(count)]

    def forward(signum: int, _frame: FrameType | None) -> None:
        for worker in workers:
            if worker.poll() is None:
                worker.send_signal(signum)

    signal.signal(signal.SIGTERM, forward)
    signal.signal(signal.SIGINT, forward)
    codes = [worker.wait() for worker in workers]
    return max((abs(code) for code in codes), default=0)
