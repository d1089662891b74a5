"""Routes passed to a provider without metering (see ``gateway.unmetered_calls``): Anthropic's token
counting and the Responses API's stored responses."""

from __future__ import annotations

from olga_cli.errors import GatewayError
from olga_cli.gateway import unmetered_calls
from olga_cli.server.app_keys import gateway_of
from olga_cli.server.edge import readable_headers
from olga_cli.server.request import Request, Response, error_response


def _respond(answer: unmetered_calls.Answer) -> Response:
    return Response(status=answer.status, headers=answer.headers, body=answer.body)


async def count_tokens(request: Request) -> Response:
    gateway = gateway_of(request.app)
    try:
        if request.body_error is not None:
            raise request.body_error
        answer = await unmetered_calls.count_tokens(
            gateway,
            readable_headers(request.headers),
            request.body,
            pinned=request.match_info.get("provider"),
        )
    except GatewayError as error:
        return error_response("anthropic", error)
    return _respond(answer)


async def stored_response(request: Request) -> Response:
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
        return error_response("openai", error)
    return _respond(answer)
