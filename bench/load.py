"""Load generators and process meters for the overhead bench.

wrk drives the plain requests (latency at concurrency 1, throughput at 16); an aiohttp client, one
request at a time, times streams to the first byte and to the end. CPU time and resident memory come
from ``/proc``, for one process (all its threads) and for the core it is pinned to.
"""

from __future__ import annotations

import asyncio
import gc
import hashlib
import itertools
import json
import os
import statistics
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp

CLK_TCK = os.sysconf("SC_CLK_TCK")

WRK_SCRIPT = r"""
wrk.method = "POST"
local body_file = os.getenv("BENCH_BODY_FILE")
if body_file ~= nil and body_file ~= "" then
  local f = io.open(body_file, "rb"); wrk.body = f:read("*a"); f:close()
else
  wrk.body = os.getenv("BENCH_BODY")
end
wrk.headers["Content-Type"] = "application/json"
local auth = os.getenv("BENCH_AUTH")
if auth ~= nil and auth ~= "" then wrk.headers["Authorization"] = auth end
local extra = os.getenv("BENCH_HEADERS")
if extra ~= nil then
  for name, value in string.gmatch(extra, "([^:\n]+): ([^\n]*)") do wrk.headers[name] = value end
end

done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'WRKJSON {"requests":%d,"duration_us":%d,"bytes":%d,"connect_errors":%d,"read_errors":%d,' ..
    '"write_errors":%d,"status_errors":%d,"timeouts":%d,"mean_us":%.1f,"stdev_us":%.1f,"max_us":%d,' ..
    '"p50_us":%d,"p90_us":%d,"p99_us":%d,"p999_us":%d}\n',
    summary.requests, summary.duration, summary.bytes, e.connect, e.read, e.write, e.status, e.timeout,
    latency.mean, latency.stdev, latency.max, latency:percentile(50), latency:percentile(90),
    latency:percentile(99), latency:percentile(99.9)))
end
"""


def pinned(core: int | None, argv: list[str]) -> list[str]:
    return ["taskset", "-c", str(core), *argv] if core is not None else argv


# -- /proc ---------------------------------------------------------------------------------------


def cpu_ticks(pid: int) -> tuple[int, int]:
    """User and system clock ticks of a process, all its threads included."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return int(fields[11]), int(fields[12])


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def core_busy_ticks(core: int) -> int:
    for line in Path("/proc/stat").read_text().splitlines():
        if line.startswith(f"cpu{core} "):
            values = [int(v) for v in line.split()[1:]]
            return sum(values[:8]) - values[3] - values[4]  # all but idle and iowait
    return 0


def loadavg() -> str:
    return Path("/proc/loadavg").read_text().strip()


@dataclass
class Phase:
    """CPU spent by one process, and by anything else on its core, over one measured phase."""

    pid: int
    core: int | None
    wall: float = 0.0
    user_ticks: int = 0
    system_ticks: int = 0
    core_ticks: int = 0

    @contextmanager
    def measure(self) -> Iterator[Phase]:
        t0, (u0, s0) = time.perf_counter(), cpu_ticks(self.pid)
        c0 = core_busy_ticks(self.core) if self.core is not None else 0
        yield self
        self.wall = time.perf_counter() - t0
        u1, s1 = cpu_ticks(self.pid)
        self.user_ticks, self.system_ticks = u1 - u0, s1 - s0
        self.core_ticks = (core_busy_ticks(self.core) - c0) if self.core is not None else 0

    @property
    def cpu_s(self) -> float:
        return (self.user_ticks + self.system_ticks) / CLK_TCK

    def per_request(self, requests: int) -> dict[str, float]:
        n = max(requests, 1)
        return {
            "cpu_ms": self.cpu_s * 1000 / n,
            "user_ms": self.user_ticks / CLK_TCK * 1000 / n,
            "system_ms": self.system_ticks / CLK_TCK * 1000 / n,
            "cpu_share": self.cpu_s / self.wall if self.wall else 0.0,
        }

    @property
    def foreign_share(self) -> float | None:
        """Share of the core used by other processes during the phase: noise from the machine."""
        if self.core is None or self.wall <= 0:
            return None
        return max(self.core_ticks - self.user_ticks - self.system_ticks, 0) / CLK_TCK / self.wall


# -- wrk -----------------------------------------------------------------------------------------


@dataclass
class Wrk:
    workdir: Path
    core: int | None

    async def run(
        self,
        url: str,
        body: bytes,
        *,
        connections: int,
        seconds: float,
        auth: str = "",
        extra_env: dict[str, str] | None = None,
    ) -> dict[str, Any]:
        script = self.workdir / "post.lua"
        if not script.exists():
            script.write_text(WRK_SCRIPT)
        # Bodies go through a file: one environment string is limited to 128 KiB, agent bodies are larger.
        body_file = self.workdir / f"body-{hashlib.sha256(body).hexdigest()[:16]}.json"
        if not body_file.exists():
            body_file.write_bytes(body)
        env = {**os.environ, "BENCH_BODY_FILE": str(body_file), "BENCH_AUTH": auth, **(extra_env or {})}
        argv = [
            "wrk",
            "-t1",
            f"-c{connections}",
            f"-d{max(round(seconds), 1)}s",
            "--timeout",
            "5s",
            "-s",
            str(script),
            url,
        ]
        proc = await asyncio.create_subprocess_exec(
            *pinned(self.core, argv), env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
        )
        out, err = await asyncio.wait_for(proc.communicate(), timeout=seconds + 30)
        for line in out.decode().splitlines():
            if line.startswith("WRKJSON "):
                result: dict[str, Any] = json.loads(line[8:])
                result["rps"] = result["requests"] / (result["duration_us"] / 1e6)
                result["errors"] = sum(
                    result[k]
                    for k in ("connect_errors", "read_errors", "write_errors", "status_errors", "timeouts")
                )
                return result
        raise SystemExit(f"wrk gave no result:\n{out.decode()}\n{err.decode()}")


# -- streams -------------------------------------------------------------------------------------


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(round(q / 100 * (len(ordered) - 1)), len(ordered) - 1)]


def summary_ms(values: list[float]) -> dict[str, float]:
    return {
        "p50_ms": pct(values, 50),
        "p90_ms": pct(values, 90),
        "p99_ms": pct(values, 99),
        "mean_ms": statistics.fmean(values),
        "n": len(values),
    }


async def _stream_once(
    session: aiohttp.ClientSession, url: str, body: bytes, headers: dict[str, str]
) -> tuple[float, float]:
    """Seconds to the first body byte and to the end of the stream."""
    started = time.perf_counter()
    first = 0.0
    async with session.post(url, data=body, headers=headers) as response:
        if response.status != 200:
            raise SystemExit(f"{url} answered {response.status}: {(await response.read())[:300]!r}")
        while await response.content.readany():
            if not first:
                first = time.perf_counter() - started
    return first, time.perf_counter() - started


async def streams(url: str, body: bytes, headers: dict[str, str], count: int) -> dict[str, Any]:
    ttfb, total = [], []
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=1)) as session:
        for _ in range(count):
            first, end = await _stream_once(session, url, body, headers)
            ttfb.append(first * 1000)
            total.append(end * 1000)
    return {"ttfb": summary_ms(ttfb), "total": summary_ms(total)}


@contextmanager
def collector_paused() -> Iterator[None]:
    """No cyclic garbage collection inside: a load generator holding thousands of streams would
    otherwise stop for a full collection (tens of ms) now and then, and every word it was about to
    read would count that pause as the proxy's. What the phase left behind is collected after."""
    gc.disable()
    try:
        yield
    finally:
        gc.enable()
        gc.collect()


async def paced_once(
    session: aiohttp.ClientSession,
    url: str,
    body: bytes,
    headers: dict[str, str],
    words: list[str],
    trips: list[tuple[int, float]] | None = None,
) -> list[float]:
    """When each paced word arrived, in ms from the request, found by its text in the bytes received.
    With ``trips``, each word's (time written upstream in ns, ms from then to its arrival) is added."""
    markers = [json.dumps({"content": word + "@"}, separators=(",", ":"))[1:-2].encode() for word in words]
    seen: list[float] = []
    received = b""
    started = time.perf_counter()
    async with session.post(url, data=body, headers=headers) as response:
        if response.status != 200:
            raise SystemExit(f"{url} answered {response.status}: {(await response.read())[:300]!r}")
        while chunk := await response.content.readany():
            arrived = time.perf_counter_ns()
            now = (arrived / 1e9 - started) * 1000
            received += chunk
            while len(seen) < len(words) and (at := received.find(marker := markers[len(seen)])) != -1:
                seen.append(now)
                if trips is not None:
                    stamp = at + len(marker)
                    sent = int(received[stamp : stamp + 19])
                    trips.append((sent, (arrived - sent) / 1e6))
    if len(seen) != len(words):
        raise SystemExit(f"{url}: saw {len(seen)} of {len(words)} paced words")
    return seen


async def paced(
    url: str, body: bytes, headers: dict[str, str], count: int, words: list[str]
) -> list[list[float]]:
    """Arrival offsets of each paced word of each request, in ms."""
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=1)) as session:
        return [await paced_once(session, url, body, headers, words) for _ in range(count)]


def gaps(runs: list[list[float]]) -> list[float]:
    return [b - a for run in runs for a, b in itertools.pairwise(run)]
