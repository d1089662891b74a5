"""Typed application state: the keys are private, reached through one-line accessors."""

from __future__ import annotations

from aiohttp import web

from olga_cli.gateway.state import Gateway

_GATEWAY = web.AppKey("olga_gateway", Gateway)


def set_gateway(app: web.Application, gateway: Gateway) -> None:
    app[_GATEWAY] = gateway


def gateway_of(app: web.Application) -> Gateway:
    return app[_GATEWAY]
