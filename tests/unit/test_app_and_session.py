"""The record's app and session_id come from headers the real clients send (captured from them)."""

from __future__ import annotations

import pytest

from olga_cli.gateway.app_and_session import app_of, session_of


@pytest.mark.parametrize(
    ("headers", "app"),
    [
        ({"User-Agent": "claude-cli/2.1.197 (external, sdk-cli)", "x-app": "cli"}, "claude-cli"),
        (
            {"originator": "codex_exec", "User-Agent": "codex_exec/0.171.0 (Debian 12.0.0; x86_64)"},
            "codex_exec",
        ),
        ({"User-Agent": "codex_cli_rs/0.171.0"}, "codex"),
        ({"User-Agent": "ai-sdk/anthropic/3.0.140 ai-sdk/provider-utils/4.0.1 runtime/node"}, "ai-sdk"),
        ({"User-Agent": "AsyncOpenAI/Python 2.8.1"}, "openai-python"),
        ({"User-Agent": "Anthropic/Python 0.75.0"}, "anthropic-python"),
        ({"User-Agent": "litellm/1.80.0"}, "litellm"),
        ({"X-Title": "My agent", "User-Agent": "claude-cli/2.1"}, "My agent"),
        ({"HTTP-Referer": "https://example.com"}, "https://example.com"),
        ({"x-app": "cli"}, "cli"),
        ({"User-Agent": "curl/8.5"}, None),
        ({}, None),
    ],
)
def test_app_from_title_referer_originator_known_agent_or_x_app(
    headers: dict[str, str], app: str | None
) -> None:
    assert app_of(headers) == app


def test_session_from_olga_claude_code_or_codex_headers() -> None:
    assert session_of({"X-Claude-Code-Session-Id": "b9eb1216"}) == "b9eb1216"
    assert session_of({"session-id": "01a249e1"}) == "01a249e1"
    assert session_of({"x-olga-session": "mine", "session-id": "theirs"}) == "mine"
    assert session_of({"x-olga-session": "bad\x00id\n"}) == "badid"
    assert session_of({}) is None
