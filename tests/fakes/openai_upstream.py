"""A fake OpenAI: a real aiohttp server on 127.0.0.1 speaking OpenAI's wire format, scriptable per request.

By default ``/v1/chat/completions`` answers ``reply`` (non-streaming, or streaming with a role chunk,
content chunks, a finish chunk, the usage chunk only when ``stream_options.include_usage`` is set, then
``[DONE]``), with ``usage`` as configured. Push ``Script`` items to change what the next requests get:
an error status and body, a delay before the headers, a hang, or a stream cut after N chunks.

Like OpenAI, the fake refuses (400) a field the API does not know (``wire_check``); with
``compatible`` set it speaks like vLLM or Ollama, which know the classic Chat fields only.

``Script(tool_calls=[ToolCall("get_weather", {"city": "Paris"})])`` answers with tool calls instead of
text (streamed as OpenAI streams them: the id and name first, then the arguments in pieces), on
``/v1/responses`` as ``function_call`` output items.

``/v1/responses`` speaks the Responses API: a Response object, or its full event sequence
(``response.created`` ... ``response.completed``) when ``stream`` is true. Responses are kept, so
``GET``/``DELETE /v1/responses/{id}`` and ``previous_response_id`` work as they do at OpenAI.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from tests.fakes.wire_check import Problem, check_chat, check_responses


@dataclass(frozen=True)
class ToolCall:
    name: str
    arguments: dict[str, Any]
    id: str = ""


@dataclass
class Script:
    status: int = 200
    body: dict[str, Any] | None = None  # an error body (or a whole custom response body)
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0  # seconds before the status line
    hang: bool = False  # never answer
    cut_after: int | None = None  # stream: drop the connection after this many content chunks
    chunk_delay: float = 0.0  # seconds between stream chunks
    reply: str | None = None
    usage: dict[str, Any] | None = None
    no_usage: bool = False  # answer without any usage (like some compatible servers)
    cut_before_first: bool = False  # stream: headers and a keep-alive comment, then drop before any event
    tool_calls: list[ToolCall] | None = None  # answer with these tool calls (finish_reason "tool_calls")


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: dict[str, Any]


def error_body(message: str, type_: str = "invalid_request_error", code: str | None = None) -> dict[str, Any]:
    return {"error": {"message": message, "type": type_, "param": None, "code": code}}


class FakeOpenAI:
    def __init__(self) -> None:
        self.reply = "Hello from the fake provider."
        self.usage: dict[str, Any] = {"prompt_tokens": 12, "completion_tokens": 7, "total_tokens": 19}
        self.model_suffix = "-2024-07-18"
        self.scripts: deque[Script] = deque()
        self.models = ["qwen2.5-7b-instruct", "llama-3.2-3b"]  # what GET /v1/models lists
        self.requests: list[Received] = []
        self.stream_cancelled = asyncio.Event()
        # Set when a caller (olga) gave up on a request while the fake was still waiting to answer it
        # (a delay or a hang): what a provider sees of a cancelled request.
        self.wait_abandoned = asyncio.Event()
        self.streams_finished = 0
        self.responses_usage: dict[str, Any] = {
            "input_tokens": 20,
            "input_tokens_details": {"cached_tokens": 8, "cache_write_tokens": 0},
            "output_tokens": 5,
            "output_tokens_details": {"reasoning_tokens": 0},
            "total_tokens": 25,
        }
        self.stored: dict[
            str, dict[str, Any]
        ] = {}  # Responses by id, for GET/DELETE and previous_response_id
        self._runner: web.AppRunner | None = None
        self.url = ""
        self.strict = True  # refuse unknown fields, as OpenAI does (``wire_check``)
        self.compatible = False  # speak like an OpenAI-compatible server: classic Chat fields only

    def _check(self, path: str, body: dict[str, Any]) -> Problem:
        if path.endswith("/chat/completions"):
            return check_chat(body, compatible=self.compatible)
        if path.endswith("/responses"):
            return check_responses(body)
        return None

    # -- control -------------------------------------------------------------------------------

    def script(self, *items: Script) -> None:
        self.scripts.extend(items)

    @property
    def last(self) -> Received:
        return self.requests[-1]

    async def start(self) -> FakeOpenAI:
        app = web.Application()
        app.router.add_post("/v1/chat/completions", self._chat)
        app.router.add_post("/v1/embeddings", self._embeddings)
        app.router.add_post("/v1/responses", self._responses)
        app.router.add_get("/v1/responses/{id}", self._get_response)
        app.router.add_delete("/v1/responses/{id}", self._delete_response)
        app.router.add_get("/v1/models", self._models)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = self._runner.addresses[0][1]
        self.url = f"http://127.0.0.1:{port}"
        return self

    async def close(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    # -- handlers ------------------------------------------------------------------------------

    async def _models(self, request: web.Request) -> web.Response:
        """The model list, as OpenAI and the local servers (LM Studio, vLLM, llama.cpp) answer it."""
        data = [{"id": m, "object": "model", "created": 0, "owned_by": "local"} for m in self.models]
        return web.json_response({"object": "list", "data": data})

    async def _take(self, request: web.Request) -> tuple[Script, dict[str, Any]]:
        body = await request.json()
        self.requests.append(Received(request.path, dict(request.headers), body))
        script = self.scripts.popleft() if self.scripts else Script()
        problem = self._check(request.path, body) if self.strict and script.status < 400 else None
        if problem is not None:
            return Script(status=400, body=error_body(problem[1])), body
        if script.hang:
            await self._wait(request, 3600)
        if script.delay:
            await self._wait(request, script.delay)
        return script, body

    async def _wait(self, request: web.Request, seconds: float) -> None:
        """Sleep, but notice a caller who hangs up meanwhile (then answer nobody, quickly)."""
        loop = asyncio.get_running_loop()
        end = loop.time() + seconds
        while loop.time() < end:
            if request.transport is None or request.transport.is_closing():
                self.wait_abandoned.set()
                raise asyncio.CancelledError()
            await asyncio.sleep(min(0.02, max(end - loop.time(), 0)))

    async def _chat(self, request: web.Request) -> web.StreamResponse:
        script, body = await self._take(request)
        if script.status >= 400:
            return web.json_response(
                script.body or error_body("scripted failure"), status=script.status, headers=script.headers
            )
        reply = script.reply if script.reply is not None else self.reply
        usage = None if script.no_usage else (script.usage or self.usage)
        model = str(body.get("model")) + self.model_suffix
        completion_id = f"chatcmpl-fake{time.time_ns()}"
        calls = _tool_calls(script)
        if not body.get("stream"):
            message: dict[str, Any] = {
                "role": "assistant",
                "content": None if calls else reply,
                "refusal": None,
            }
            if calls:
                message["tool_calls"] = calls
            payload: dict[str, Any] = script.body or {
                "id": completion_id,
                "object": "chat.completion",
                "created": int(time.time()),
                "model": model,
                "choices": [
                    {
                        "index": 0,
                        "message": message,
                        "logprobs": None,
                        "finish_reason": "tool_calls" if calls else "stop",
                    }
                ],
                "service_tier": "default",
                "system_fingerprint": "fp_fake",
            }
            if usage is not None and script.body is None:
                payload["usage"] = usage
            return web.json_response(payload, headers=script.headers)
        include_usage = bool((body.get("stream_options") or {}).get("include_usage"))
        response = web.StreamResponse(
            headers={"Content-Type": "text/event-stream; charset=utf-8", **script.headers}
        )
        await response.prepare(request)
        if script.cut_before_first:
            await response.write(b": keep-alive\n\n")
            assert request.transport is not None
            request.transport.close()
            return response
        base = {
            "id": completion_id,
            "object": "chat.completion.chunk",
            "created": int(time.time()),
            "model": model,
            "system_fingerprint": "fp_fake",
        }
        extra = {"usage": None} if include_usage else {}

        async def send(data: dict[str, Any]) -> None:
            await response.write(f"data: {json.dumps(data)}\n\n".encode())

        def chunk(delta: dict[str, Any], finish: str | None = None) -> dict[str, Any]:
            return {
                **base,
                "choices": [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}],
                **extra,
            }

        try:
            await send(chunk({"role": "assistant", "content": "", "refusal": None}))
            if calls:
                for index, call in enumerate(calls):
                    head = {
                        "index": index,
                        "id": call["id"],
                        "type": "function",
                        "function": {"name": call["function"]["name"], "arguments": ""},
                    }
                    await send(chunk({"tool_calls": [head]}))
                    arguments = call["function"]["arguments"]
                    for start in range(0, len(arguments), 6):
                        piece = {"index": index, "function": {"arguments": arguments[start : start + 6]}}
                        await send(chunk({"tool_calls": [piece]}))
                await send(chunk({}, "tool_calls"))
                if include_usage and usage is not None:
                    await send({**base, "choices": [], "usage": usage})
                await response.write(b"data: [DONE]\n\n")
                await response.write_eof()
                self.streams_finished += 1
                return response
            pieces = [reply[i : i + 4] for i in range(0, len(reply), 4)]
            for index, piece in enumerate(pieces):
                if script.cut_after is not None and index >= script.cut_after:
                    assert request.transport is not None
                    request.transport.close()  # the provider drops the stream mid-way
                    return response
                if script.chunk_delay:
                    await asyncio.sleep(script.chunk_delay)
                await send(chunk({"content": piece}))
            await send(chunk({}, "stop"))
            if include_usage and usage is not None:
                await send({**base, "choices": [], "usage": usage})
            await response.write(b"data: [DONE]\n\n")
            await response.write_eof()
            self.streams_finished += 1
        except (ConnectionError, asyncio.CancelledError):
            self.stream_cancelled.set()
            raise
        return response

    async def _embeddings(self, request: web.Request) -> web.StreamResponse:
        script, body = await self._take(request)
        if script.status >= 400:
            return web.json_response(script.body or error_body("scripted failure"), status=script.status)
        inputs = body["input"] if isinstance(body["input"], list) else [body["input"]]
        tokens = sum(len(str(i).split()) for i in inputs)
        return web.json_response(
            {
                "object": "list",
                "data": [
                    {"object": "embedding", "index": i, "embedding": [0.1, 0.2, 0.3]}
                    for i in range(len(inputs))
                ],
                "model": body.get("model"),
                "usage": {"prompt_tokens": tokens, "total_tokens": tokens},
            }
        )

    # -- the Responses API ---------------------------------------------------------------------

    async def _responses(self, request: web.Request) -> web.StreamResponse:
        script, body = await self._take(request)
        if script.status >= 400:
            return web.json_response(
                script.body or error_body("scripted failure"), status=script.status, headers=script.headers
            )
        previous = body.get("previous_response_id")
        if previous is not None and previous not in self.stored:
            return web.json_response(
                error_body(
                    f"Previous response with id '{previous}' not found.", code="previous_response_not_found"
                ),
                status=404,
            )
        reply = script.reply if script.reply is not None else self.reply
        response_id = f"resp_fake{time.time_ns()}"
        message_id = f"msg_fake{time.time_ns()}"
        calls = _function_call_items(script)
        final = _response_object(
            body,
            response_id,
            "completed",
            calls or [_message_item(message_id, reply, "completed")],
            script.usage or self.responses_usage,
        )
        if body.get("store", True):
            self.stored[response_id] = final
        if not body.get("stream"):
            return web.json_response(final, headers=script.headers)
        response = web.StreamResponse(
            headers={"Content-Type": "text/event-stream; charset=utf-8", **script.headers}
        )
        await response.prepare(request)
        sequence = 0

        async def send(kind: str, data: dict[str, Any]) -> None:
            nonlocal sequence
            payload = {"type": kind, **data, "sequence_number": sequence}
            sequence += 1
            await response.write(f"event: {kind}\ndata: {json.dumps(payload)}\n\n".encode())

        started = _response_object(body, response_id, "in_progress", [], None)
        await send("response.created", {"response": started})
        await send("response.in_progress", {"response": started})
        if calls:  # function calls, streamed as OpenAI streams them: the item, its arguments, done
            for index, item in enumerate(calls):
                await send(
                    "response.output_item.added", {"output_index": index, "item": {**item, "arguments": ""}}
                )
                where = {"item_id": item["id"], "output_index": index}
                await send("response.function_call_arguments.delta", {**where, "delta": item["arguments"]})
                await send("response.function_call_arguments.done", {**where, "arguments": item["arguments"]})
                await send("response.output_item.done", {"output_index": index, "item": item})
            await send("response.completed", {"response": final})
            await response.write_eof()
            self.streams_finished += 1
            return response
        where = {"item_id": message_id, "output_index": 0, "content_index": 0}
        await send(
            "response.output_item.added",
            {"output_index": 0, "item": _message_item(message_id, None, "in_progress")},
        )
        await send(
            "response.content_part.added",
            {**where, "part": {"type": "output_text", "text": "", "annotations": []}},
        )
        for start in range(0, len(reply), 4):
            if script.chunk_delay:
                await asyncio.sleep(script.chunk_delay)
            await send(
                "response.output_text.delta", {**where, "delta": reply[start : start + 4], "logprobs": []}
            )
        await send("response.output_text.done", {**where, "text": reply, "logprobs": []})
        await send(
            "response.content_part.done",
            {**where, "part": {"type": "output_text", "text": reply, "annotations": []}},
        )
        await send(
            "response.output_item.done",
            {"output_index": 0, "item": _message_item(message_id, reply, "completed")},
        )
        await send("response.completed", {"response": final})
        await response.write_eof()
        self.streams_finished += 1
        return response

    async def _get_response(self, request: web.Request) -> web.Response:
        self.requests.append(Received(request.path, dict(request.headers), {}))
        stored = self.stored.get(request.match_info["id"])
        if stored is None:
            return web.json_response(
                error_body(f"Response with id '{request.match_info['id']}' not found."), status=404
            )
        return web.json_response(stored)

    async def _delete_response(self, request: web.Request) -> web.Response:
        self.requests.append(Received(request.path, dict(request.headers), {}))
        response_id = request.match_info["id"]
        if self.stored.pop(response_id, None) is None:
            return web.json_response(error_body(f"Response with id '{response_id}' not found."), status=404)
        return web.json_response({"id": response_id, "object": "response", "deleted": True})


def _tool_calls(script: Script) -> list[dict[str, Any]]:
    return [
        {
            "id": call.id or f"call_fake{index:02d}",
            "type": "function",
            "function": {"name": call.name, "arguments": json.dumps(call.arguments)},
        }
        for index, call in enumerate(script.tool_calls or [])
    ]


def _function_call_items(script: Script) -> list[dict[str, Any]]:
    """The Responses API's ``function_call`` output items for the script's tool calls."""
    return [
        {
            "id": f"fc_fake{index:02d}",
            "type": "function_call",
            "status": "completed",
            "call_id": call.id or f"call_fake{index:02d}",
            "name": call.name,
            "arguments": json.dumps(call.arguments),
        }
        for index, call in enumerate(script.tool_calls or [])
    ]


def _message_item(item_id: str, text: str | None, status: str) -> dict[str, Any]:
    content = (
        [] if text is None else [{"type": "output_text", "text": text, "annotations": [], "logprobs": []}]
    )
    return {"id": item_id, "type": "message", "status": status, "role": "assistant", "content": content}


def _response_object(
    body: dict[str, Any],
    response_id: str,
    status: str,
    output: list[dict[str, Any]],
    usage: dict[str, Any] | None,
) -> dict[str, Any]:
    return {
        "id": response_id,
        "object": "response",
        "created_at": int(time.time()),
        "status": status,
        "error": None,
        "incomplete_details": None,
        "instructions": body.get("instructions"),
        "max_output_tokens": body.get("max_output_tokens"),
        "model": str(body.get("model")) + "-2025-08-07",
        "output": output,
        "parallel_tool_calls": True,
        "previous_response_id": body.get("previous_response_id"),
        "reasoning": {"effort": None, "summary": None},
        "store": body.get("store", True),
        "temperature": body.get("temperature", 1.0),
        "text": {"format": {"type": "text"}},
        "tool_choice": body.get("tool_choice", "auto"),
        "tools": body.get("tools", []),
        "top_p": body.get("top_p", 1.0),
        "truncation": "disabled",
        "usage": usage,
        "user": None,
        "metadata": body.get("metadata", {}),
    }
