"""Every captured client request, replayed through olga to each kind of provider, plain and streamed.

Each must be answered; the upstream body must be one the (strict) fake of the target API accepts;
the record must be exact: status, streaming, the provider's token counts, the cost at the catalog's
prices, and ``dropped`` equal to what ``x-olga-dropped`` told the caller.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from olga_cli.catalog import load_catalog
from olga_cli.money import pico_to_usd
from olga_cli.providers.usage import Usage
from tests.clients.support import COMPATIBLE_MODEL, Three, fixture, three
from tests.fakes.anthropic_upstream import ToolUse
from tests.fakes.openai_upstream import Script, ToolCall

__all__ = ["three"]

CAPTURED = [
    "claude_code_title",
    "claude_code_sonnet_turn1",
    "claude_code_sonnet_turn2",
    "claude_code_opus_turn1",
    "claude_code_gpt5_turn2",
    "codex_turn1",
    "codex_turn2",
    "ai_sdk_anthropic_turn1",
    "ai_sdk_anthropic_turn2",
    "ai_sdk_openai_turn1",
    "ai_sdk_openai_turn2",
    "ai_sdk_compatible_turn1",
    "ai_sdk_compatible_turn2",
    "ai_sdk_responses_turn1",
]
TARGETS = ["anthropic/claude-sonnet-4-5", "openai/gpt-5-mini", "openai/gpt-4o-mini", COMPATIBLE_MODEL]


def _tool_name(body: dict[str, object]) -> str | None:
    """A function the request offers (the first), in the name the provider will see."""
    for tool in body.get("tools") or []:  # type: ignore[attr-defined]
        if tool.get("type") == "namespace":
            return f"{tool['name']}__{tool['tools'][0]['name']}"
        name = tool.get("name") or (tool.get("function") or {}).get("name")
        if (name and tool.get("type", "function") in ("function", "custom")) or "input_schema" in tool:
            return str(name)
    return None


def _script_tool_call(three: Three, model: str, name: str | None) -> None:
    if name is None:
        return
    if model.startswith("anthropic/"):
        three.anthropic.reply(
            text="Calling.", tool_uses=[ToolUse(name, {"command": "ls"}, id="toolu_replay")]
        )
    elif model == COMPATIBLE_MODEL:
        three.compatible.script(Script(tool_calls=[ToolCall(name, {"command": "ls"}, id="call_replay")]))
    else:
        three.openai.script(Script(tool_calls=[ToolCall(name, {"command": "ls"}, id="call_replay")]))


def _answered(path: str, streamed: bool, raw: bytes) -> None:
    if path.endswith("/messages"):
        assert (b"event: message_stop" in raw) if streamed else json.loads(raw)["type"] == "message"
    elif path.endswith("/responses"):
        assert (b"response.completed" in raw) if streamed else json.loads(raw)["status"] == "completed"
    else:
        assert raw.rstrip().endswith(b"data: [DONE]") if streamed else json.loads(raw)["choices"]


def _expected_usage(model: str, path: str) -> Usage:
    if model.startswith("anthropic/"):
        return Usage(12, 7)  # the Anthropic fake's counts
    if path.endswith("/responses") and model.startswith("openai/"):
        return Usage(20, 5, cached_tokens=8)  # passed through to OpenAI's Responses API
    return Usage(12, 7)  # the Chat fakes' counts


@pytest.mark.parametrize("stream", [True, False], ids=["streamed", "plain"])
@pytest.mark.parametrize("target", TARGETS)
@pytest.mark.parametrize("name", CAPTURED)
async def test_captured_request_is_answered_with_an_exact_record(
    three: Three, home: Path, name: str, target: str, stream: bool
) -> None:
    captured = fixture(name)
    if "/responses" in captured["path"] and target == "openai/gpt-4o-mini":
        target = "openai/gpt-5.3-codex"  # a Responses-only model: passthrough at OpenAI
    _script_tool_call(three, target, _tool_name(captured["body"]))
    status, headers, raw = await three.send(captured, model=target, stream=stream)
    assert status == 200, raw[:500]
    _answered(captured["path"], stream, raw)
    record = await three.generation(headers["x-olga-generation-id"])
    assert (record["status"], record["streamed"]) == (200, stream)
    dropped = headers.get("x-olga-dropped")
    assert record["dropped"] == (dropped.split(", ") if dropped else [])
    usage = _expected_usage(target, captured["path"])
    assert (record["tokens_prompt"], record["tokens_completion"]) == (
        usage.prompt_tokens,
        usage.completion_tokens,
    )
    assert record["tokens_cached"] == usage.cached_tokens and not record["usage_estimated"]
    entry = load_catalog(home).resolve(target)
    assert entry is not None and record["cost"] == pico_to_usd(entry.cost_pico(usage))
    assert record["app"] in ("claude-cli", "codex_exec", "ai-sdk")
