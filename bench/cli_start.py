"""How long `olga` commands take to start and finish, as a person at a terminal feels it.

Runs each command as a process (the installed `olga` script when there is one, else
`python -m olga_cli`) several times against a temporary home with a few keys, and prints the median
and best wall times against the targets: `olga --version` within 100 ms, `olga keys list` within
250 ms. Not a test: timings depend on the machine and its load; run it on a quiet machine.

    python bench/cli_start.py            # 15 runs each
    python bench/cli_start.py --runs 40
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

TARGETS_MS = {"--version": 100.0, "keys list": 250.0, "keys list --json": 250.0, "logs": 400.0}


def command() -> list[str]:
    script = Path(sys.executable).with_name("olga")
    if script.exists():
        return [str(script)]
    found = shutil.which("olga")
    return [found] if found else [sys.executable, "-m", "olga_cli"]


def timed(args: list[str], env: dict[str, str]) -> float:
    started = time.perf_counter()
    subprocess.run(args, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
    return (time.perf_counter() - started) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15)
    runs = parser.parse_args().runs
    olga = command()
    with tempfile.TemporaryDirectory() as home:
        env = {**os.environ, "OLGA_HOME": home, "COLUMNS": "100"}
        for name in ("laptop", "ci", "agent"):
            subprocess.run(
                [*olga, "keys", "create", "--name", name, "--credits", "5", "-q"], env=env, check=True
            )
        print(f"{' '.join(olga)}: {runs} runs each (ms)")
        print(f"{'command':<20}{'median':>8}{'best':>8}{'target':>8}")
        for words, target in TARGETS_MS.items():
            args = [*olga, *words.split()]
            timed(args, env)  # warm the file cache
            times = [timed(args, env) for _ in range(runs)]
            median = statistics.median(times)
            verdict = "ok" if median <= target else "SLOW"
            print(f"{words:<20}{median:>8.0f}{min(times):>8.0f}{target:>8.0f}  {verdict}")


if __name__ == "__main__":
    main()
