"""The application: built by ``create_app``, resources owned by cleanup contexts.

It is an aiohttp ``Application`` for its typed state and its start-up and clean-up; requests are read
and answered by olga's own server (``server/http1.py``), which ``runner.OlgaRunner`` binds."""

from __future__ import annotations

import asyncio
import logging
import os
import time
from collections.abc import AsyncIterator, Mapping, Sequence
from typing import TYPE_CHECKING

from aiohttp import web

from olga_cli.config import Config
from olga_cli.gateway.admission.alerts import deliver_alerts
from olga_cli.gateway.state import Observer, open_gateway
from olga_cli.server.app_keys import gateway_of, set_gateway, set_routes
from olga_cli.server.background import background_task
from olga_cli.server.metrics import install_metrics
from olga_cli.server.retention import retention_context
from olga_cli.server.routes import build_router
from olga_cli.store.db import open_hot, open_store
from olga_cli.telemetry.settings import TelemetrySettings, telemetry_settings

if TYPE_CHECKING:
    from olga_cli.telemetry.export import Tracing

log = logging.getLogger("olga.server")
WATCH_INTERVAL = 0.25  # seconds: CLI changes reach the server well within the promised second


def create_app(
    config: Config, *, observers: Sequence[Observer] = (), environ: Mapping[str, str] | None = None
) -> web.Application:
    """The gateway app; ``observers`` are called with each committed record (e.g. the access log).

    Tracing is set up here, before the server binds, so a wrong telemetry setting (an endpoint that
    is not a URL, gRPC without grpcio) is a clear error at start rather than at the first request."""
    app = web.Application()  # its state and its start-up and clean-up; olga's own server answers
    set_routes(app, build_router(), config.max_body_bytes)
    metrics = install_metrics(app)
    tracing = start_tracing(telemetry_settings(config.raw, os.environ if environ is None else environ))
    app.cleanup_ctx.append(_gateway_context(config, [metrics.observe, *observers], tracing))
    app.cleanup_ctx.append(background_task("olga-watcher", _watch))
    app.cleanup_ctx.append(retention_context())
    app.cleanup_ctx.append(background_task("olga-alert-delivery", _deliver_alerts))
    if config.database_url is not None:
        app.cleanup_ctx.append(background_task("olga-lease", _keep_lease))
    if config.redis_url is not None:
        app.cleanup_ctx.append(background_task("olga-redis-watch", _watch_redis))
    return app


def _gateway_context(config: Config, observers: Sequence[Observer], tracing: Tracing | None):  # type: ignore[no-untyped-def]
    async def context(app: web.Application) -> AsyncIterator[None]:
        db = await open_store(config.store_location)
        # SQLite: looks and request reads on connections of their own (see ``Gateway.looks``); a
        # PostgreSQL pool gives each statement a connection anyway.
        sqlite = config.database_url is None
        looks = await open_store(config.store_location) if sqlite else None
        reads = await open_store(config.store_location) if sqlite else None
        hot = open_hot(config.redis_url) if config.redis_url is not None else None
        gateway = await open_gateway(config, db=db, looks=looks, reads=reads, hot=hot)
        gateway.observers.extend(observers)
        if tracing is not None:
            gateway.tracing, gateway.trace_content = True, tracing.settings.capture_content
            gateway.observers.append(tracing.observe)
        gateway.recorder.start()
        if gateway.shared is not None:  # the lease first: another instance's sweep must see this one
            await gateway.shared.holds.beat(gateway.shared.instance, time.time())
        set_gateway(app, gateway)
        try:
            yield
        finally:
            # In-flight requests have finished (or the shutdown timeout passed): flush, then close.
            await gateway.recorder.stop()
            if gateway.shared is not None:
                await gateway.shared.leave()
            await gateway.upstreams.close()
            for store in (reads, looks, db):
                if store is not None:
                    await store.close()
            if hot is not None:
                await hot.close()
            if tracing is not None:
                await asyncio.to_thread(tracing.close)  # the last spans, within the exporter's timeout

    return context


async def _keep_lease(app: web.Application) -> None:
    """Team mode: renew this instance's lease on its holds, free those of instances gone silent."""
    shared = gateway_of(app).shared
    if shared is not None:
        await shared.keep_lease()


async def _watch_redis(app: web.Application) -> None:
    """Team mode with Redis: notice its outages and their end (``SharedAdmission.watch_redis``)."""
    shared = gateway_of(app).shared
    if shared is not None and shared.hot is not None:
        await shared.watch_redis()


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


def start_tracing(settings: TelemetrySettings) -> Tracing | None:
    if not settings.enabled:
        return None
    from olga_cli.telemetry.export import Tracing  # its thread and transport only when tracing is on

    return Tracing(settings)
