"""The upstream error scrubber: a provider's key, and any credential the secrets detector knows,
never leaves olga inside a provider's error; a body with none is returned byte for byte."""

from __future__ import annotations

import json

from olga_cli.gateway.upstream.provider_errors import PROVIDER_KEY, error_summary, scrub, scrub_text

KEY = "custom-provider-key-0123456789"


def test_the_providers_own_key_is_replaced_wherever_it_appears() -> None:
    body = json.dumps({"error": {"message": f"Invalid key {KEY}", "param": f"Bearer {KEY}"}}).encode()
    cleaned = scrub(body, [KEY])
    assert KEY.encode() not in cleaned
    assert json.loads(cleaned)["error"]["message"] == f"Invalid key {PROVIDER_KEY}"


def test_credentials_of_known_formats_are_replaced_even_when_not_the_key_sent() -> None:
    other = "sk-ant-api03-" + "a1B2c3D4e5" * 9
    text = scrub_text(f"you sent {other} which belongs to another account", ["unrelated-key-1"])
    assert other not in text and "[ANTHROPIC_API_KEY]" in text


def test_a_body_without_secrets_is_returned_unchanged_byte_for_byte() -> None:
    body = b'{"error": {"message": "max_tokens is too large", "type": "invalid_request_error"}}'
    assert scrub(body, [KEY]) is body
    assert scrub(b"", [KEY]) == b""


def test_short_or_missing_keys_never_blank_out_ordinary_words() -> None:
    assert scrub_text("the model is not available", ["the", None, ""]) == "the model is not available"


def test_the_summary_reads_the_message_or_the_start_of_a_body_that_is_not_json() -> None:
    assert error_summary(b'{"error": {"message": "Bad request"}}') == "Bad request"
    assert error_summary(b"<html>502</html>") == "<html>502</html>"
    assert error_summary(b"[" * 100_000) == ("[" * 300)
