"""How long `olga` commands take to start and finish, as a person at a terminal feels it.

Runs each command as a process (the installed `olga` script when there is one, else
`python -m olga_cli`) several times against a temporary home with a few keys, and prints the median
and best wall times against the targets: `olga --version` within 100 ms, `olga keys list` within
250 ms. With each, what ``python -X importtime`` says of the same command: how many modules it
imports and their total import time, which moves less than wall time on a busy machine. Not a test:
timings depend on the machine and its load; run it on a quiet machine. The results are written to
bench/results/cli_start.json.

The commands run with their bytecode cached (in a temporary PYTHONPYCACHEPREFIX, written by a first
run), as an installed olga has it from `pip install`: a checkout under PYTHONDONTWRITEBYTECODE would
otherwise compile every olga module from source at each start, which no user's olga does.

    python bench/cli_start.py            # 15 runs each
    python bench/cli_start.py --runs 40
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "results" / "cli_start.json"
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


def imports(args: list[str], env: dict[str, str]) -> tuple[int, float]:
    """Modules imported by one run and the sum of their own import times (ms), best of three."""
    python = [sys.executable, "-X", "importtime", "-m", "olga_cli"]
    best: tuple[int, float] | None = None
    for _ in range(3):
        run = subprocess.run(
            [*python, *args],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
            check=True,
        )
        lines = [line for line in run.stderr.splitlines() if line.startswith("import time:")]
        own = [line.split("|")[0].removeprefix("import time:").strip() for line in lines[1:]]
        found = (len(own), sum(int(us) for us in own if us.isdigit()) / 1000)
        best = found if best is None or found[1] < best[1] else best
    assert best is not None
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15)
    runs = parser.parse_args().runs
    olga = command()
    with tempfile.TemporaryDirectory() as home:
        env = {**os.environ, "OLGA_HOME": home, "COLUMNS": "100", "PYTHONPYCACHEPREFIX": f"{home}/pycache"}
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        for name in ("laptop", "ci", "agent"):
            subprocess.run(
                [*olga, "keys", "create", "--name", name, "--credits", "5", "-q"],
                env=env,
                check=True,
                stdout=subprocess.DEVNULL,
            )
        print(f"{' '.join(olga)}: {runs} runs each (ms)")
        print(f"{'command':<20}{'median':>8}{'best':>8}{'target':>8}{'imports':>9}{'import ms':>11}")
        results = []
        for words, target in TARGETS_MS.items():
            args = [*olga, *words.split()]
            timed(args, env)  # warm the file cache
            times = [timed(args, env) for _ in range(runs)]
            median = statistics.median(times)
            count, import_ms = imports(words.split(), env)
            verdict = "ok" if median <= target else "SLOW"
            print(
                f"{words:<20}{median:>8.0f}{min(times):>8.0f}{target:>8.0f}{count:>9}{import_ms:>11.0f}  {verdict}"
            )
            results.append(
                {
                    "command": f"olga {words}",
                    "median_ms": round(median, 1),
                    "best_ms": round(min(times), 1),
                    "target_ms": target,
                    "ok": median <= target,
                    "modules_imported": count,
                    "import_ms": round(import_ms, 1),
                }
            )
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    document = {
        "measured_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "python": sys.version.split()[0],
        "cpus": os.cpu_count(),
        "load_average": os.getloadavg()[0],
        "runs": runs,
        "commands": results,
    }
    RESULTS.write_text(json.dumps(document, indent=2) + "\n")
    print(f"written to {RESULTS}")


if __name__ == "__main__":
    main()
