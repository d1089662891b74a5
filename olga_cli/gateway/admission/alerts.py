"""Limit alerts to the webhook (``[alerts] webhook_url`` in config.toml), never on the request path.

A request that crosses an alert threshold records the alert with its generation record, then queues it
(``Limits.announce``). One background task, owned by the server's cleanup context, POSTs each alert as
JSON, retrying with a doubling backoff when the receiver is unreachable, times out, or answers 408, 429
or 5xx. The URL is read at delivery time, so editing config.toml takes effect without a restart.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

import aiohttp

from olga_cli import __version__
from olga_cli.gateway.admission.usage_limits import Limits, WebhookPolicy

log = logging.getLogger("olga.alerts")
_RETRY_STATUSES = frozenset({408, 429})


async def deliver_alerts(limits: Limits, webhook_url: Callable[[], str | None]) -> None:
    """Run until cancelled: take queued alerts and POST them, one at a time, in order."""
    async with aiohttp.ClientSession(headers={"User-Agent": f"olga/{__version__}"}) as session:
        while True:
            alert = await limits.outbox.get()
            url = webhook_url()
            if not url:
                continue
            try:
                await post_alert(session, url, alert.payload(), limits.webhook)
            except Exception:  # one bad alert or URL must not end delivery for the ones after it
                log.exception("could not deliver an alert for limit %s", alert.row.limit_id)


async def post_alert(
    session: aiohttp.ClientSession, url: str, payload: dict[str, Any], policy: WebhookPolicy
) -> bool:
    """POST one alert; True once the receiver answered 2xx."""
    delay = policy.backoff
    for attempt in range(1, policy.attempts + 1):
        try:
            async with session.post(
                url, json=payload, timeout=aiohttp.ClientTimeout(total=policy.timeout)
            ) as reply:
                await reply.read()
                if 200 <= reply.status < 300:
                    return True
                retry, why = reply.status >= 500 or reply.status in _RETRY_STATUSES, f"HTTP {reply.status}"
        except aiohttp.InvalidURL:
            retry, why = False, "[alerts] webhook_url in config.toml is not a valid URL"
        except (TimeoutError, aiohttp.ClientError) as exc:
            retry, why = True, f"{type(exc).__name__}: {exc}"
        if not retry or attempt == policy.attempts:
            # The host only: webhook URLs often carry a secret token in their path.
            log.warning(
                "alert for limit %s not delivered to the webhook at %s after %d attempt(s): %s",
                payload.get("limit_id"),
                urlsplit(url).netloc,
                attempt,
                why,
            )
            return False
        await asyncio.sleep(delay)
        delay *= 2
    return False
