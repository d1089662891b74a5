"""A fake Anthropic API: a real aiohttp server on 127.0.0.1 speaking Anthropic's exact wire format.

    fake = await start_fake_anthropic()
    fake.reply(text="Hi!", input_tokens=30, cache_read_input_tokens=10)
    fake.reply(tool_uses=[ToolUse("get_weather", {"city": "Paris"})])
    fake.fail(529)                                   # {"type": "error", "error": {"type": "overloaded_error", ...}}
    fake.reply(text="partial", stream_error={"type": "overloaded_error", "message": "Overloaded"})
    ... AsyncAnthropic(base_url=fake.url, api_key="sk-ant-test") ...
    fake.requests  # [(path, headers with lower-case names, json body), ...]
    await fake.close()

Scripted replies are used in order, one per ``POST /v1/messages``; when none is left the default
reply answers. A reply streams when the request says ``"stream": true``: message_start,
content_block_start/delta/stop for each block (thinking with thinking_delta and signature_delta,
text with text_delta, tool_use with input_json_delta), a ``ping``, message_delta (stop_reason and
cumulative usage) and message_stop; ``stream_error`` replaces the end with an ``error`` event.
``POST /v1/messages/count_tokens`` answers ``{"input_tokens": N}``.

Like the real API, the fake refuses a request without an API key (401) or ``anthropic-version``
header (400), a body without ``model``, ``max_tokens`` or ``messages`` (400), and any field the real
API does not know, at any depth, or a thinking block it did not sign (``wire_check``; 400).
"""

from __future__ import annotations

import asyncio
import json
import uuid
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from tests.fakes.wire_check import check_messages

SIGNATURE = "sig-" + "a" * 16  # what the fake signs its thinking blocks with

ERROR_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    403: "permission_error",
    404: "not_found_error",
    413: "request_too_large",
    429: "rate_limit_error",
    500: "api_error",
    529: "overloaded_error",
}


@dataclass(frozen=True)
class ToolUse:
    name: str
    input: dict[str, Any]
    id: str = ""


@dataclass
class Reply:
    """One scripted answer."""

    text: str | None = "Hello from the fake Anthropic."
    tool_uses: list[ToolUse] = field(default_factory=list)
    thinking: str | None = None
    stop_reason: str | None = None  # default: tool_use when there are tool uses, else end_turn
    stop_sequence: str | None = None
    input_tokens: int = 12
    output_tokens: int = 7
    cache_read_input_tokens: int = 0
    cache_creation_input_tokens: int = 0
    status: int = 200
    error: dict[str, Any] | None = None  # the error body when status is not 200
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0  # seconds before the answer starts
    event_delay: float = 0.0  # seconds between streamed events
    stream_error: dict[str, Any] | None = None  # an error object sent mid-stream, after the first block
    text_chunk: int = 5  # characters per text_delta
    json_chunk: int = 7  # characters per input_json_delta
    message_id: str = ""

    def usage(self) -> dict[str, int]:
        return {
            "input_tokens": self.input_tokens,
            "cache_creation_input_tokens": self.cache_creation_input_tokens,
            "cache_read_input_tokens": self.cache_read_input_tokens,
            "output_tokens": self.output_tokens,
        }

    def final_stop_reason(self) -> str:
        return self.stop_reason or ("tool_use" if self.tool_uses else "end_turn")

    def content(self) -> list[dict[str, Any]]:
        blocks: list[dict[str, Any]] = []
        if self.thinking is not None:
            blocks.append({"type": "thinking", "thinking": self.thinking, "signature": SIGNATURE})
        if self.text is not None:
            blocks.append({"type": "text", "text": self.text})
        for i, tool in enumerate(self.tool_uses):
            blocks.append(
                {
                    "type": "tool_use",
                    "id": tool.id or f"toolu_fake{i:02d}",
                    "name": tool.name,
                    "input": tool.input,
                }
            )
        return blocks


def message_body(reply: Reply, *, model: str) -> dict[str, Any]:
    """The non-streamed Message for ``reply``."""
    return {
        "id": reply.message_id or "msg_" + uuid.uuid4().hex[:24],
        "type": "message",
        "role": "assistant",
        "model": model,
        "content": reply.content(),
        "stop_reason": reply.final_stop_reason(),
        "stop_sequence": reply.stop_sequence,
        "usage": reply.usage(),
    }


def sse(kind: str, data: dict[str, Any]) -> bytes:
    return f"event: {kind}\ndata: {json.dumps(data)}\n\n".encode()


def stream_events(reply: Reply, *, model: str) -> list[bytes]:
    """Every SSE event of the streamed answer for ``reply``, as Anthropic sends them."""
    message = message_body(reply, model=model)
    start_usage = dict(reply.usage(), output_tokens=1)
    events = [
        sse(
            "message_start",
            {
                "type": "message_start",
                "message": {
                    **message,
                    "content": [],
                    "stop_reason": None,
                    "stop_sequence": None,
                    "usage": start_usage,
                },
            },
        )
    ]
    for index, block in enumerate(message["content"]):
        if block["type"] == "thinking":
            start = {"type": "thinking", "thinking": "", "signature": ""}
            deltas = [
                {"type": "thinking_delta", "thinking": piece}
                for piece in _pieces(block["thinking"], reply.text_chunk)
            ]
            deltas.append({"type": "signature_delta", "signature": block["signature"]})
        elif block["type"] == "text":
            start = {"type": "text", "text": ""}
            deltas = [
                {"type": "text_delta", "text": piece} for piece in _pieces(block["text"], reply.text_chunk)
            ]
        else:
            start = {"type": "tool_use", "id": block["id"], "name": block["name"], "input": {}}
            arguments = json.dumps(block["input"])
            deltas = [{"type": "input_json_delta", "partial_json": ""}]
            deltas += [
                {"type": "input_json_delta", "partial_json": p} for p in _pieces(arguments, reply.json_chunk)
            ]
        events.append(
            sse(
                "content_block_start", {"type": "content_block_start", "index": index, "content_block": start}
            )
        )
        if index == 0:
            events.append(sse("ping", {"type": "ping"}))
        for delta in deltas:
            events.append(
                sse("content_block_delta", {"type": "content_block_delta", "index": index, "delta": delta})
            )
        if reply.stream_error is not None:
            events.append(sse("error", {"type": "error", "error": reply.stream_error}))
            return events
        events.append(sse("content_block_stop", {"type": "content_block_stop", "index": index}))
    if not message["content"]:
        events.append(sse("ping", {"type": "ping"}))
        if reply.stream_error is not None:
            events.append(sse("error", {"type": "error", "error": reply.stream_error}))
            return events
    delta_usage = dict(reply.usage().items())
    events.append(
        sse(
            "message_delta",
            {
                "type": "message_delta",
                "delta": {"stop_reason": message["stop_reason"], "stop_sequence": reply.stop_sequence},
                "usage": delta_usage,
            },
        )
    )
    events.append(sse("message_stop", {"type": "message_stop"}))
    return events


def _pieces(text: str, size: int) -> list[str]:
    return [text[i : i + size] for i in range(0, len(text), max(size, 1))] or []


def error_body(status: int, message: str | None = None) -> dict[str, Any]:
    kind = ERROR_TYPES.get(status, "api_error")
    return {"type": "error", "error": {"type": kind, "message": message or f"fake {kind}"}}


class FakeAnthropic:
    """The running fake; see the module docstring."""

    def __init__(self, default: Reply) -> None:
        self.default = default
        self.requests: list[tuple[str, dict[str, str], Any]] = []
        self.count_tokens_result: int | None = None
        self.strict = True  # refuse unknown fields and foreign thinking signatures, as Anthropic does
        self.signatures = {SIGNATURE}  # the thinking signatures this fake has issued
        self._script: list[Reply] = []
        self._runner: web.AppRunner | None = None
        self.url = ""

    # ---------------------------------------------------------------- scripting
    def reply(self, **fields: Any) -> Reply:
        """Script the next answer; fields as in ``Reply``."""
        reply = Reply(**fields)
        self._script.append(reply)
        return reply

    def fail(
        self,
        status: int,
        body: dict[str, Any] | None = None,
        *,
        message: str | None = None,
        headers: dict[str, str] | None = None,
        delay: float = 0.0,
    ) -> Reply:
        """Script the next answer as an error: Anthropic's error body for ``status`` unless ``body`` is given."""
        return self.reply(
            status=status, error=body or error_body(status, message), headers=dict(headers or {}), delay=delay
        )

    @property
    def pending(self) -> int:
        return len(self._script)

    # ---------------------------------------------------------------- server
    def app(self) -> web.Application:
        # Anthropic's edge takes header lines longer than aiohttp's default 8 KiB (anthropic-beta).
        app = web.Application(handler_args={"max_field_size": 64 * 1024})
        app.router.add_post("/v1/messages", self._messages)
        app.router.add_post("/v1/messages/count_tokens", self._count_tokens)
        return app

    async def start(self) -> None:
        self._runner = web.AppRunner(self.app(), access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        host, port = self._runner.addresses[0][:2]
        self.url = f"http://{host}:{port}"

    async def close(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def _read(self, request: web.Request) -> tuple[Any, web.Response | None]:
        try:
            body = await request.json()
        except (ValueError, UnicodeDecodeError):
            body = None
        self.requests.append((request.path, {k.lower(): v for k, v in request.headers.items()}, body))
        if not (request.headers.get("x-api-key") or request.headers.get("authorization")):
            return body, web.json_response(error_body(401, "x-api-key header is required"), status=401)
        if not request.headers.get("anthropic-version"):
            return body, web.json_response(
                error_body(400, "anthropic-version: header is required"), status=400
            )
        if not isinstance(body, dict):
            return body, web.json_response(error_body(400, "request body must be a JSON object"), status=400)
        return body, None

    async def _messages(self, request: web.Request) -> web.StreamResponse:
        body, refusal = await self._read(request)
        if refusal is not None:
            return refusal
        for name, kind in (("model", str), ("max_tokens", int), ("messages", list)):
            if not isinstance(body.get(name), kind):
                return web.json_response(error_body(400, f"{name}: Field required"), status=400)
        betas = request.headers.get("anthropic-beta", "")
        problem = check_messages(body, self.signatures, betas) if self.strict else None
        if problem is not None:
            return web.json_response(error_body(400, problem[1]), status=400)
        reply = self._script.pop(0) if self._script else self.default
        if reply.delay:
            await asyncio.sleep(reply.delay)
        headers = {"request-id": "req_" + uuid.uuid4().hex[:20], **reply.headers}
        if reply.status != 200:
            return web.json_response(
                reply.error or error_body(reply.status), status=reply.status, headers=headers
            )
        if not body.get("stream"):
            return web.json_response(message_body(reply, model=body["model"]), headers=headers)
        response = web.StreamResponse(
            headers={
                "content-type": "text/event-stream; charset=utf-8",
                "cache-control": "no-cache",
                **headers,
            }
        )
        await response.prepare(request)
        for event in stream_events(reply, model=body["model"]):
            await response.write(event)
            if reply.event_delay:
                await asyncio.sleep(reply.event_delay)
        await response.write_eof()
        return response

    async def _count_tokens(self, request: web.Request) -> web.Response:
        body, refusal = await self._read(request)
        if refusal is not None:
            return refusal
        if not isinstance(body.get("model"), str) or not isinstance(body.get("messages"), list):
            return web.json_response(error_body(400, "model and messages are required"), status=400)
        if self.count_tokens_result is not None:
            return web.json_response({"input_tokens": self.count_tokens_result})
        # Roughly four characters a token, like the estimate olga falls back on.
        text = json.dumps([body.get("system"), body["messages"], body.get("tools")])
        return web.json_response({"input_tokens": max(1, len(text) // 4)})


async def start_fake_anthropic(*, default: Reply | None = None) -> FakeAnthropic:
    """Start a fake Anthropic API on 127.0.0.1 (a free port); ``close()`` it when done."""
    fake = FakeAnthropic(default or Reply())
    await fake.start()
    return fake
