"""Routes passed to a provider without metering (see ``gateway.unmetered_calls``): Anthropic's token
counting and the Responses API's stored responses."""

from __future__ import annotations

from aiohttp import web

from olga_cli.errors import GatewayError
from olga_cli.gateway import unmetered_calls
from olga_cli.gateway.error_response import ErrorShape, render
from olga_cli.server.app_keys import gateway_of
from olga_cli.server.edge import read_body, readable_headers


def _respond(answer: unmetered_calls.Answer) -> web.Response:
    return web.Response(status=answer.status, headers=answer.headers, body=answer.body)


def _error(shape: ErrorShape, error: GatewayError) -> web.Response:
    status, headers, body = render(shape, error)
    return web.Response(status=status, headers=headers, body=body)


async def count_tokens(request: web.Request) -> web.Response:
    gateway = gateway_of(request.app)
    try:
        raw, unreadable = await read_body(request, gateway.config.max_body_bytes)
        if unreadable is not None:
            raise unreadable
        answer = await unmetered_calls.count_tokens(
            gateway, readable_headers(request.headers), raw, pinned=request.match_info.get("provider")
        )
    except GatewayError as error:
        return _error("anthropic", error)
    return _respond(answer)


async def stored_response(request: web.Request) -> web.Response:
    gateway = gateway_of(request.app)
    try:
        answer = await unmetered_calls.stored_response(
            gateway,
            readable_headers(request.headers),
            method=request.method,
            response_id=request.match_info["response_id"],
            query=request.query_string,
            pinned=request.match_info.get("provider"),
        )
    except GatewayError as error:
        return _error("openai", error)
    return _respond(answer)
