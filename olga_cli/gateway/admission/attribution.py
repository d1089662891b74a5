"""Who a request is for: its tags and its end user, read once, before limits count them.

Tags come from ``x-olga-tags: a,b`` and ``metadata.tags`` in the body (a list or a comma-separated
string; taken out of the body, since no provider knows it). The end user is ``x-olga-user``, else the
API's own field: ``user`` (Chat Completions, Responses, Embeddings) or ``metadata.user_id`` (Messages).
Whatever names the end user is what its budget counts, so a header cannot slip past a body field.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from olga_cli.errors import InvalidRequest

MAX_TAGS = 16
MAX_TAG_CHARS = 64
MAX_USER_CHARS = 256


@dataclass(frozen=True, slots=True)
class Attribution:
    tags: tuple[str, ...] = ()
    end_user: str | None = None


NOBODY = Attribution()


def attribution_of(headers: Mapping[str, str], body: dict[str, Any]) -> Attribution:
    """Tags and end user of a request (a 400 naming the header or field when one is unusable)."""
    return Attribution(tuple(tags_of(headers, body)), end_user_of(headers, body))


def tags_of(headers: Mapping[str, str], body: dict[str, Any]) -> list[str]:
    """The request's tags, in order, without repeats; ``metadata.tags`` is removed from ``body``."""
    found: list[str] = []
    header = headers.get("x-olga-tags")
    if header:
        found += _split(header)
    metadata = body.get("metadata")
    if isinstance(metadata, dict) and "tags" in metadata:
        value = metadata["tags"]
        rest = {k: v for k, v in metadata.items() if k != "tags"}  # a copy: parsed values stay as sent
        if rest:
            body["metadata"] = rest
        else:
            del body["metadata"]
        if isinstance(value, str):
            found += _split(value)
        elif isinstance(value, list) and all(isinstance(item, str) for item in value):
            found += [item.strip() for item in value if item.strip()]
        else:
            raise InvalidRequest(
                "'metadata.tags' must be a list of strings or a comma-separated string.",
                param="metadata.tags",
            )
    tags = list(dict.fromkeys(found))
    for tag in tags:
        if len(tag) > MAX_TAG_CHARS or not tag.isprintable():
            raise InvalidRequest(
                f"A tag must be at most {MAX_TAG_CHARS} printable characters; {tag[:80]!r} is not.",
                param="x-olga-tags",
            )
    if len(tags) > MAX_TAGS:
        raise InvalidRequest(
            f"A request takes at most {MAX_TAGS} tags, not {len(tags)}.", param="x-olga-tags"
        )
    return tags


def end_user_of(headers: Mapping[str, str], body: Mapping[str, Any]) -> str | None:
    user = headers.get("x-olga-user")
    where = "x-olga-user"
    if not user:
        user, where = body.get("user"), "user"
        metadata = body.get("metadata")
        if not isinstance(user, str) and isinstance(metadata, dict):
            user, where = metadata.get("user_id"), "metadata.user_id"
    if not isinstance(user, str) or not user.strip():
        return None
    user = user.strip()
    if len(user) > MAX_USER_CHARS or not user.isprintable():
        raise InvalidRequest(
            f"The end user must be at most {MAX_USER_CHARS} printable characters.", param=where
        )
    return user


def _split(text: str) -> list[str]:
    return [part.strip() for part in text.split(",") if part.strip()]
