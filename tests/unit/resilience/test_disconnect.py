"""``CallerWatch.unless_gone``: the work's result while the caller stays; ``ClientGone`` once it leaves; other
cancellations (a server shutting down) pass through untouched."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping

import pytest

from olga_cli.errors import ClientGone
from olga_cli.gateway.upstream.disconnect import CallerWatch

TICK = 0.005


class FakeSink:
    def __init__(self) -> None:
        self.left = False
        self.looks = 0

    async def send(self, status: int, headers: Mapping[str, str], body: bytes) -> None: ...

    async def start(self, status: int, headers: Mapping[str, str]) -> None: ...

    async def write(self, data: bytes) -> None: ...

    async def end(self) -> None: ...

    def gone(self) -> bool:
        self.looks += 1
        return self.left


async def test_returns_the_result_and_leaves_no_pending_cancellation() -> None:
    async def work() -> str:
        await asyncio.sleep(TICK * 3)  # several ticks look at a caller who stays
        return "answer"

    assert await CallerWatch(TICK).unless_gone(FakeSink(), work()) == "answer"
    task = asyncio.current_task()
    assert task is not None and task.cancelling() == 0
    await asyncio.sleep(0)  # nothing is left to cancel this task later


async def test_a_caller_who_leaves_cancels_the_work_and_raises_client_gone() -> None:
    sink, cleaned_up = FakeSink(), asyncio.Event()

    async def work() -> str:
        try:
            await asyncio.sleep(10)
        finally:
            cleaned_up.set()  # e.g. the upstream reply is closed
        return "never"

    asyncio.get_running_loop().call_later(TICK, setattr, sink, "left", True)
    started = asyncio.get_running_loop().time()
    with pytest.raises(ClientGone):
        await CallerWatch(TICK).unless_gone(sink, work())
    assert cleaned_up.is_set() and asyncio.get_running_loop().time() - started < 1
    task = asyncio.current_task()
    assert task is not None and task.cancelling() == 0
    await asyncio.sleep(0)  # the handler goes on to record the 499 without being cancelled


async def test_work_that_swallows_the_cancellation_still_ends_in_client_gone() -> None:
    sink = FakeSink()

    async def work() -> str:
        try:
            await asyncio.sleep(10)
        except asyncio.CancelledError:
            return "swallowed"
        return "never"

    sink.left = True
    with pytest.raises(ClientGone):
        await CallerWatch(TICK).unless_gone(sink, work())
    await asyncio.sleep(0)


async def test_an_outside_cancellation_is_not_mistaken_for_a_caller_leaving() -> None:
    async def work() -> None:
        await asyncio.sleep(10)

    task = asyncio.create_task(CallerWatch(TICK).unless_gone(FakeSink(), work()))
    await asyncio.sleep(TICK * 2)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task


async def test_errors_of_the_work_pass_through_while_the_caller_stays() -> None:
    async def work() -> None:
        await asyncio.sleep(0)
        raise ValueError("provider broke")

    with pytest.raises(ValueError, match="provider broke"):
        await CallerWatch(TICK).unless_gone(FakeSink(), work())


async def test_one_watch_serves_many_waits_and_only_the_callers_who_left_are_cancelled() -> None:
    watch, stays, leaves = CallerWatch(TICK), FakeSink(), FakeSink()

    async def work(answer: str) -> str:
        await asyncio.sleep(TICK * 6)
        return answer

    staying = asyncio.create_task(watch.unless_gone(stays, work("kept")))
    leaving = asyncio.create_task(watch.unless_gone(leaves, work("lost")))
    asyncio.get_running_loop().call_later(TICK, setattr, leaves, "left", True)
    with pytest.raises(ClientGone):
        await leaving
    assert await staying == "kept"
    await asyncio.sleep(TICK * 2)
    assert watch._timer is None  # nothing in flight: the shared timer stopped


async def test_with_more_waits_than_one_tick_looks_at_every_caller_is_still_noticed() -> None:
    """Five waits, two looked at per tick: the three callers who leave are all found (a look that
    kept to the same two waits would miss one, whose wait would then never end) and only they."""
    watch, answered = CallerWatch(TICK, per_tick=2), asyncio.Event()
    sinks = [FakeSink() for _ in range(5)]

    async def work(index: int) -> int:
        await answered.wait()  # a provider that answers only once the leaving callers are dealt with
        return index

    tasks = [asyncio.create_task(watch.unless_gone(sink, work(i))) for i, sink in enumerate(sinks)]
    while sum(sink.looks for sink in sinks) < 10:  # two rounds of looks, nobody gone
        await asyncio.sleep(TICK)
    assert min(sink.looks for sink in sinks) >= 1  # every caller reached, not the same two each tick
    for sink in sinks[:3]:
        sink.left = True
    for task in tasks[:3]:
        with pytest.raises(ClientGone):
            await asyncio.wait_for(task, 10)  # a bound against hanging, not a timing
    answered.set()
    assert [await task for task in tasks[3:]] == [3, 4]
