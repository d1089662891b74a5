"""Fuzzed bodies on every route: whatever the body, the answer is a 2xx or a 4xx JSON error in the
route's shape, never a 5xx, a broken stream or a hang; and the server is healthy after."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.fuzz.checks import assert_well_answered, request
from tests.fuzz.conftest import FUZZ, FuzzTarget
from tests.fuzz.strategies import JSON_VALUES, bodies, encode

ROUTES = {
    "chat": ["/v1/chat/completions", "/api/v1/chat/completions", "/v1/openai/chat/completions", "/v1/anthropic/chat/completions"],
    "messages": ["/v1/messages", "/v1/anthropic/v1/messages", "/v1/openai/messages"],
    "responses": ["/v1/responses", "/v1/openai/responses"],
    "embeddings": ["/v1/embeddings", "/v1/openai/embeddings"],
    "count_tokens": ["/v1/messages/count_tokens", "/v1/anthropic/v1/messages/count_tokens"],
}  # fmt: skip


@pytest.mark.parametrize("api", list(ROUTES))
def test_fuzzed_bodies_are_answered_well(fuzz_olga: FuzzTarget, api: str) -> None:
    @FUZZ
    @given(body=bodies(api), path=st.sampled_from(ROUTES[api]), ascii_only=st.booleans())
    def check(body: dict[str, object], path: str, ascii_only: bool) -> None:
        headers = {"Authorization": f"Bearer {fuzz_olga.key}", "Content-Type": "application/json"}
        status, content_type, answer = request(fuzz_olga, "POST", path, encode(body, ascii_only), headers)
        assert_well_answered(path, status, content_type, answer)

    check()
    assert_healthy(fuzz_olga)


@FUZZ
@given(
    raw=st.one_of(
        st.binary(max_size=200),
        JSON_VALUES.map(lambda value: encode(value, True)),
        bodies("chat").map(lambda body: encode(body, True)[: len(encode(body, True)) // 2]),
    ),
    path=st.sampled_from([path for paths in ROUTES.values() for path in paths]),
)
def test_bodies_that_are_not_json_objects_are_answered_well(
    fuzz_olga: FuzzTarget, raw: bytes, path: str
) -> None:
    headers = {"Authorization": f"Bearer {fuzz_olga.key}", "Content-Type": "application/json"}
    status, content_type, answer = request(fuzz_olga, "POST", path, raw, headers)
    assert_well_answered(path, status, content_type, answer)


def assert_healthy(target: FuzzTarget) -> None:
    status, _, body = request(target, "GET", "/health", None, {})
    assert status == 200, body
    headers = {"Authorization": f"Bearer {target.key}", "Content-Type": "application/json"}
    chat = b'{"model": "openai/gpt-4o-mini", "messages": [{"role": "user", "content": "hi"}]}'
    status, _, body = request(target, "POST", "/v1/chat/completions", chat, headers)
    assert status == 200, body
