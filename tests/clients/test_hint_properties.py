"""No combination of the hints and metadata real clients send ever makes a translated request a 400.

For every direction olga translates (Messages -> Chat, Chat -> Messages, Responses -> Chat,
Responses -> Messages), hypothesis draws requests carrying any mix of the hint fields of issue 11
(``context_management``, ``eager_input_streaming``, ``cache_control``, ``client_metadata``,
``prompt_cache_key``, ``include``, ``reasoning.summary``, ``store``, ``metadata.user_id``, service
tiers, beta headers, every ``thinking`` / effort variant), plain or streamed, and sends them through
olga to the strict fakes, which refuse any field their real API does not know. Each must be answered
200, and each top-level hint the target has no word for must be listed in ``x-olga-dropped``.

Bounded like tests/fuzz: a fixed, repeatable set of examples (``OLGA_FUZZ_EXAMPLES`` searches longer).
"""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Coroutine, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from olga_cli.providers.policy import rule_of
from tests.clients.support import COMPATIBLE_MODEL, Three, start_three
from tests.fuzz.conftest import EXAMPLES, FUZZ

PROPERTY = settings(FUZZ, max_examples=EXAMPLES or 40)

BETAS = [
    "claude-code-20250219",
    "interleaved-thinking-2025-05-14",
    "context-management-2025-06-27",
    "fine-grained-tool-streaming-2025-05-14",
    "prompt-caching-scope-2026-01-05",
    "effort-2025-11-24",
    "oauth-2025-04-20",
]
EFFORTS = ["none", "minimal", "low", "medium", "high", "xhigh"]
TOOL = {"name": "Bash", "description": "Run a command", "schema": {"type": "object", "properties": {}}}


def maybe(strategy: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """A field that is there or not (``None`` means left out)."""
    return st.none() | strategy


CACHE = st.fixed_dictionaries({"type": st.just("ephemeral")}, optional={"ttl": st.sampled_from(["5m", "1h"])})
THINKING = st.one_of(
    st.fixed_dictionaries({"type": st.just("enabled"), "budget_tokens": st.integers(1024, 40000)}),
    st.just({"type": "adaptive"}),
    st.just({"type": "disabled"}),
)
CONTEXT_MANAGEMENT = st.one_of(
    st.just({"edits": [{"type": "clear_thinking_20251015", "keep": "all"}]}),
    st.just(
        {"edits": [{"type": "clear_tool_uses_20250919", "trigger": {"type": "input_tokens", "value": 30000}}]}
    ),
    st.just({"edits": []}),
)


@st.composite
def messages_request(draw: st.DrawFn) -> tuple[dict[str, Any], dict[str, str]]:
    tool: dict[str, Any] = {
        "name": TOOL["name"],
        "description": TOOL["description"],
        "input_schema": TOOL["schema"],
    }
    if draw(st.booleans()):
        tool["eager_input_streaming"] = draw(st.booleans())
    if draw(st.booleans()):
        tool["cache_control"] = draw(CACHE)
    user: dict[str, Any] = {"type": "text", "text": "List the files."}
    if draw(st.booleans()):
        user["cache_control"] = draw(CACHE)
    system: Any = draw(st.sampled_from(["plain", "blocks", None]))
    body: dict[str, Any] = {
        "max_tokens": draw(st.sampled_from([1024, 8192, 32000, 64000])),
        "messages": [{"role": "user", "content": [user]}],
        "tools": [tool],
    }
    if system == "plain":
        body["system"] = "You are a coding agent."
    elif system == "blocks":
        body["system"] = [{"type": "text", "text": "You are a coding agent.", "cache_control": draw(CACHE)}]
    optional = {
        "context_management": maybe(CONTEXT_MANAGEMENT),
        "thinking": maybe(THINKING),
        "output_config": maybe(
            st.fixed_dictionaries({"effort": st.sampled_from(["low", "medium", "high", "max"])})
        ),
        "metadata": maybe(
            st.fixed_dictionaries({"user_id": st.text("abcdef0123456789_", min_size=1, max_size=40)})
        ),
        "service_tier": maybe(st.sampled_from(["auto", "standard_only"])),
        "temperature": maybe(st.sampled_from([0, 0.5, 1])),
    }
    body.update({k: v for k, v in draw(st.fixed_dictionaries(optional)).items() if v is not None})
    if body.get("thinking", {}).get("type") == "enabled":
        body["thinking"]["budget_tokens"] = min(body["thinking"]["budget_tokens"], body["max_tokens"] - 1)
        body.pop("temperature", None)  # Anthropic takes no temperature with thinking
    betas = draw(st.lists(st.sampled_from(BETAS), unique=True, max_size=4))
    return body, ({"anthropic-beta": ",".join(betas)} if betas else {})


@st.composite
def chat_request(draw: st.DrawFn) -> tuple[dict[str, Any], dict[str, str]]:
    body: dict[str, Any] = {
        "messages": [
            {"role": "system", "content": "Be brief."},
            {"role": "user", "content": "List the files."},
        ],
        "tools": [{"type": "function", "function": {"name": TOOL["name"], "parameters": TOOL["schema"]}}],
    }
    optional = {
        "prompt_cache_key": maybe(st.text("abcdef0123456789-", min_size=1, max_size=40)),
        "store": maybe(st.booleans()),
        "metadata": maybe(st.fixed_dictionaries({"session": st.just("s1")})),
        "service_tier": maybe(st.sampled_from(["auto", "default", "flex", "priority"])),
        "reasoning_effort": maybe(st.sampled_from(EFFORTS)),
        "user": maybe(st.just("user-42")),
        "max_completion_tokens": maybe(st.sampled_from([512, 4096, 100000])),
        "parallel_tool_calls": maybe(st.booleans()),
    }
    body.update({k: v for k, v in draw(st.fixed_dictionaries(optional)).items() if v is not None})
    return body, ({"OpenAI-Beta": "assistants=v2"} if draw(st.booleans()) else {})


@st.composite
def responses_request(draw: st.DrawFn) -> tuple[dict[str, Any], dict[str, str]]:
    body: dict[str, Any] = {
        "instructions": "You are a coding agent.",
        "input": [
            {
                "type": "message",
                "role": "developer",
                "content": [{"type": "input_text", "text": "Sandbox: none."}],
            },
            {
                "type": "message",
                "role": "user",
                "content": [{"type": "input_text", "text": "List the files."}],
            },
        ],
        "tools": [{"type": "function", "name": TOOL["name"], "parameters": TOOL["schema"], "strict": False}],
    }
    reasoning = st.fixed_dictionaries(
        {},
        optional={
            "effort": st.sampled_from(EFFORTS),
            "summary": st.sampled_from(["auto", "concise", "detailed"]) | st.none(),
        },
    )
    optional = {
        "client_metadata": maybe(st.fixed_dictionaries({"x-codex-installation-id": st.just("inst-1")})),
        "prompt_cache_key": maybe(st.text("abcdef0123456789-", min_size=1, max_size=40)),
        "include": maybe(st.lists(st.sampled_from(["reasoning.encrypted_content"]), max_size=1)),
        "reasoning": maybe(reasoning),
        "store": maybe(st.booleans()),
        "metadata": maybe(st.fixed_dictionaries({"user_id": st.just("user-42")})),
        "service_tier": maybe(st.sampled_from(["auto", "default", "flex", "priority"])),
        "parallel_tool_calls": maybe(st.booleans()),
        "tool_choice": maybe(st.just("auto")),
        "text": maybe(st.fixed_dictionaries({"verbosity": st.sampled_from(["low", "medium", "high"])})),
    }
    body.update({k: v for k, v in draw(st.fixed_dictionaries(optional)).items() if v is not None})
    return body, ({"OpenAI-Beta": "responses=experimental"} if draw(st.booleans()) else {})


# (caller API, its route, a request strategy, target model): every direction olga translates.
DIRECTIONS = [
    ("messages", "/v1/messages", messages_request, "openai/gpt-4o-mini"),
    ("messages", "/v1/messages", messages_request, "openai/gpt-5-mini"),
    ("messages", "/v1/messages", messages_request, COMPATIBLE_MODEL),
    ("chat", "/v1/chat/completions", chat_request, "anthropic/claude-sonnet-4-5"),
    ("chat", "/v1/chat/completions", chat_request, "anthropic/claude-haiku-4-5"),
    ("responses", "/v1/responses", responses_request, "anthropic/claude-sonnet-4-5"),
    ("responses", "/v1/responses", responses_request, COMPATIBLE_MODEL),
]
# Top-level hints that the target never has a word for: set (a value that asks for something; `store:
# false` asks for nothing), they must be listed as dropped.
LISTED_WHEN_SENT = {
    "messages": {"context_management", "service_tier"},
    "chat": {"prompt_cache_key", "store", "service_tier", "metadata"},
    "responses": {"client_metadata", "prompt_cache_key", "store", "service_tier"},
}
TARGET_API = {"openai/": "chat", "vllm/": "chat", "anthropic/": "messages"}


@dataclass
class Served:
    three: Three
    loop: asyncio.AbstractEventLoop

    def run(self, coro: Coroutine[Any, Any, Any]) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(30)


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    """olga and the three strict fakes on an event loop of their own, for hypothesis to drive."""
    home: Path = tmp_path_factory.mktemp("hints-home")
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, name="olga-hints", daemon=True)
    thread.start()
    served = Served(None, loop)  # type: ignore[arg-type]
    served.three, fakes = served.run(start_three(home))
    yield served
    served.run(served.three.running.close())
    for fake in fakes:
        served.run(fake.close())
    loop.call_soon_threadsafe(loop.stop)
    thread.join(10)


async def _send(
    three: Three, path: str, body: dict[str, Any], headers: dict[str, str]
) -> tuple[int, str, bytes]:
    headers = {**headers, "Authorization": f"Bearer {three.key}"}
    if path.endswith("/messages"):
        headers["anthropic-version"] = "2023-06-01"
    async with (
        aiohttp.ClientSession() as session,
        session.post(three.running.url + path, json=body, headers=headers) as reply,
    ):
        return reply.status, reply.headers.get("x-olga-dropped", ""), await reply.read()


@pytest.mark.parametrize(
    ("caller", "path", "requests", "model"), DIRECTIONS, ids=[f"{d[0]}->{d[3]}" for d in DIRECTIONS]
)
def test_no_mix_of_hints_is_ever_refused(
    served: Served, caller: str, path: str, requests: Any, model: str
) -> None:
    target = next(api for prefix, api in TARGET_API.items() if model.startswith(prefix))

    @PROPERTY
    @given(request=requests(), stream=st.booleans())
    def check(request: tuple[dict[str, Any], dict[str, str]], stream: bool) -> None:
        body, headers = request
        body = {**json.loads(json.dumps(body)), "model": model, "stream": stream}
        status, dropped, raw = served.run(_send(served.three, path, body, headers))
        assert status == 200, (body, headers, raw[:600])
        listed = dropped.split(", ") if dropped else []
        for name in LISTED_WHEN_SENT[caller] & {k for k, v in body.items() if v not in (False, "", [], {})}:
            rule = rule_of(caller, target, name)  # type: ignore[arg-type]
            assert rule is not None and rule.kind == "hint" and name in listed, (name, listed)

    check()
