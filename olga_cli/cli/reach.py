"""Whether each provider answers: one cheap request with a short timeout, all providers at once.

``olga doctor``, ``olga providers list`` and the ``olga serve`` banner say reachable, unreachable or
no key from this, rather than from the configuration alone (a provider pointed at a port where
nothing listens is not "ready"). Any HTTP answer counts as reachable (a 401 or 404 too: something
speaks HTTP there); a refused connection, a DNS failure or a timeout is unreachable. Nothing is sent
but a GET of the provider's model list, with its key when there is one, so the call costs nothing.
"""

from __future__ import annotations

import urllib.error
import urllib.request
from collections.abc import Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from typing import Literal

from olga_cli.config import ProviderConfig

Reach = Literal["reachable", "unreachable", "no key", "paused", "built in"]
TIMEOUT = 1.5  # seconds: a provider slower than this to answer a model list is not worth waiting for


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: object, **kwargs: object) -> None:
        return None  # a redirect is an answer: reachable, and never followed with the key


def _headers(provider: ProviderConfig, key: str | None) -> dict[str, str]:
    if key is None:
        return {}
    if provider.auth == "x-api-key":
        return {"x-api-key": key, "anthropic-version": "2023-06-01"}
    if provider.auth == "api-key":
        return {"api-key": key}
    return {"Authorization": f"Bearer {key}"}


def provider_status(provider: ProviderConfig, environ: dict[str, str]) -> tuple[str, str]:
    """("ready" | "paused" | "no key", what to do about it)."""
    if provider.paused:
        return "paused", f"olga providers resume {provider.name}"
    if provider.needs_key and not any(source.resolve(environ) for source in provider.keys):
        variables = [source.env for source in provider.keys if source.env]
        hint = f"set {' or '.join(variables)}" if variables else f"olga providers add-key {provider.name} ..."
        return "no key", hint
    return "ready", ""


def probe(provider: ProviderConfig, environ: Mapping[str, str], *, timeout: float = TIMEOUT) -> Reach:
    if provider.kind == "mock":
        return "built in"
    if provider.paused:
        return "paused"
    key = next((value for source in provider.keys if (value := source.resolve(environ))), None)
    if provider.needs_key and key is None:
        return "no key"
    url = provider.base_url.rstrip("/") + ("/v1/models" if provider.kind == "anthropic" else "/models")
    request = urllib.request.Request(url, headers=_headers(provider, key), method="GET")
    opener = urllib.request.build_opener(_NoRedirect)
    try:
        with opener.open(request, timeout=timeout):
            return "reachable"
    except urllib.error.HTTPError:
        return "reachable"
    except (OSError, ValueError):
        return "unreachable"


def probe_all(
    providers: Iterable[ProviderConfig], environ: Mapping[str, str], *, timeout: float = TIMEOUT
) -> dict[str, Reach]:
    """Every provider probed in parallel: the whole look takes one timeout at most."""
    chosen = list(providers)
    if not chosen:
        return {}
    with ThreadPoolExecutor(max_workers=min(len(chosen), 16)) as pool:
        results = pool.map(lambda p: probe(p, environ, timeout=timeout), chosen)
        return {p.name: r for p, r in zip(chosen, results)}
