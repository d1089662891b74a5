"""The aiohttp application: built by ``create_app``, resources owned by cleanup contexts."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Sequence

from aiohttp import web

from olga_cli.config import Config
from olga_cli.gateway.admission.alerts import deliver_alerts
from olga_cli.gateway.state import Observer, open_gateway
from olga_cli.server.app_keys import gateway_of, set_gateway
from olga_cli.server.background import background_task
from olga_cli.server.metrics import install_metrics
from olga_cli.server.middlewares import errors
from olga_cli.server.retention import retention_context
from olga_cli.server.routes import setup_routes
from olga_cli.store.db import open_store

log = logging.getLogger("olga.server")
WATCH_INTERVAL = 0.25  # seconds: CLI changes reach the server well within the promised second


def create_app(config: Config, *, observers: Sequence[Observer] = ()) -> web.Application:
    """The gateway app; ``observers`` are called with each committed record (e.g. the access log)."""
    app = web.Application(client_max_size=config.max_body_bytes, middlewares=[errors])
    metrics = install_metrics(app)
    app.cleanup_ctx.append(_gateway_context(config, [metrics.observe, *observers]))
    app.cleanup_ctx.append(background_task("olga-watcher", _watch))
    app.cleanup_ctx.append(retention_context())
    app.cleanup_ctx.append(background_task("olga-alert-delivery", _deliver_alerts))
    setup_routes(app)
    return app


def _gateway_context(config: Config, observers: Sequence[Observer] = ()):  # type: ignore[no-untyped-def]
    async def context(app: web.Application) -> AsyncIterator[None]:
        db = await open_store(config.db_path)
        gateway = await open_gateway(config, db=db)
        gateway.observers.extend(observers)
        gateway.recorder.start()
        set_gateway(app, gateway)
        try:
            yield
        finally:
            # In-flight requests have finished (or the shutdown timeout passed): flush, then close.
            await gateway.recorder.stop()
            await gateway.upstreams.close()
            await db.close()

    return context


async def _watch(app: web.Application) -> None:
    """Apply changes the CLI makes (keys, credits, guardrails in the store; config.toml, the catalog)."""
    gateway = gateway_of(app)
    await gateway.refresh_store_if_changed()
    while True:
        await asyncio.sleep(WATCH_INTERVAL)
        try:
            gateway.reload_files_if_changed()
            await gateway.refresh_store_if_changed()
        except Exception:
            log.exception("could not refresh from the store; will retry")


async def _deliver_alerts(app: web.Application) -> None:
    """Limit alerts go to the webhook from this task, never from a request."""
    gateway = gateway_of(app)
    await deliver_alerts(gateway.limits, lambda: gateway.config.webhook_url)
