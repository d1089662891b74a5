"""Requests checked at the edge, before any routing: one table per API of the fields olga reads,
translates or forwards (``chat``, ``messages``, ``responses``, ``embeddings``), and text that cannot be
encoded. A mistake is a 400 ``invalid_request`` naming the field (``param``) and what it must be,
never a 500 and never a request the provider has to refuse (or, worse, answers and charges for)."""

from __future__ import annotations

from typing import Any, Literal

from olga_cli import jsonwire
from olga_cli.errors import InvalidRequest
from olga_cli.validation import chat, embeddings, messages, responses
from olga_cli.validation.rules import Invalid, Obj
from olga_cli.validation.text import is_encodable, unencodable_field

__all__ = ["Table", "check_body", "is_encodable", "json_object"]

Table = Literal["chat", "messages", "responses", "embeddings", "count_tokens"]

TABLES: dict[Table, Obj] = {
    "chat": chat.REQUEST,
    "messages": messages.REQUEST,
    "responses": responses.REQUEST,
    "embeddings": embeddings.REQUEST,
    "count_tokens": messages.COUNT_TOKENS,
}


def json_object(raw: bytes) -> tuple[dict[str, Any], bool]:
    """A request body parsed (400 unless it is a JSON object), and whether its text is known to be
    valid Unicode (see ``jsonwire.loads_request``)."""
    try:
        body, text_checked = jsonwire.loads_request(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        raise InvalidRequest(f"The request body is not valid JSON ({exc}); send a JSON object.") from None
    if not isinstance(body, dict):
        raise InvalidRequest("The request body must be a JSON object.")
    return body, text_checked


def check_body(
    table: Table,
    body: dict[str, Any],
    raw: bytes,
    *,
    text_checked: bool = False,
    checked: frozenset[str] = frozenset(),
) -> None:
    """Raise ``InvalidRequest`` naming the first field of ``body`` that is not what ``table`` says,
    or that holds text no encoder takes (``raw`` is the body as it came, searched for such text
    unless ``text_checked``: the parser has already refused it). Members named in ``checked`` passed
    the same checks before, byte for byte (``reuse``), and are not walked again."""
    try:
        TABLES[table].check_fields({k: v for k, v in body.items() if k not in checked} if checked else body)
    except Invalid as error:
        param = error.param
        raise InvalidRequest(f"'{param}' must be {error.expected}.", param=param) from None
    field = None if text_checked else unencodable_field(raw, body)
    if field is not None:
        raise InvalidRequest(
            f"'{field}' holds text that is not valid Unicode (an unpaired surrogate such as \\ud800); "
            "send it as UTF-8 text.",
            param=field,
        )
