"""Who is calling: the olga key from ``Authorization: Bearer``, ``x-api-key`` or ``Authorization: Api-Key``."""

from __future__ import annotations

from collections.abc import Mapping

from olga_cli.errors import InvalidApiKey
from olga_cli.gateway.snapshot import KeyState, Snapshot
from olga_cli.store.keys import hash_key

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
