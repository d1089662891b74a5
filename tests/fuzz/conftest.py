"""The fuzzing suite's olga: one gateway (with both fake providers) on its own event loop in a thread,
shared by every fuzz test, so that hypothesis can drive it from plain synchronous tests.

``OLGA_FUZZ_EXAMPLES`` sets how many examples each property tries (CI: the default, derandomized so
that a run is repeatable; set it higher to search longer, with a fresh random seed each run).
"""

from __future__ import annotations

import asyncio
import os
import socket
import threading
from collections.abc import Coroutine, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, settings

from tests.fakes.anthropic_upstream import FakeAnthropic, start_fake_anthropic
from tests.fakes.gateway import RunningGateway, mint_key, point_anthropic_at, point_openai_at, start_gateway
from tests.fakes.openai_upstream import FakeOpenAI

EXAMPLES = int(os.environ.get("OLGA_FUZZ_EXAMPLES", "0") or 0)
settings.register_profile(
    "olga-fuzz",
    max_examples=EXAMPLES or 60,
    derandomize=not EXAMPLES,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much],
)
FUZZ = settings.get_profile("olga-fuzz")
TIMEOUT = 15.0  # seconds for one answer: longer is a hang


@dataclass
class FuzzTarget:
    """The running gateway, reached by host and port, with a key; ``run`` executes on its loop."""

    host: str
    port: int
    key: str
    loop: asyncio.AbstractEventLoop
    gateway: RunningGateway
    fakes: tuple[FakeOpenAI, FakeAnthropic]

    def run(self, coro: Coroutine[Any, Any, Any]) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(TIMEOUT * 2)

    def tasks(self) -> int:
        """Tasks alive on the gateway's loop (the fakes' included)."""
        return self.run(_count_tasks()) - 1  # not the one counting

    def exchange(self, data: bytes, *, half_close: bool = False) -> bytes:
        """Raw bytes in, raw answer out (until olga closes the connection or TIMEOUT passes: a hang)."""
        with socket.create_connection((self.host, self.port), timeout=TIMEOUT) as sock:
            sock.sendall(data)
            if half_close:
                sock.shutdown(socket.SHUT_WR)
            chunks = []
            while True:
                chunk = sock.recv(65536)  # socket.timeout (a test failure) if olga hangs
                if not chunk:
                    return b"".join(chunks)
                chunks.append(chunk)


async def _count_tasks() -> int:
    return len(asyncio.all_tasks())


@pytest.fixture(scope="session")
def fuzz_olga(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FuzzTarget]:
    home: Path = tmp_path_factory.mktemp("fuzz-home")
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, name="olga-fuzz", daemon=True)
    thread.start()

    def run(coro: Coroutine[Any, Any, Any]) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, loop).result(60)

    fake_openai = run(FakeOpenAI().start())
    fake_anthropic = run(start_fake_anthropic())
    point_openai_at(home, fake_openai.url)
    point_anthropic_at(home, fake_anthropic.url)
    _, key = run(mint_key(home, name="fuzz"))
    gateway = run(start_gateway(home))
    host, port = gateway.url.removeprefix("http://").split(":")
    target = FuzzTarget(host, int(port), key, loop, gateway, (fake_openai, fake_anthropic))
    yield target
    run(gateway.close())
    run(fake_openai.close())
    run(fake_anthropic.close())
    loop.call_soon_threadsafe(loop.stop)
    thread.join(10)
