"""Retention: the server prunes old records by itself when config.toml asks it to.

```toml
[retention]
days = 90          # delete records older than this
bodies_days = 7    # keep records, drop request/response bodies older than this
```

The pruning runs in a background task shortly after start and then hourly, on a connection of its
own (the recorder's is busy with its transactions), in small batches. The ledger and the usage totals
are never touched, so balances and `olga usage` stay whole.
"""

from __future__ import annotations

import asyncio
import logging
import time

from aiohttp import web

from olga_cli.config import Config
from olga_cli.server.app_keys import gateway_of
from olga_cli.server.background import CleanupContext, background_task
from olga_cli.store.db import open_store

log = logging.getLogger("olga.retention")
FIRST_RUN_DELAY = 1.0  # seconds after start: let the server come up first
INTERVAL = 3600.0
DAY = 86400


async def apply_retention(config: Config, *, now: float | None = None) -> tuple[int, int]:
    """Prune once; returns (records deleted, records whose bodies were dropped)."""
    policy = config.retention
    if not policy.active:
        return 0, 0
    moment = time.time() if now is None else now
    db = await open_store(config.store_location)
    try:
        blanked = deleted = 0
        if policy.bodies_days is not None:
            blanked = await db.reports.prune(before=moment - policy.bodies_days * DAY, bodies_only=True)
        if policy.days is not None:
            deleted = await db.reports.prune(before=moment - policy.days * DAY)
    finally:
        await db.close()
    if deleted or blanked:
        log.info("retention: deleted %d records, dropped the bodies of %d", deleted, blanked)
    return deleted, blanked


def retention_context(*, first_delay: float = FIRST_RUN_DELAY, interval: float = INTERVAL) -> CleanupContext:
    """A cleanup context running ``apply_retention`` in the background with the live config."""

    async def loop(app: web.Application) -> None:
        await asyncio.sleep(first_delay)
        while True:
            try:
                await apply_retention(gateway_of(app).config)
            except Exception:
                log.exception("retention pruning failed; will retry")
            await asyncio.sleep(interval)

    return background_task("olga-retention", loop)
