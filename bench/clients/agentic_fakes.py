"""The repository's strict fake providers (tests/fakes), scripted as an agent's model behaves: a tool
call on the first turn, a final text once the request carries the tool's result.

Each answers in its own wire format: ``AgentOpenAI`` speaks Chat Completions and the Responses API
(OpenAI) or classic Chat only (``compatible``, like vLLM); ``AgentAnthropic`` speaks Messages. A
request with no tool offered (Claude Code's title and topic requests) gets a short text.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from tests.fakes.anthropic_upstream import FakeAnthropic, Reply, ToolUse
from tests.fakes.openai_upstream import FakeOpenAI, Received, Script, ToolCall

FINAL = "All done: the files are listed."
# The tool each client offers, and arguments it runs: Claude Code's Bash, Codex's exec_command,
# the AI SDK script's list_files.
TOOLS: tuple[tuple[str, dict[str, Any]], ...] = (
    ("Bash", {"command": "ls", "description": "List the files"}),
    ("exec_command", {"cmd": "ls"}),
    ("list_files", {"dir": "."}),
)


def pick_tool(names: list[str]) -> tuple[str, dict[str, Any]] | None:
    for name, arguments in TOOLS:
        if name in names:
            return name, arguments
    return None


class AgentAnthropic(FakeAnthropic):
    def __init__(self) -> None:
        super().__init__(Reply())
        self.usage: dict[str, int] = {}  # Reply usage fields every answer reports
        self.endless = False  # call the tool again after every result: a session that never ends

    async def _messages(self, request: web.Request) -> web.StreamResponse:
        try:
            body = await request.json()  # aiohttp keeps the bytes: the fake reads them again
        except ValueError:
            body = None
        if isinstance(body, dict):
            self._script = [self._decide(body)]
        return await super()._messages(request)

    def _decide(self, body: dict[str, Any]) -> Reply:
        if not self.endless and _answered([m for m in body.get("messages") or [] if isinstance(m, dict)]):
            return Reply(text=FINAL, **self.usage)
        tool = pick_tool([str(t.get("name")) for t in body.get("tools") or [] if isinstance(t, dict)])
        if tool is None:
            return Reply(text="Listing files", **self.usage)
        return Reply(text="Let me look.", tool_uses=[ToolUse(*tool)], **self.usage)


def _answered(messages: list[dict[str, Any]]) -> bool:
    """A tool result since the model last spoke (Claude Code may add a reminder after it)."""
    spoke = max((i for i, m in enumerate(messages) if m.get("role") == "assistant"), default=-1)
    for message in messages[spoke + 1 :]:
        content = message.get("content")
        if isinstance(content, list) and any(
            isinstance(b, dict) and b.get("type") == "tool_result" for b in content
        ):
            return True
    return False


class AgentOpenAI(FakeOpenAI):
    async def _take(self, request: web.Request) -> tuple[Script, dict[str, Any]]:
        try:
            body = await request.json()
        except ValueError:
            body = {}
        self.scripts.clear()
        self.scripts.append(_decide_openai(request.path, body if isinstance(body, dict) else {}))
        return await super()._take(request)

    def saw(self) -> list[Received]:
        return list(self.requests)


def _decide_openai(path: str, body: dict[str, Any]) -> Script:
    tools = body.get("tools") or []
    if path.endswith("/responses"):
        items = body.get("input") if isinstance(body.get("input"), list) else []
        answered = (
            bool(items) and isinstance(items[-1], dict) and items[-1].get("type") == "function_call_output"
        )
        names = [str(t.get("name")) for t in tools if isinstance(t, dict) and t.get("type") == "function"]
    else:
        messages = [m for m in body.get("messages") or [] if isinstance(m, dict)]
        spoke = max((i for i, m in enumerate(messages) if m.get("role") == "assistant"), default=-1)
        answered = any(m.get("role") == "tool" for m in messages[spoke + 1 :])
        names = [str((t.get("function") or {}).get("name")) for t in tools if isinstance(t, dict)]
    if answered:
        return Script(reply=FINAL)
    tool = pick_tool(names)
    return Script(tool_calls=[ToolCall(*tool)]) if tool else Script(reply="Listing files")
