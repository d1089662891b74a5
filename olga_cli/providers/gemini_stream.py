"""Gemini's ``streamGenerateContent?alt=sse`` in, Chat Completion chunks out (and, through Chat, the
Messages and Responses streams).

Gemini streams one ``GenerateContentResponse`` per ``data:`` event, with no event names and no end
sentinel: text parts are deltas, a function call arrives whole in one part, the last event carries the
``finishReason`` and ``usageMetadata`` holds the counts so far (the last one is the total). An
``{"error": ...}`` event ends a stream that failed.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from olga_cli import jsonwire
from olga_cli.providers.chat_stream_to_messages import ChatStreamToMessages
from olga_cli.providers.chat_stream_to_responses import ChatStreamToResponses
from olga_cli.providers.gemini import chat_usage, finish_reason, tool_call_id, usage_of
from olga_cli.providers.sse import DONE, SSEEvent, encode_event
from olga_cli.providers.translate_common import JSON, new_id, now
from olga_cli.providers.usage import Usage


class GeminiStreamToChat:
    """Gemini stream events in, Chat Completion chunks (encoded SSE) out."""

    def __init__(self, model: str, include_usage: bool) -> None:
        self._model = model
        self._include_usage = include_usage
        self._id = new_id("chatcmpl-")
        self._upstream_id: str | None = None
        self._created = now()
        self._usage: Usage | None = None
        self._finish: str | None = None
        self._text: list[str] = []
        self._calls = 0
        self._started = False
        self._closed = False
        self._error: JSON | None = None

    @property
    def usage(self) -> Usage | None:
        return self._usage

    @property
    def finish_reason(self) -> str | None:
        return self._finish

    @property
    def upstream_id(self) -> str | None:
        return self._upstream_id

    @property
    def text(self) -> str:
        return "".join(self._text)

    @property
    def error(self) -> JSON | None:
        return self._error

    def feed(self, event: SSEEvent) -> list[bytes]:
        return [encode_event(chunk) for chunk in self.feed_chunks(event)]

    def feed_chunks(self, event: SSEEvent) -> list[JSON]:
        if not event.data.strip() or self._error is not None:
            return []
        data = jsonwire.loads_event(event.data)
        if not isinstance(data, dict):
            return []
        if isinstance(data.get("error"), dict):
            error = data["error"]
            self._error = {
                "type": str(error.get("status") or "api_error"),
                "message": str(error.get("message", "")),
            }
            return [
                {
                    "error": {
                        "message": self._error["message"],
                        "type": "api_error",
                        "param": None,
                        "code": error.get("status"),
                    }
                }
            ]
        self._upstream_id = self._upstream_id or data.get("responseId")
        self._model = data.get("modelVersion") or self._model
        usage = usage_of(data.get("usageMetadata"))
        if usage is not None:
            self._usage = usage
        chunks = self._start()
        for candidate in data.get("candidates") or []:
            if isinstance(candidate, dict) and candidate.get("index", 0) == 0:
                chunks += self._candidate(candidate)
        return chunks

    def finish(self) -> list[bytes]:
        if self._error is not None:
            return []
        return [encode_event(chunk) for chunk in self.finish_chunks()] + [DONE]

    def finish_chunks(self) -> list[JSON]:
        """The finish chunk (if Gemini's last event did not end the answer) and the usage chunk."""
        if self._error is not None or self._closed:
            return []
        self._closed = True
        chunks = self._start()
        if self._finish is None:
            self._finish = "stop"
            chunks.append(self._chunk([{"index": 0, "delta": {}, "finish_reason": "stop", "logprobs": None}]))
        if self._include_usage:
            chunks.append({**self._chunk([]), "usage": chat_usage(self._usage or Usage())})
        return chunks

    def fail(self, message: str, *, type: str = "api_error", code: str | None = None) -> list[bytes]:
        self._error = {"type": type, "message": message}
        return [encode_event({"error": {"message": message, "type": type, "param": None, "code": code}})]

    def _chunk(self, choices: list[JSON]) -> JSON:
        chunk: JSON = {
            "id": self._id,
            "object": "chat.completion.chunk",
            "created": self._created,
            "model": self._model,
            "choices": choices,
        }
        if self._include_usage:
            chunk["usage"] = None
        return chunk

    def _start(self) -> list[JSON]:
        if self._started:
            return []
        self._started = True
        delta = {"role": "assistant", "content": ""}
        return [self._chunk([{"index": 0, "delta": delta, "finish_reason": None, "logprobs": None}])]

    def _candidate(self, candidate: JSON) -> list[JSON]:
        chunks: list[JSON] = []
        for part in (candidate.get("content") or {}).get("parts") or []:
            if not isinstance(part, dict) or part.get("thought"):
                continue
            if isinstance(part.get("text"), str) and part["text"]:
                self._text.append(part["text"])
                delta: JSON = {"content": part["text"]}
                chunks.append(
                    self._chunk([{"index": 0, "delta": delta, "finish_reason": None, "logprobs": None}])
                )
            elif isinstance(part.get("functionCall"), dict):
                call = part["functionCall"]
                tool = {
                    "index": self._calls,
                    "id": tool_call_id(part, self._calls),
                    "type": "function",
                    "function": {
                        "name": call.get("name", ""),
                        "arguments": json.dumps(call.get("args") or {}),
                    },
                }
                self._calls += 1
                chunks.append(
                    self._chunk([{"index": 0, "delta": {"tool_calls": [tool]}, "finish_reason": None}])
                )
        reason = candidate.get("finishReason")
        if reason and self._finish is None:
            self._finish = finish_reason(reason, self._calls > 0)
            chunks.append(
                self._chunk([{"index": 0, "delta": {}, "finish_reason": self._finish, "logprobs": None}])
            )
        return chunks


class GeminiStreamThroughChat:
    """Gemini's stream for a Messages or Responses caller: Gemini -> Chat chunks -> the caller's API."""

    def __init__(self, model: str, caller: str, request: Mapping[str, Any]) -> None:
        self._to_chat = GeminiStreamToChat(model, include_usage=True)
        self._onward: ChatStreamToMessages | ChatStreamToResponses = (
            ChatStreamToMessages(model) if caller == "messages" else ChatStreamToResponses(model, request)
        )

    @property
    def usage(self) -> Usage | None:
        return self._to_chat.usage  # Gemini's own counts, thoughts and cache hits included

    @property
    def finish_reason(self) -> str | None:
        return self._onward.finish_reason

    @property
    def upstream_id(self) -> str | None:
        return self._to_chat.upstream_id

    @property
    def text(self) -> str:
        return self._onward.text

    @property
    def error(self) -> JSON | None:
        return self._onward.error

    def feed(self, event: SSEEvent) -> list[bytes]:
        out: list[bytes] = []
        for chunk in self._to_chat.feed_chunks(event):
            out += self._onward.feed_chunk(chunk)
        return out

    def finish(self) -> list[bytes]:
        out: list[bytes] = []
        for chunk in self._to_chat.finish_chunks():
            out += self._onward.feed_chunk(chunk)
        if isinstance(self._onward, ChatStreamToResponses):
            return out + self._onward.finish(usage=self._to_chat.usage)
        return out + self._onward.finish()

    def fail(self, message: str, *, type: str = "api_error", code: str | None = None) -> list[bytes]:
        return self._onward.fail(message, type=type, code=code)
