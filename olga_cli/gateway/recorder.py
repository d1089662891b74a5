"""The one writer: generation records and charges committed in batches (group commit).

Requests hand their record to ``Recorder.write`` and wait for the batch holding it to commit, so a
response is only finished once its record and charge are durable. Whatever is queued when a batch
starts writing goes into the next batch, so under load one commit serves many requests.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from olga_cli.records import GenerationRecord
from olga_cli.store.base import Store
from olga_cli.store.generations import Extra
from olga_cli.store.sanitise import sanitise_params, sanitise_record

log = logging.getLogger("olga.recorder")
MAX_BATCH = 512


@dataclass(slots=True)
class _Item:
    record: GenerationRecord
    extras: Sequence[Extra]
    done: asyncio.Future[None]


class Recorder:
    def __init__(self, db: Store) -> None:
        self._db = db
        self._queue: asyncio.Queue[_Item | None] = asyncio.Queue()
        self._task: asyncio.Task[None] | None = None
        self.after_commit: list[Callable[[Sequence[GenerationRecord]], None]] = []
        self.batches = 0

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="olga-recorder")

    async def write(self, record: GenerationRecord, extras: Sequence[Extra] = ()) -> None:
        """Queue a record and wait until it is committed."""
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._queue.put_nowait(_Item(record, extras, done))
        # A cancelled request cancels only this wait: the record is already queued and is written all
        # the same (the batch skips futures that are done). No shield needed, and none paid for.
        await done

    async def stop(self) -> None:
        """Flush everything queued, then stop."""
        if self._task is None:
            return
        self._queue.put_nowait(None)
        await self._task
        self._task = None

    async def _run(self) -> None:
        stopping = False
        while not stopping:
            first = await self._queue.get()
            batch: list[_Item] = []
            if first is None:
                stopping = True
            else:
                batch.append(first)
            while len(batch) < MAX_BATCH and not self._queue.empty():
                item = self._queue.get_nowait()
                if item is None:
                    stopping = True
                else:
                    batch.append(item)
            if batch:
                await self._commit(batch)
                await self._tidy()

    async def _commit(self, batch: list[_Item]) -> None:
        try:
            await self._write(batch)
            committed = batch
        except Exception as exc:
            # One bad record must never cost the others theirs. Most that a store refuses only need
            # sanitising (text that is not UTF-8, integers beyond 64 bits): the batch goes again with
            # those repaired, and if it still fails, record by record.
            log.warning("a batch of %d records failed (%s); storing them sanitised", len(batch), exc)
            committed = []
            if [item for item in batch if _sanitise(item)]:
                try:
                    await self._write(batch)
                    committed = batch
                except Exception:
                    pass  # still refused: record by record below, so only the culprit fails
            if not committed:
                committed = [item for item in batch if await self._commit_one(item)]
        self.batches += 1
        for item in committed:
            if not item.done.done():
                item.done.set_result(None)
        if not committed:
            return
        records = [item.record for item in committed]
        for hook in self.after_commit:
            try:
                hook(records)
            except Exception:
                log.exception("after-commit hook failed")

    async def _tidy(self) -> None:
        """The store's housekeeping, after the batch's waiters were released: no request waits for it
        (the next batch does, if it comes meanwhile)."""
        try:
            await self._db.records.tidy()
        except Exception as exc:  # a checkpoint that fails now is tried again after the next batch
            log.warning("store housekeeping failed: %s", exc)

    async def _write(self, batch: list[_Item]) -> None:
        records = [item.record for item in batch]
        extras = [extra for item in batch for extra in item.extras]
        await self._db.records.write_batch(records, extras)

    async def _commit_one(self, item: _Item) -> bool:
        """Write one record alone; False (its waiter failed, loudly, and alone) if even that fails."""
        try:
            await self._write([item])
            return True
        except Exception as exc:  # a broken store (disk full, file gone) must not hang the request
            log.error("could not write record %s: %s", item.record.id, exc)
            if not item.done.done():
                item.done.set_exception(exc)
            return False


def _sanitise(item: _Item) -> bool:
    """Repair what a store cannot take in the item's record and rows; True if anything changed."""
    flags = sanitise_record(item.record)
    if flags:
        log.warning("record %s stored sanitised: %s", item.record.id, "; ".join(flags))
    extras = []
    changed = bool(flags)
    for extra in item.extras:
        params, fixed = sanitise_params(extra.params)
        extras.append(Extra(extra.kind, params) if fixed else extra)
        changed = changed or fixed
    item.extras = extras
    return changed
