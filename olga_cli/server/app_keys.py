"""Typed application state: the keys are private, reached through one-line accessors."""

from __future__ import annotations

from aiohttp import web

from olga_cli.gateway.state import Gateway
from olga_cli.server.router import Router

_GATEWAY = web.AppKey("olga_gateway", Gateway)
_ROUTER = web.AppKey("olga_router", Router)
_MAX_BODY = web.AppKey("olga_max_body", int)


def set_gateway(app: web.Application, gateway: Gateway) -> None:
    app[_GATEWAY] = gateway


def gateway_of(app: web.Application) -> Gateway:
    return app[_GATEWAY]


def set_routes(app: web.Application, router: Router, max_body: int) -> None:
    """What the server answers (``server/http1.py``), and the largest request body it reads."""
    app[_ROUTER] = router
    app[_MAX_BODY] = max_body


def routes_of(app: web.Application) -> tuple[Router, int]:
    return app[_ROUTER], app[_MAX_BODY]
