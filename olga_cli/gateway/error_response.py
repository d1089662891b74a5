"""olga's own errors in the caller's API shape: the one place an error becomes a response body."""

from __future__ import annotations

import json
from typing import Literal

from olga_cli.errors import GatewayError

ErrorShape = Literal["openai", "anthropic"]

ANTHROPIC_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    402: "billing_error",
    403: "permission_error",
    404: "not_found_error",
    413: "request_too_large",
    422: "invalid_request_error",
    429: "rate_limit_error",
    500: "api_error",
    502: "api_error",
    503: "overloaded_error",
    504: "api_error",
    529: "overloaded_error",
}

OPENAI_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    402: "insufficient_quota",
    403: "permission_error",
    404: "not_found_error",
    413: "invalid_request_error",
    422: "invalid_request_error",
    429: "rate_limit_error",
}


def error_body(shape: ErrorShape, status: int, code: str, message: str, param: str | None = None) -> bytes:
    if shape == "anthropic":
        payload: dict[str, object] = {
            "type": "error",
            "error": {"type": ANTHROPIC_TYPES.get(status, "api_error"), "message": message, "code": code},
        }
    else:
        payload = {
            "error": {
                "message": message,
                "type": OPENAI_TYPES.get(
                    status, "server_error" if status >= 500 else "invalid_request_error"
                ),
                "param": param,
                "code": code,
            }
        }
    return json.dumps(payload).encode()


def render(shape: ErrorShape, error: GatewayError) -> tuple[int, dict[str, str], bytes]:
    headers = {"Content-Type": "application/json", **error.headers}
    return error.status, headers, error_body(shape, error.status, error.code, error.message, error.param)
