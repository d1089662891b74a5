"""Which program made a request (the record's ``app``) and which agent session it belongs to
(``session_id``), from the headers the clients send anyway.

    app         X-Title, HTTP-Referer (OpenRouter's convention), Codex's ``originator``, a known
                User-Agent (claude-cli, codex, ai-sdk, openai-python, ...), else ``x-app``
    session_id  x-olga-session (any client can set it), X-Claude-Code-Session-Id, Codex's session-id
"""

from __future__ import annotations

import re
from collections.abc import Mapping

# User-Agent prefix (lower case) -> the app it names. First match wins, so SDKs that a framework
# builds on (openai-python under LangChain) come after the framework.
KNOWN_AGENTS: tuple[tuple[str, str], ...] = (
    ("claude-cli", "claude-cli"),
    ("claude-code", "claude-cli"),
    ("codex", "codex"),
    ("ai-sdk", "ai-sdk"),
    ("langchain", "langchain"),
    ("litellm", "litellm"),
    ("openai/python", "openai-python"),
    ("asyncopenai/python", "openai-python"),
    ("anthropic/python", "anthropic-python"),
    ("asyncanthropic/python", "anthropic-python"),
    ("openai/js", "openai-node"),
    ("anthropic/js", "anthropic-node"),
)

_SESSION_HEADERS = ("x-olga-session", "X-Claude-Code-Session-Id", "session-id")
_MAX_LENGTH = 200
_PRINTABLE = re.compile(r"[^\x20-\x7e]")


def _clean(value: str | None) -> str | None:
    if not value:
        return None
    value = _PRINTABLE.sub("", value).strip()[:_MAX_LENGTH]
    return value or None


def agent_of(user_agent: str) -> str | None:
    """The app a User-Agent names, when it is one olga knows (anywhere in the string)."""
    lower = user_agent.lower()
    for token in lower.replace("(", " ").split():
        for prefix, app in KNOWN_AGENTS:
            if token.startswith(prefix):
                return app
    return None


def app_of(headers: Mapping[str, str]) -> str | None:
    for name in ("X-Title", "HTTP-Referer", "originator"):
        value = _clean(headers.get(name))
        if value:
            return value
    known = agent_of(headers.get("User-Agent") or "")
    return known or _clean(headers.get("x-app"))


def session_of(headers: Mapping[str, str]) -> str | None:
    for name in _SESSION_HEADERS:
        value = _clean(headers.get(name))
        if value:
            return value
    return None
