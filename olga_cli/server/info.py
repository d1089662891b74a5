"""Routes that answer from olga itself: health, the key's models, its own state, generation records."""

from __future__ import annotations

import time

from olga_cli import __version__
from olga_cli.errors import GatewayError, InvalidRequest, NotFound, StoreUnavailable
from olga_cli.gateway.admission.auth import authenticate_now
from olga_cli.gateway.admission.windows import iso
from olga_cli.gateway.snapshot import KeyState
from olga_cli.gateway.state import Gateway
from olga_cli.money import pico_to_usd
from olga_cli.server.app_keys import gateway_of
from olga_cli.server.edge import readable_headers
from olga_cli.server.request import Request, Response, error_response, json_response


async def _key(request: Request) -> tuple[Gateway, KeyState]:
    gateway = gateway_of(request.app)
    return gateway, await authenticate_now(gateway, readable_headers(request.headers))


async def root(request: Request) -> Response:
    """``GET /`` and ``HEAD /``: who answers here. Claude Code checks that its base URL is reachable
    this way; it needs no key."""
    return json_response(
        {
            "name": "olga",
            "description": "a local LLM gateway",
            "version": __version__,
            "docs": "`olga --help`, and the README of the olga package",
            "apis": ["/v1/chat/completions", "/v1/messages", "/v1/responses", "/v1/embeddings", "/v1/models"],
        }
    )


async def health(request: Request) -> Response:
    """Up, and the store it serves from: which backend, and the schema version (the newest migration);
    with Redis, whether it answered last.

    In team mode a store that does not answer makes it 503, so a load balancer stops sending here."""
    gateway = gateway_of(request.app)
    backend = "postgresql" if gateway.config.database_url else "sqlite"
    try:
        applied = await gateway.db.schema_version()
    except Exception as exc:  # the store's own error: report it, never crash the health check
        store = {"backend": backend, "ok": False, "error": type(exc).__name__}
        return json_response({"status": "degraded", "version": __version__, "store": store}, status=503)
    store = {"backend": backend, "ok": True, "schema": applied[-1] if applied else None}
    answer: dict[str, object] = {"status": "ok", "version": __version__, "store": store}
    if gateway.hot is not None:  # Redis down is not unhealthy: olga serves from PostgreSQL meanwhile
        answer["redis"] = {"ok": gateway.hot.up, "where": gateway.hot.where}
    return json_response(answer)


def key_view(gateway: Gateway, key: KeyState) -> dict[str, object]:
    row = key.row
    team = gateway.snapshot.teams.get(row.team_id) if row.team_id else None
    # usage (spend, requests, tokens) in each current window, every limit of the key and its team, rpm/tpm
    report = gateway.limits.key_report(gateway.snapshot, key, gateway.clock())
    return {
        "id": row.id,
        "name": row.name,
        "prefix": row.prefix,
        "user": row.user_id,
        "team": team.name if team else None,
        "credits": pico_to_usd(key.credits) if key.capped else None,
        "balance": pico_to_usd(key.settled_balance) if key.settled_balance is not None else None,
        "reserved": pico_to_usd(key.reserved),
        "spent": pico_to_usd(key.spent),
        "rate_multiplier": str(row.rate_multiplier),
        "models": list(row.models) if row.models is not None else None,
        "rpm": row.rpm,
        "tpm": row.tpm,
        "expires_at": iso(row.expires_at),
        "zdr": row.zdr,
        "usage": report["usage"],
        "limits": report["limits"],
        "rate_limits": report["rate_limits"],
    }


async def key_info(request: Request) -> Response:
    try:
        gateway, key = await _key(request)
        view = key_view(gateway, key)
        if gateway.shared is not None:
            await _shared_money(gateway, key, view)
            await _shared_usage(gateway, key, view)
    except GatewayError as error:
        return error_response("openai", error)
    return json_response({"data": view})


async def _shared_money(gateway: Gateway, key: KeyState, view: dict[str, object]) -> None:
    """Team mode: the key's money as the shared store has it, counting every instance's requests
    (this instance's snapshot only knows its own reservations)."""
    assert gateway.shared is not None
    try:
        money = await gateway.shared.holds.balance(key.row.id)
    except Exception:  # the store's own error: a 503 in the route's shape
        raise StoreUnavailable(
            "The team's store cannot be reached, so olga cannot say this key's balance; retry shortly."
        ) from None
    credits, spent, reserved = money or (0, 0, 0)
    view["spent"] = pico_to_usd(spent)
    view["reserved"] = pico_to_usd(reserved)
    if key.capped:
        view["credits"] = pico_to_usd(credits)
        view["balance"] = pico_to_usd(credits - spent)


async def _shared_usage(gateway: Gateway, key: KeyState, view: dict[str, object]) -> None:
    """Team mode: usage in each window, every limit's usage and in-flight amount, and the rate-limit
    minute, counting every instance's requests (this instance's counters only know its own)."""
    assert gateway.shared is not None
    now = gateway.clock()
    try:
        figures = await gateway.shared.holds.key_figures(key.row.id, key.row.team_id, now)
    except Exception:  # the store's own error: a 503 in the route's shape
        raise StoreUnavailable(
            "The team's store cannot be reached, so olga cannot say this key's usage; retry shortly."
        ) from None
    report = gateway.limits.shared_report(gateway.snapshot, key, figures, now)
    view.update(usage=report["usage"], limits=report["limits"], rate_limits=report["rate_limits"])


async def generation(request: Request) -> Response:
    try:
        gateway, key = await _key(request)
        ref = request.query.get("id", "").strip()
        if not ref:
            raise InvalidRequest(
                "Pass the generation id as ?id=gen-... (from the x-olga-generation-id header).", param="id"
            )
        record = await gateway.generation(ref, key_id=key.row.id)
        if record is None:
            raise NotFound(
                f"No generation '{ref}' for this key. Ids come from the x-olga-generation-id header."
            )
    except GatewayError as error:
        return error_response("openai", error)
    return json_response({"data": record.to_json()})


def uptime_since(started: float) -> float:
    return time.time() - started
