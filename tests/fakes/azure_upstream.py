"""A fake Azure OpenAI resource: a real aiohttp server on 127.0.0.1 with Azure's URL and header scheme.

``POST /openai/deployments/{deployment}/chat/completions?api-version=V`` (and ``/embeddings``) with the
key in ``api-key``. As Azure does, it answers 401 without a valid key, 404 ``DeploymentNotFound`` for a
deployment that does not exist, 404 "Resource not found" without a supported ``api-version``, and 400
for a request argument it does not know. Answers carry Azure's extras (``prompt_filter_results``,
``content_filter_results``); a stream opens with the empty-id prompt-filter chunk Azure sends first.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import Any

from aiohttp import web

API_VERSIONS = frozenset({"2024-10-21", "2024-06-01", "2025-01-01-preview"})
CHAT_FIELDS = frozenset(
    {
        "messages", "model", "temperature", "top_p", "stream", "stream_options", "stop", "max_tokens",
        "max_completion_tokens", "presence_penalty", "frequency_penalty", "logit_bias", "user", "n", "seed",
        "logprobs", "top_logprobs", "response_format", "tools", "tool_choice", "parallel_tool_calls",
        "functions", "function_call", "data_sources", "reasoning_effort", "metadata", "store",
    }
)  # fmt: skip
_SAFE = {"filtered": False, "severity": "safe"}
FILTERS = {"hate": _SAFE, "self_harm": _SAFE, "sexual": _SAFE, "violence": _SAFE}


@dataclass
class Seen:
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: dict[str, Any]


def _error(status: int, code: str, message: str) -> web.Response:
    return web.json_response({"error": {"code": code, "message": message}}, status=status)


class FakeAzure:
    def __init__(self, *, key: str = "azure-test-key", deployments: dict[str, str] | None = None) -> None:
        self.key = key
        self.deployments = deployments or {
            "prod-4o": "gpt-4o-2024-08-06",
            "gpt-4o-mini": "gpt-4o-mini-2024-07-18",
        }
        self.reply = "Hello from Azure."
        self.usage = {"prompt_tokens": 11, "completion_tokens": 4, "total_tokens": 15}
        self.seen: list[Seen] = []
        self.url = ""
        self._runner: web.AppRunner | None = None

    async def start(self) -> FakeAzure:
        app = web.Application()
        app.router.add_post("/openai/deployments/{deployment}/chat/completions", self._chat)
        app.router.add_post("/openai/deployments/{deployment}/embeddings", self._embeddings)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.url = f"http://127.0.0.1:{self._runner.addresses[0][1]}"
        return self

    async def close(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    async def _check(self, request: web.Request) -> tuple[str, dict[str, Any]] | web.Response:
        body = await request.json()
        self.seen.append(Seen(request.path, dict(request.query), dict(request.headers), body))
        if request.query.get("api-version") not in API_VERSIONS:
            return _error(404, "404", "Resource not found")
        if request.headers.get("api-key") != self.key:
            return _error(
                401,
                "401",
                "Access denied due to invalid subscription key or wrong API endpoint. Make sure to provide a "
                "valid key for an active subscription and use a correct regional API endpoint for your resource.",
            )
        deployment = request.match_info["deployment"]
        if deployment not in self.deployments:
            return _error(
                404,
                "DeploymentNotFound",
                "The API deployment for this resource does not exist. If you created the deployment within "
                "the last 5 minutes, please wait a moment and try again.",
            )
        return deployment, body

    async def _chat(self, request: web.Request) -> web.StreamResponse:
        checked = await self._check(request)
        if isinstance(checked, web.Response):
            return checked
        deployment, body = checked
        unknown = sorted(set(body) - CHAT_FIELDS)
        if unknown:
            return web.json_response(
                {
                    "error": {
                        "message": f"Unrecognized request argument supplied: {unknown[0]}",
                        "type": "invalid_request_error",
                        "param": None,
                        "code": None,
                    }
                },
                status=400,
            )
        model = self.deployments[deployment]
        if body.get("stream"):
            return await self._stream(request, model, body)
        return web.json_response(
            {
                "choices": [
                    {
                        "content_filter_results": FILTERS,
                        "finish_reason": "stop",
                        "index": 0,
                        "logprobs": None,
                        "message": {"content": self.reply, "refusal": None, "role": "assistant"},
                    }
                ],
                "created": int(time.time()),
                "id": "chatcmpl-azure1",
                "model": model,
                "object": "chat.completion",
                "prompt_filter_results": [{"prompt_index": 0, "content_filter_results": FILTERS}],
                "system_fingerprint": "fp_azure",
                "usage": {**self.usage, "prompt_tokens_details": {"cached_tokens": 0}},
            }
        )

    async def _stream(self, request: web.Request, model: str, body: dict[str, Any]) -> web.StreamResponse:
        response = web.StreamResponse(headers={"Content-Type": "text/event-stream; charset=utf-8"})
        await response.prepare(request)
        base = {
            "created": int(time.time()),
            "id": "chatcmpl-azure2",
            "model": model,
            "object": "chat.completion.chunk",
        }
        chunks: list[dict[str, Any]] = [
            {"choices": [], "created": 0, "id": "", "model": "", "object": "",
             "prompt_filter_results": [{"prompt_index": 0, "content_filter_results": FILTERS}]},
            {**base, "choices": [{"delta": {"content": "", "role": "assistant"}, "finish_reason": None, "index": 0}]},
        ]  # fmt: skip
        for word in self.reply.split(" "):
            piece = word if chunks[-1]["choices"][0]["delta"].get("role") else " " + word
            chunks.append(
                {**base, "choices": [{"content_filter_results": FILTERS, "delta": {"content": piece},
                                      "finish_reason": None, "index": 0}]}
            )  # fmt: skip
        chunks.append(
            {
                **base,
                "choices": [{"content_filter_results": {}, "delta": {}, "finish_reason": "stop", "index": 0}],
            }
        )
        if (body.get("stream_options") or {}).get("include_usage"):
            chunks.append({**base, "choices": [], "usage": self.usage})
        for chunk in chunks:
            await response.write(f"data: {json.dumps(chunk)}\n\n".encode())
        await response.write(b"data: [DONE]\n\n")
        await response.write_eof()
        return response

    async def _embeddings(self, request: web.Request) -> web.Response:
        checked = await self._check(request)
        if isinstance(checked, web.Response):
            return checked
        _, body = checked
        inputs = body["input"] if isinstance(body["input"], list) else [body["input"]]
        return web.json_response(
            {
                "object": "list",
                "data": [
                    {"object": "embedding", "index": i, "embedding": [0.1, 0.2]} for i in range(len(inputs))
                ],
                "model": "text-embedding-3-small",
                "usage": {"prompt_tokens": 3 * len(inputs), "total_tokens": 3 * len(inputs)},
            }
        )
