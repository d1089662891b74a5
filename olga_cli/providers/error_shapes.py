"""Provider errors in the caller's API shape, and well-formed mid-stream error events.

A provider's error is passed through as it came when the caller speaks the provider's API. When the
request was translated, the error body is reshaped (the status stays):

    OpenAI     {"error": {"message", "type", "param", "code"}}
    Anthropic  {"type": "error", "error": {"type", "message"}}

Mid-stream, each API signals an error its own way, and each official SDK raises on it:

    messages   ``event: error`` + ``{"type": "error", "error": {...}}`` (anthropic SDK: APIStatusError)
    chat       ``data: {"error": {...}}`` (openai SDK: any chunk with an "error" key raises APIError)
    responses  ``event: error`` + ``{"type": "error", "code", "message", "param", "sequence_number"}``,
               which a translator follows with ``response.failed`` (it knows the partial response)
"""

from __future__ import annotations

import json
from typing import Any, Literal

from olga_cli.providers.sse import encode_event

ErrorApi = Literal["openai", "anthropic"]

ANTHROPIC_TYPE_BY_STATUS: dict[int, str] = {
    400: "invalid_request_error",
    401: "authentication_error",
    403: "permission_error",
    404: "not_found_error",
    413: "request_too_large",
    429: "rate_limit_error",
    500: "api_error",
    529: "overloaded_error",
}

# Anthropic's type -> the type OpenAI uses for the same failure.
_OPENAI_TYPE: dict[str, str] = {
    "invalid_request_error": "invalid_request_error",
    "authentication_error": "authentication_error",
    "permission_error": "permission_error",
    "not_found_error": "not_found_error",
    "request_too_large": "invalid_request_error",
    "rate_limit_error": "rate_limit_error",
    "api_error": "server_error",
    "overloaded_error": "server_error",
}


def anthropic_error_type(status: int) -> str:
    """Anthropic's error ``type`` for an HTTP status (5xx other than 529 read as api_error)."""
    if status in ANTHROPIC_TYPE_BY_STATUS:
        return ANTHROPIC_TYPE_BY_STATUS[status]
    if status == 422:
        return "invalid_request_error"
    return "api_error" if status >= 500 or status < 400 else "invalid_request_error"


def error_message(status: int, body: Any) -> str:
    """The human message inside either shape (or the raw text), falling back to the status."""
    if isinstance(body, (bytes, bytearray)):
        try:
            body = json.loads(body)
        except (ValueError, UnicodeDecodeError):
            body = body.decode("utf-8", errors="replace")
    if isinstance(body, dict):
        error = body.get("error")
        if isinstance(error, dict) and isinstance(error.get("message"), str):
            return str(error["message"])
        if isinstance(error, str):
            return error
        if isinstance(body.get("message"), str):
            return str(body["message"])
    if isinstance(body, str) and body.strip():
        return body.strip()[:1000]
    return f"The provider answered with status {status}."


def to_anthropic_error(status: int, body: Any) -> dict[str, Any]:
    """Any provider error (OpenAI shape, other JSON, text) -> Anthropic's error body."""
    if isinstance(body, dict) and body.get("type") == "error" and isinstance(body.get("error"), dict):
        return body
    error: dict[str, Any] = {"type": anthropic_error_type(status), "message": error_message(status, body)}
    code = (
        body.get("error", {}).get("code")
        if isinstance(body, dict) and isinstance(body.get("error"), dict)
        else None
    )
    if code:
        error["code"] = code
    return {"type": "error", "error": error}


def to_openai_error(status: int, body: Any) -> dict[str, Any]:
    """Any provider error (Anthropic shape, other JSON, text) -> OpenAI's error body."""
    if isinstance(body, dict) and isinstance(body.get("error"), dict) and body.get("type") != "error":
        error = body["error"]
        return {
            "error": {
                "message": error_message(status, body),
                "type": error.get("type"),
                "param": error.get("param"),
                "code": error.get("code"),
            }
        }
    anthropic_type = None
    if isinstance(body, dict) and isinstance(body.get("error"), dict):
        anthropic_type = body["error"].get("type")
    anthropic_type = anthropic_type or anthropic_error_type(status)
    return {
        "error": {
            "message": error_message(status, body),
            "type": _OPENAI_TYPE.get(anthropic_type, anthropic_type),
            "param": None,
            "code": anthropic_type,
        }
    }


def map_error(status: int, body: Any, *, to: ErrorApi) -> dict[str, Any]:
    """A provider error body in the caller's shape; ``to`` is the caller's API family."""
    return to_anthropic_error(status, body) if to == "anthropic" else to_openai_error(status, body)


def stream_error_event(
    api: Literal["chat", "messages", "responses"],
    message: str,
    type: str = "api_error",
    code: str | None = None,
    *,
    sequence_number: int = 0,
) -> bytes:
    """One mid-stream error event in ``api``'s wire format.

    For ``responses`` this is the ``error`` event alone; a stream translator that knows the partial
    response follows it with ``response.failed`` (see ``ChatStreamToResponses.fail``).
    """
    if api == "messages":
        return encode_event({"type": "error", "error": {"type": type, "message": message}}, event="error")
    if api == "chat":
        return encode_event({"error": {"message": message, "type": type, "param": None, "code": code}})
    data = {
        "type": "error",
        "code": code or type,
        "message": message,
        "param": None,
        "sequence_number": sequence_number,
    }
    return encode_event(data, event="error")
