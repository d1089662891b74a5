"""A fake Gemini API: a real aiohttp server on 127.0.0.1 speaking ``generateContent`` as Google does.

``POST /v1beta/models/{model}:generateContent`` (or ``/v1/...``) answers one ``GenerateContentResponse``;
``:streamGenerateContent?alt=sse`` answers ``data: {...}`` events separated by CRLF pairs, one
partial response each (text deltas, a function call whole), ``usageMetadata`` on every event and the
``finishReason`` on the last, with no end sentinel. Like the real API it wants the key in
``x-goog-api-key`` (or ``?key=``): 403 PERMISSION_DENIED without one, 400 API_KEY_INVALID for a wrong
one; 404 NOT_FOUND for an unknown model; and 400 INVALID_ARGUMENT for a field it does not know
("Invalid JSON payload received. Unknown name ..."), at any depth, or a role other than user/model.

Script the next answers with ``replies`` (text, function calls, thoughts, usage); ``seen`` keeps each
request (path, query, headers, body).
"""

from __future__ import annotations

import json
from collections import deque
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

# Proto JSON names, lowerCamel as Google documents them (snake_case is accepted too, as protos do).
_PART = {"text", "inlineData", "fileData", "functionCall", "functionResponse", "thought", "thoughtSignature",
         "executableCode", "codeExecutionResult", "videoMetadata"}  # fmt: skip
_REQUEST = {"contents", "systemInstruction", "tools", "toolConfig", "safetySettings", "generationConfig",
            "cachedContent", "model"}  # fmt: skip
_GENERATION = {"stopSequences", "responseMimeType", "responseSchema", "responseJsonSchema", "candidateCount",
               "maxOutputTokens", "temperature", "topP", "topK", "seed", "presencePenalty", "frequencyPenalty",
               "responseLogprobs", "logprobs", "thinkingConfig", "responseModalities", "mediaResolution",
               "speechConfig", "enableEnhancedCivicAnswers"}  # fmt: skip
_SCHEMAS: dict[str, set[str]] = {
    "request": _REQUEST,
    "content": {"role", "parts"},
    "part": _PART,
    "generation_config": _GENERATION,
    "thinking_config": {"thinkingBudget", "includeThoughts", "thinkingLevel"},
    "tool": {"functionDeclarations", "googleSearch", "codeExecution", "urlContext", "googleSearchRetrieval"},
    "function_declaration": {
        "name",
        "description",
        "parameters",
        "parametersJsonSchema",
        "response",
        "responseJsonSchema",
        "behavior",
    },
    "tool_config": {"functionCallingConfig"},
    "function_calling_config": {"mode", "allowedFunctionNames"},
    "inline_data": {"mimeType", "data"},
    "function_call": {"name", "args", "id"},
    "function_response": {"name", "response", "id"},
}
KNOWN_MODELS = {"gemini-2.5-flash", "gemini-2.5-pro", "gemini-2.5-flash-lite"}
SSE_SEPARATOR = b"\r\n\r\n"


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(word.title() for word in rest)


class UnknownField(ValueError):
    pass


def _check(value: Any, schema: str, where: str) -> None:
    """Refuse any field the schema does not know, as the API's proto parser does."""
    if not isinstance(value, dict):
        return
    known = _SCHEMAS[schema]
    for name, child in value.items():
        camel = _camel(name)
        if camel not in known:
            raise UnknownField(
                f"Invalid JSON payload received. Unknown name \"{name}\" at '{where}': Cannot find field."
            )
        nested = {
            "contents": "content", "systemInstruction": "content", "parts": "part",
            "generationConfig": "generation_config", "thinkingConfig": "thinking_config", "tools": "tool",
            "functionDeclarations": "function_declaration", "toolConfig": "tool_config",
            "functionCallingConfig": "function_calling_config", "inlineData": "inline_data",
            "functionCall": "function_call", "functionResponse": "function_response",
        }.get(camel)  # fmt: skip
        if nested is None:
            continue
        items = child if isinstance(child, list) else [child]
        for i, item in enumerate(items):
            _check(item, nested, f"{where}.{name}[{i}]" if isinstance(child, list) else f"{where}.{name}")


@dataclass
class GeminiReply:
    text: str = "Hello from the fake Gemini."
    calls: list[tuple[str, dict[str, Any]]] = field(default_factory=list)  # function calls
    thought: str | None = None  # a thought summary part (shown only with includeThoughts)
    signature: str | None = None  # a thoughtSignature on the first function call
    prompt_tokens: int = 14
    candidates_tokens: int = 6
    thoughts_tokens: int = 0
    cached_tokens: int = 0
    finish: str = "STOP"
    stream_error: dict[str, Any] | None = None  # an error event after the first text event

    def parts(self) -> list[dict[str, Any]]:
        parts: list[dict[str, Any]] = []
        if self.thought is not None:
            parts.append({"text": self.thought, "thought": True})
        if self.text:
            parts.append({"text": self.text})
        for i, (name, args) in enumerate(self.calls):
            part: dict[str, Any] = {"functionCall": {"name": name, "args": args}}
            if i == 0 and self.signature:
                part["thoughtSignature"] = self.signature
            parts.append(part)
        return parts

    def usage(self, *, done: bool = True) -> dict[str, Any]:
        usage: dict[str, Any] = {
            "promptTokenCount": self.prompt_tokens,
            "candidatesTokenCount": self.candidates_tokens if done else max(self.candidates_tokens // 2, 1),
            "totalTokenCount": self.prompt_tokens + self.candidates_tokens + self.thoughts_tokens,
            "promptTokensDetails": [{"modality": "TEXT", "tokenCount": self.prompt_tokens}],
        }
        if self.thoughts_tokens:
            usage["thoughtsTokenCount"] = self.thoughts_tokens
        if self.cached_tokens:
            usage["cachedContentTokenCount"] = self.cached_tokens
            usage["cacheTokensDetails"] = [{"modality": "TEXT", "tokenCount": self.cached_tokens}]
        return usage


@dataclass
class Seen:
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: dict[str, Any]


def _error(status: int, code: str, message: str, reason: str | None = None) -> web.Response:
    error: dict[str, Any] = {"code": status, "message": message, "status": code}
    if reason:
        error["details"] = [
            {
                "@type": "type.googleapis.com/google.rpc.ErrorInfo",
                "reason": reason,
                "domain": "googleapis.com",
            }
        ]
    return web.json_response({"error": error}, status=status)


class FakeGemini:
    def __init__(self, *, key: str = "gemini-test-key") -> None:
        self.key = key
        self.replies: deque[GeminiReply] = deque()
        self.seen: list[Seen] = []
        self.url = ""
        self._runner: web.AppRunner | None = None

    async def start(self) -> FakeGemini:
        app = web.Application()
        app.router.add_post("/v1beta/models/{call}", self._generate)
        app.router.add_post("/v1/models/{call}", self._generate)  # the stable version, same shapes
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.url = f"http://127.0.0.1:{self._runner.addresses[0][1]}"
        return self

    async def close(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    @property
    def last(self) -> Seen:
        return self.seen[-1]

    async def _generate(self, request: web.Request) -> web.StreamResponse:
        model, _, method = request.match_info["call"].rpartition(":")
        body = await request.json()
        self.seen.append(Seen(request.path, dict(request.query), dict(request.headers), body))
        key = request.headers.get("x-goog-api-key") or request.query.get("key")
        if not key:
            return _error(
                403,
                "PERMISSION_DENIED",
                "Method doesn't allow unregistered callers (callers without established identity). Please use "
                "API Key or other form of API consumer identity to call this API.",
            )
        if key != self.key:
            return _error(
                400, "INVALID_ARGUMENT", "API key not valid. Please pass a valid API key.", "API_KEY_INVALID"
            )
        if method not in ("generateContent", "streamGenerateContent") or model not in KNOWN_MODELS:
            return _error(
                404,
                "NOT_FOUND",
                f"models/{model} is not found for API version v1beta, or is not supported for {method}. "
                "Call ListModels to see the list of available models and their supported methods.",
            )
        try:
            _check(body, "request", "")
        except UnknownField as exc:
            return _error(400, "INVALID_ARGUMENT", str(exc))
        contents = body.get("contents") or []
        if not contents:
            return _error(
                400, "INVALID_ARGUMENT", "* GenerateContentRequest.contents: contents is not specified\n"
            )
        if any(c.get("role") not in ("user", "model") for c in contents):
            return _error(400, "INVALID_ARGUMENT", "Please use a valid role: user, model.")
        reply = self.replies.popleft() if self.replies else GeminiReply()
        thinking = (body.get("generationConfig") or {}).get("thinkingConfig") or {}
        if not thinking.get("includeThoughts"):
            reply.thought = None
        if method == "generateContent":
            return web.json_response(self._response(reply, reply.parts(), done=True))
        return await self._stream(request, reply)

    def _response(self, reply: GeminiReply, parts: list[dict[str, Any]], *, done: bool) -> dict[str, Any]:
        candidate: dict[str, Any] = {"content": {"parts": parts, "role": "model"}, "index": 0}
        if done:
            candidate["finishReason"] = reply.finish
        return {
            "candidates": [candidate],
            "usageMetadata": reply.usage(done=done),
            "modelVersion": "gemini-2.5-flash",
            "responseId": "resp-fake-gemini-1",
        }

    async def _stream(self, request: web.Request, reply: GeminiReply) -> web.StreamResponse:
        if request.query.get("alt") != "sse":
            return _error(400, "INVALID_ARGUMENT", "this fake streams only with alt=sse")
        response = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
        await response.prepare(request)
        parts = reply.parts()
        texts = [p for p in parts if "text" in p and not p.get("thought")]
        pieces: list[list[dict[str, Any]]] = [[p] for p in parts if p.get("thought")]
        for text in texts:
            words = text["text"].split(" ")
            pieces += [[{"text": (" " if i else "") + w}] for i, w in enumerate(words)]
        calls = [p for p in parts if "functionCall" in p]
        if calls:
            pieces.append(calls)
        for index, piece in enumerate(pieces):
            last = index == len(pieces) - 1
            event = self._response(reply, piece, done=last)
            await response.write(b"data: " + json.dumps(event).encode() + SSE_SEPARATOR)
            if index == 0 and reply.stream_error is not None:
                await response.write(
                    b"data: " + json.dumps({"error": reply.stream_error}).encode() + SSE_SEPARATOR
                )
                break
        await response.write_eof()
        return response
