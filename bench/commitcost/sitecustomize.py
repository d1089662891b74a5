"""What the commit of each request's record costs ``olga serve``, for a bench run.

Put this folder on ``PYTHONPATH``; every ``python -m olga_cli serve`` the bench starts then, with

- ``COMMITCOST=skip``: answers without writing its records at all (``write_batch`` does nothing).
  This breaks olga's contract on purpose (a response finishes only after its record and charge are
  committed): it measures what everything else costs, against the same run's bare proxy.
- ``COMMITCOST=statements``: times each statement of every batch on the writer's thread and appends
  the medians of each 2,000 to ``$COMMITCOST_OUT`` (default ``commitcost-<pid>.txt`` in the system's
  temporary folder).

    PYTHONPATH=bench/commitcost COMMITCOST=skip python bench/overhead.py --no-save

Without ``COMMITCOST`` it changes nothing.
"""

from __future__ import annotations

import os
import statistics
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any


def skip_records() -> None:
    import olga_cli.store.sqlite.records as records

    async def write_batch(
        db: Any, batch: Sequence[Any], extras: Sequence[Any] = (), parts: Any = None
    ) -> list[Any]:
        return []

    records.write_batch = write_batch  # type: ignore[assignment]


def time_statements(out: Any) -> None:
    import olga_cli.store.sqlite.records as records

    samples: dict[str, list[float]] = {}

    def note(name: str, seconds: float) -> None:
        kept = samples.setdefault(name, [])
        kept.append(seconds)
        if len(kept) == 2000:
            out.write(f"{statistics.median(kept) * 1e6:8.1f} us  {name}\n")
            kept.clear()

    def write_on_thread(conn: Any, statements: Any) -> None:
        began = last = time.perf_counter()
        try:
            for sql, params in [("BEGIN IMMEDIATE", [()]), *statements, ("COMMIT", [()])]:
                if len(params) == 1:
                    conn.execute(sql, params[0])
                else:
                    conn.executemany(sql, params)
                now = time.perf_counter()
                note(f"{' '.join(sql.split())[:50]} x{len(params)}", now - last)
                last = now
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise
        note("the whole transaction", last - began)

    records._write_on_thread = write_on_thread  # type: ignore[assignment]


if sys.argv[:1] == ["-m"] and "serve" in sys.argv:  # `python -m olga_cli serve`, at start-up
    mode = os.environ.get("COMMITCOST", "")
    if mode == "skip":
        skip_records()
    elif mode == "statements":
        default = Path(tempfile.gettempdir()) / f"commitcost-{os.getpid()}.txt"
        out = Path(os.environ.get("COMMITCOST_OUT") or default).open("a", buffering=1)  # noqa: SIM115 (open while the server runs)
        time_statements(out)
