"""A fake Anthropic that caches prompts the way Anthropic documents it, on 127.0.0.1.

A prompt is the sequence tools, system, messages, block by block. A block marked ``cache_control``
is a breakpoint: the prefix up to it is written to the cache (if it is at least ``min_tokens`` long)
and billed as ``cache_creation_input_tokens``; a later request whose prefix up to one of its
breakpoints, or to a block boundary at most 20 blocks before one, was written before reads it back as
``cache_read_input_tokens``; the rest is ``input_tokens``. As Anthropic does, it refuses more than
four breakpoints, and a breakpoint on a thinking block or an empty text block (400).

A block's tokens are its JSON length over four. Answers are scripted (``replies``) and end with a
digest of the request's meaning (cache_control removed, a string content read as one text block), so
two runs that sent the same conversation get the same answers, whatever breakpoints they placed.
"""

from __future__ import annotations

import hashlib
import json
from collections import deque
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from tests.fakes.anthropic_upstream import Reply, error_body, message_body

LOOKBACK = 20


@dataclass
class Seen:
    body: dict[str, Any]
    usage: dict[str, int]


def _plain(value: Any) -> Any:
    """The request's meaning: no cache_control, and "text" == [{"type": "text", "text": "text"}]."""
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items() if k != "cache_control"}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


def _blocks(body: dict[str, Any]) -> list[dict[str, Any]]:
    blocks: list[dict[str, Any]] = list(body.get("tools") or [])
    system = body.get("system")
    if isinstance(system, str):
        system = [{"type": "text", "text": system}]
    blocks += system or []
    for message in body["messages"]:
        content = message["content"]
        if isinstance(content, str):
            content = [{"type": "text", "text": content}]
        blocks += [{**block, "role": message["role"]} for block in content]
    return blocks


def _tokens(block: dict[str, Any]) -> int:
    return max(len(json.dumps(_plain(block), sort_keys=True)) // 4, 1)


class CachingAnthropic:
    def __init__(self, *, min_tokens: int = 1024) -> None:
        self.min_tokens = min_tokens
        self.cache: set[str] = set()
        self.replies: deque[Reply] = deque()
        self.seen: list[Seen] = []
        self.url = ""
        self._runner: web.AppRunner | None = None

    async def start(self) -> CachingAnthropic:
        app = web.Application()
        app.router.add_post("/v1/messages", self._messages)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.url = f"http://127.0.0.1:{self._runner.addresses[0][1]}"
        return self

    async def close(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    def usage(self, body: dict[str, Any]) -> dict[str, int] | str:
        """Anthropic's usage for ``body``, updating the cache; or the 400 message for bad breakpoints."""
        blocks = _blocks(body)
        marks = [i for i, b in enumerate(blocks) if "cache_control" in b]
        if len(marks) > 4:
            return f"A maximum of 4 blocks with cache_control may be provided. Found {len(marks)}."
        for i in marks:
            if blocks[i].get("type") in ("thinking", "redacted_thinking"):
                return "messages: thinking blocks cannot be marked with cache_control"
            if blocks[i].get("type") == "text" and not blocks[i].get("text"):
                return "messages: cache_control cannot be set for empty text blocks"
        sizes = [_tokens(b) for b in blocks]
        keys, digest = [], hashlib.sha256()
        for block in blocks:
            digest.update(json.dumps(_plain(block), sort_keys=True).encode())
            keys.append(digest.hexdigest())
        total = sum(sizes)
        read_to = 0  # blocks [0, read_to) come from the cache
        for mark in marks:
            for boundary in range(mark, max(mark - LOOKBACK, -1), -1):
                if keys[boundary] in self.cache:
                    read_to = max(read_to, boundary + 1)
                    break
        write_to = read_to
        for mark in marks:
            if sum(sizes[: mark + 1]) >= self.min_tokens:
                self.cache.add(keys[mark])
                write_to = max(write_to, mark + 1)
        read = sum(sizes[:read_to])
        written = sum(sizes[read_to:write_to])
        return {
            "input_tokens": total - read - written,
            "cache_creation_input_tokens": written,
            "cache_read_input_tokens": read,
            "output_tokens": 20,
        }

    async def _messages(self, request: web.Request) -> web.Response:
        if not request.headers.get("x-api-key") or not request.headers.get("anthropic-version"):
            return web.json_response(error_body(401, "x-api-key header is required"), status=401)
        body = await request.json()
        usage = self.usage(body)
        if isinstance(usage, str):
            return web.json_response(error_body(400, usage), status=400)
        self.seen.append(Seen(body, usage))
        reply = self.replies.popleft() if self.replies else Reply()
        meaning = hashlib.sha256(json.dumps(_plain(_normalized(body)), sort_keys=True).encode()).hexdigest()
        answer = message_body(reply, model=str(body["model"]))
        for block in answer["content"]:
            if block["type"] == "text":
                block["text"] = f"{block['text']} [{meaning[:16]}]"
        answer["usage"] = usage
        return web.json_response(answer)


def _normalized(body: dict[str, Any]) -> dict[str, Any]:
    out = dict(body)
    if isinstance(out.get("system"), str):
        out["system"] = [{"type": "text", "text": out["system"]}]
    out["messages"] = [
        {
            **m,
            "content": [{"type": "text", "text": m["content"]}]
            if isinstance(m["content"], str)
            else m["content"],
        }
        for m in body["messages"]
    ]
    return out
