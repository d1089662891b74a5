"""Webhook delivery: which answers are retried, and that a bad URL gives up at once."""

from __future__ import annotations

import socket

import aiohttp
from aiohttp import web

from olga_cli.gateway.admission.alerts import post_alert
from olga_cli.gateway.admission.usage_limits import WebhookPolicy

FAST = WebhookPolicy(attempts=3, backoff=0.001, timeout=2)


async def _receiver(statuses: list[int]) -> tuple[web.AppRunner, str, list[int]]:
    seen: list[int] = []

    async def handle(request: web.Request) -> web.Response:
        status = statuses[len(seen)] if len(seen) < len(statuses) else 200
        seen.append(status)
        return web.Response(status=status)

    app = web.Application()
    app.router.add_post("/hook", handle)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    return runner, f"http://127.0.0.1:{runner.addresses[0][1]}/hook", seen


async def test_server_errors_and_429_are_retried_other_client_errors_are_not() -> None:
    runner, url, seen = await _receiver([429, 502, 200])
    try:
        async with aiohttp.ClientSession() as session:
            assert await post_alert(session, url, {"limit_id": 1}, FAST) is True
            assert seen == [429, 502, 200]
    finally:
        await runner.cleanup()
    runner, url, seen = await _receiver([404])
    try:
        async with aiohttp.ClientSession() as session:
            assert await post_alert(session, url, {"limit_id": 1}, FAST) is False
    finally:
        await runner.cleanup()
    assert seen == [404]


async def test_an_unreachable_receiver_is_tried_a_bounded_number_of_times() -> None:
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    async with aiohttp.ClientSession() as session:
        assert await post_alert(session, f"http://127.0.0.1:{port}/hook", {"limit_id": 1}, FAST) is False


async def test_a_malformed_url_gives_up_without_retrying(caplog) -> None:  # type: ignore[no-untyped-def]
    async with aiohttp.ClientSession() as session:
        assert await post_alert(session, "not a url", {"limit_id": 1}, WebhookPolicy(backoff=60)) is False
    assert "not a valid URL" in caplog.text
