"""The prompt-token bound counts images and files wherever a caller can put them, however spelled."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from olga_cli.gateway.admission.metering import (
    FILE_TOKENS,
    IMAGE_TOKENS,
    count_media,
    input_token_bound,
    media_of,
)
from olga_cli.validation import reuse


def bound(body: dict[str, Any], raw: bytes | None = None) -> int:
    raw = raw if raw is not None else json.dumps(body).encode()
    return input_token_bound(raw, body) - len(raw)


def test_images_in_messages_and_tool_results_are_counted() -> None:
    image = {"type": "image", "source": {"type": "url", "url": "https://example.com/a.png"}}
    body = {
        "messages": [
            {"role": "user", "content": [image]},
            {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "t", "content": [image]}]},
        ]
    }
    assert bound(body) == 2 * IMAGE_TOKENS


def test_responses_input_files_are_counted() -> None:
    body = {"input": [{"role": "user", "content": [{"type": "input_file", "file_id": "file-1"}]}]}
    assert bound(body) == FILE_TOKENS


def test_a_type_spelled_with_escapes_is_still_counted() -> None:
    body = {"messages": [{"role": "user", "content": [{"type": "image_url", "image_url": {"url": "u"}}]}]}
    raw = json.dumps(body).encode().replace(b'"image_url"', b'"\\u0069mage_url"', 1)
    assert json.loads(raw) == body
    assert bound(body, raw) == IMAGE_TOKENS


def test_tools_and_system_words_are_not_media() -> None:
    body = {
        "system": "Read a file, an image or a document.",
        "tools": [{"name": "Read", "input_schema": {"properties": {"file": {"type": "string"}}}}],
        "messages": [{"role": "user", "content": 'What is in the "file" README.md?'}],
    }
    assert bound(body) == 0


@settings(max_examples=200, deadline=None)
@given(
    kinds=st.lists(
        st.sampled_from(
            ["text", "image", "image_url", "input_image", "file", "input_file", "document", "tool_result"]
        ),
        max_size=6,
    ),
    escape=st.sampled_from(["", "i", "_", "I", "t"]),
    where=st.sampled_from(["messages", "input"]),
)
def test_the_search_of_a_members_bytes_counts_what_the_walk_counts(
    kinds: list[str], escape: str, where: str
) -> None:
    """A large body's members are searched as bytes before any walk; the count is the walk's, with
    the type's letters escaped as a client may (``\\u0069``) or not."""
    parts = [{"type": kind, "text": "image file document"} for kind in kinds]
    body = {"model": "m", where: [{"role": "user", "content": parts}], "pad": "p" * reuse.SPANNED_BODY}
    raw = json.dumps(body).encode()
    if escape:
        raw = raw.replace(escape.encode(), f"\\u{ord(escape):04x}".encode())
    spanned = reuse.parse_spanned(raw)
    assert spanned is not None
    assert media_of(spanned.body, spanned.spans) == count_media([spanned.body.get(where)])
    assert media_of(spanned.body, spanned.spans) == media_of(spanned.body)
