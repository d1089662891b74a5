"""Errors that happen outside the pipeline (unknown routes, wrong methods, bugs) in the route's API shape."""

from __future__ import annotations

import logging

from aiohttp import web
from aiohttp.typedefs import Handler

from olga_cli.errors import GatewayError, InternalError, MethodNotAllowed, NotFound
from olga_cli.gateway.error_response import render
from olga_cli.gateway.unexpected import UNEXPECTED

log = logging.getLogger("olga.server")


def _shape(request: web.Request) -> str:
    return "anthropic" if "/messages" in request.path else "openai"


def _respond(request: web.Request, error: GatewayError) -> web.Response:
    status, headers, body = render("anthropic" if _shape(request) == "anthropic" else "openai", error)
    return web.Response(status=status, headers=headers, body=body)


@web.middleware
async def errors(request: web.Request, handler: Handler) -> web.StreamResponse:
    try:
        return await handler(request)
    except web.HTTPNotFound:
        return _respond(
            request,
            NotFound(
                f"No route {request.method} {request.path}. olga serves /v1/chat/completions, "
                "/v1/messages, /v1/responses, /v1/embeddings and /v1/models."
            ),
        )
    except web.HTTPMethodNotAllowed as exc:
        allowed = ", ".join(sorted(exc.allowed_methods))
        return _respond(
            request, MethodNotAllowed(f"{request.method} is not allowed on {request.path}; use {allowed}.")
        )
    except web.HTTPException:
        raise
    except Exception:
        log.exception("unexpected error on %s %s", request.method, request.path)
        return _respond(request, InternalError(UNEXPECTED))
