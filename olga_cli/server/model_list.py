"""``GET /v1/models`` and ``GET /v1/models/{id}``: the models a key may use, in the caller's API shape.

A request carrying ``anthropic-version`` (the Anthropic SDKs, Claude Code's gateway model discovery)
gets Anthropic's shape: ``data`` of ``{"type": "model", "id", "display_name", "created_at", ...}``
with ``first_id``, ``last_id`` and ``has_more``, paged by ``limit`` (1..1000, default 20),
``after_id`` and ``before_id``; its errors are Anthropic's too. Any other request gets OpenAI's
``{"object": "list", "data": [...]}``, the whole list at once as OpenAI does.

The list is the catalog's models whose provider is configured, then what each local server has
loaded now (asked live), each only if the key (and its team) may use it.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import unquote

from multidict import MultiMapping

from olga_cli.catalog import ModelEntry
from olga_cli.errors import GatewayError, InvalidRequest, NotFound
from olga_cli.gateway.admission.allowlist import is_allowed
from olga_cli.gateway.admission.auth import authenticate_now
from olga_cli.gateway.error_response import ErrorShape
from olga_cli.gateway.snapshot import KeyState
from olga_cli.gateway.state import Gateway
from olga_cli.server.app_keys import gateway_of
from olga_cli.server.edge import readable_headers
from olga_cli.server.request import Request, Response, error_response, json_response

# The catalog has no release dates; Anthropic's documented stand-in for an unknown one is the epoch.
UNKNOWN_RELEASE = "1970-01-01T00:00:00Z"
DEFAULT_LIMIT, MAX_LIMIT = 20, 1000
LIFECYCLES = ("active", "deprecated", "retired")
LISTED_BY_DEFAULT = ("active", "deprecated")  # retired models only when asked for


@dataclass(frozen=True, slots=True)
class Listed:
    id: str
    provider: str
    entry: ModelEntry


def shape_of(headers: Mapping[str, str]) -> ErrorShape:
    return "anthropic" if headers.get("anthropic-version") else "openai"


async def list_models(request: Request) -> Response:
    shape = shape_of(request.headers)
    try:
        gateway, key = await _key(request)
        if shape == "openai":
            models = await listed_models(gateway, key)
            return json_response({"object": "list", "data": [openai_model(m) for m in models]})
        page = anthropic_page_params(request.query)  # checked before the local servers are asked
        return json_response(anthropic_page(await listed_models(gateway, key), page))
    except GatewayError as error:
        return error_response(shape, error)


async def get_model(request: Request) -> Response:
    shape = shape_of(request.headers)
    try:
        gateway, key = await _key(request)
        model = find_model(
            await listed_models(gateway, key), gateway, unquote(request.match_info["model_id"])
        )
    except GatewayError as error:
        return error_response(shape, error)
    return json_response(anthropic_model(model) if shape == "anthropic" else openai_model(model))


async def _key(request: Request) -> tuple[Gateway, KeyState]:
    gateway = gateway_of(request.app)
    return gateway, await authenticate_now(gateway, readable_headers(request.headers))


async def listed_models(gateway: Gateway, key: KeyState) -> list[Listed]:
    found: list[Listed] = []
    for entry in gateway.catalog.entries():
        if entry.provider in gateway.config.providers and is_allowed(gateway.snapshot, key, entry, entry.id):
            found.append(Listed(entry.id, entry.provider, entry))
    return found + await _local_models(gateway, key, {m.id for m in found})


async def _local_models(gateway: Gateway, key: KeyState, listed: set[str]) -> list[Listed]:
    """What each local server has loaded now, priced by its provider's wildcard entry."""
    found: list[Listed] = []
    for provider in gateway.config.providers.values():
        if not provider.local or provider.paused:
            continue
        for name in await gateway.local_models.ids(gateway.upstreams, provider, now=time.monotonic()):
            entry = gateway.catalog.resolve_for_provider(provider.name, name)
            if entry is None or entry.provider != provider.name or entry.id in listed:
                continue
            if is_allowed(gateway.snapshot, key, entry, entry.id):
                found.append(Listed(entry.id, provider.name, entry))
    return found


def find_model(models: list[Listed], gateway: Gateway, ref: str) -> Listed:
    """The listed model ``ref`` names: its id, or a catalog alias of it (``gpt-4o-mini``)."""
    by_id = {m.id: m for m in models}
    entry = gateway.catalog.resolve(ref)
    found = by_id.get(ref) or (by_id.get(entry.id) if entry is not None else None)
    if found is None:
        raise NotFound(f"No model '{ref}' for this key. GET /v1/models lists the models it may use.")
    return found


def openai_model(model: Listed) -> dict[str, object]:
    return {"id": model.id, "object": "model", "created": 0, "owned_by": model.provider}


def anthropic_model(model: Listed) -> dict[str, object]:
    return {
        "type": "model",
        "id": model.id,
        "display_name": model.id,
        "created_at": UNKNOWN_RELEASE,
        "lifecycle": "active",
        "max_input_tokens": model.entry.context_window,
        "max_tokens": model.entry.max_output_tokens,
    }


@dataclass(frozen=True, slots=True)
class PageParams:
    limit: int = DEFAULT_LIMIT
    after_id: str | None = None
    before_id: str | None = None
    lifecycles: tuple[str, ...] = LISTED_BY_DEFAULT


def anthropic_page_params(query: MultiMapping[str]) -> PageParams:
    raw = query.get("limit")
    limit = DEFAULT_LIMIT
    if raw is not None:
        if not raw.isascii() or not raw.isdigit() or not 1 <= int(raw) <= MAX_LIMIT:
            raise InvalidRequest(
                f"limit: {raw!r} is not a whole number from 1 to {MAX_LIMIT}.", param="limit"
            )
        limit = int(raw)
    after, before = query.get("after_id"), query.get("before_id")
    if after is not None and before is not None:
        raise InvalidRequest("Pass after_id or before_id, not both.", param="before_id")
    return PageParams(limit, after, before, _lifecycles(query))


def _lifecycles(query: MultiMapping[str]) -> tuple[str, ...]:
    """``lifecycle=active&lifecycle=deprecated``, ``lifecycle[]=...`` or ``lifecycle=active,deprecated``."""
    values = [
        part.strip()
        for name in ("lifecycle", "lifecycle[]")
        for value in query.getall(name, [])
        for part in value.split(",")
    ]
    if not values:
        return LISTED_BY_DEFAULT
    bad = [v for v in values if v not in LIFECYCLES]
    if bad:
        raise InvalidRequest(
            f"lifecycle: {bad[0]!r} is not one of {', '.join(LIFECYCLES)}.", param="lifecycle"
        )
    return tuple(values)


def anthropic_page(models: list[Listed], page: PageParams) -> dict[str, object]:
    """One page, cut as Anthropic's cursors do: after ``after_id`` going forward, or the ``limit``
    models just before ``before_id``; ``has_more`` says whether more lie in that direction."""
    if "active" not in page.lifecycles:
        models = []  # every model olga serves is active
    ids = [m.id for m in models]
    if page.before_id is not None:
        end = _cursor(ids, page.before_id, "before_id")
        start = max(0, end - page.limit)
        chosen, more = models[start:end], start > 0
    else:
        start = _cursor(ids, page.after_id, "after_id") + 1 if page.after_id is not None else 0
        chosen, more = models[start : start + page.limit], start + page.limit < len(models)
    data = [anthropic_model(m) for m in chosen]
    return {
        "data": data,
        "has_more": more,
        "first_id": chosen[0].id if chosen else None,
        "last_id": chosen[-1].id if chosen else None,
    }


def _cursor(ids: list[str], value: str, param: str) -> int:
    try:
        return ids.index(value)
    except ValueError:
        raise InvalidRequest(
            f"{param}: no model '{value}' in this key's list; use an id from first_id or last_id.",
            param=param,
        ) from None
