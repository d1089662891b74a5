"""Who is calling: the olga key from ``Authorization: Bearer``, ``x-api-key`` or ``Authorization: Api-Key``."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Mapping
from typing import TYPE_CHECKING

from olga_cli.errors import InvalidApiKey
from olga_cli.gateway.snapshot import KeyState, Snapshot
from olga_cli.store.keys import hash_key

if TYPE_CHECKING:
    from olga_cli.gateway.state import Gateway

log = logging.getLogger("olga.auth")

_HINT = "Pass an olga key (sk-olga-...) as 'Authorization: Bearer KEY' or 'x-api-key: KEY'; mint one with `olga keys create --name NAME`."


def presented_key(headers: Mapping[str, str]) -> str | None:
    authorization = headers.get("Authorization")
    if authorization:
        scheme, _, value = authorization.strip().partition(" ")
        if scheme.lower() in ("bearer", "api-key") and value.strip():
            return value.strip()
    api_key = headers.get("x-api-key")
    return api_key.strip() if api_key and api_key.strip() else None


def authenticate(snapshot: Snapshot, headers: Mapping[str, str], now: float) -> KeyState:
    key = presented_key(headers)
    if key is None:
        raise InvalidApiKey(f"Missing API key. {_HINT}")
    state = snapshot.by_hash.get(hash_key(key))
    if state is None:
        raise InvalidApiKey(f"Unknown API key. {_HINT}")
    status = state.row.status(now)
    if status != "active":
        raise InvalidApiKey(
            f"This API key is {status}. Ask its owner to run `olga keys enable {state.row.name}` or mint a new key."
            if status == "disabled"
            else f"This API key is {status}. Mint a new one with `olga keys create --name NAME`."
        )
    return state


FRESH = 0.5  # seconds; the watcher looks every 0.25 s, so only a late tick makes a request look


async def authenticate_now(gw: Gateway, headers: Mapping[str, str], since: float | None = None) -> KeyState:
    """``authenticate``, but a presented key is refused only once the store has been looked at after
    ``since`` (the request's arrival, perf_counter): a key minted or enabled with the CLI a moment ago
    works at once, not at the watcher's next tick.

    And a request is never judged on a view of the store more than ``FRESH`` seconds older than its
    arrival: when the watcher's tick is late (a machine short of CPU), the request looks itself, so a
    key disabled or deleted with the CLI is refused by every request that arrives a second later."""
    if since is not None and not gw.store_looked_after(since - FRESH):
        await _look(gw, since - FRESH)
    try:
        return authenticate(gw.snapshot, headers, gw.clock())
    except InvalidApiKey:
        if presented_key(headers) is None:
            raise
        if not await gw.catch_up(time.perf_counter() if since is None else since):
            raise
    return authenticate(gw.snapshot, headers, gw.clock())


async def _look(gw: Gateway, since: float) -> None:
    """A look at the store for a request the watcher left behind: bounded, and never its failure. A
    store that is slow or down (the watcher says so in the log) leaves the request judged on what was
    last seen, as it would have been without the look."""
    try:
        async with asyncio.timeout(FRESH):
            await gw.refresh_store_if_changed(unless_since=since)
    except Exception:  # the store's own errors, and TimeoutError
        log.debug("no look at the store for this request; the last view stands", exc_info=True)
