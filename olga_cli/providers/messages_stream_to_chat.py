"""Anthropic Messages stream events in, OpenAI Chat Completion chunks (encoded SSE) out.

Text deltas become ``content`` deltas, each tool_use block becomes one ``tool_calls`` entry whose
``input_json_delta`` pieces stream as its ``arguments``; thinking deltas are not shown. The chunk
with ``finish_reason`` goes out on message_stop; ``finish`` adds the usage chunk (when the caller
asked for ``stream_options.include_usage``) and ``data: [DONE]``. An Anthropic ``error`` event becomes
a Chat error chunk, which the openai SDK raises as ``APIError``.
"""

from __future__ import annotations

from typing import Any

from olga_cli.providers import usage as usage_mod
from olga_cli.providers.sse import DONE, SSEEvent, encode_event
from olga_cli.providers.translate_common import ANTHROPIC_TO_CHAT_FINISH, JSON, now
from olga_cli.providers.usage import Usage


class MessagesStreamToChat:
    """Anthropic Messages stream events in, Chat Completion chunks (encoded SSE) out."""

    def __init__(
        self, model: str, include_usage: bool, *, created: int | None = None, carry_thinking: bool = False
    ) -> None:
        self._model = model
        # For the Responses translation: each finished thinking block goes out as a chunk whose delta
        # holds ``olga_thinking`` (never sent to a Chat caller).
        self._carry_thinking = carry_thinking
        self._thinking: dict[int, JSON] = {}  # Anthropic block index -> the thinking block being built
        self._include_usage = include_usage
        self._created = created if created is not None else now()
        self._id: str | None = None
        self._usage: JSON = {}
        self._stop_reason: str | None = None
        self._text: list[str] = []
        self._tool_index: dict[int, int] = {}  # Anthropic block index -> Chat tool_calls index
        self._started = False
        self._finished = False  # the chunk with finish_reason went out
        self._closed = False  # finish() ran
        self._error: JSON | None = None

    # ------------------------------------------------------------------ what the gateway records
    @property
    def usage(self) -> Usage | None:
        return usage_mod.from_anthropic(self._usage) if self._usage else None

    @property
    def finish_reason(self) -> str | None:
        if self._stop_reason is None:
            return None
        return ANTHROPIC_TO_CHAT_FINISH.get(self._stop_reason, "stop")

    @property
    def upstream_id(self) -> str | None:
        return self._id

    @property
    def text(self) -> str:
        return "".join(self._text)

    @property
    def error(self) -> JSON | None:
        return self._error

    # ------------------------------------------------------------------ translation
    def feed(self, event: SSEEvent) -> list[bytes]:
        return [encode_event(chunk) for chunk in self.feed_chunks(event)]

    def feed_chunks(self, event: SSEEvent) -> list[JSON]:
        """Like ``feed`` but returns the chunk objects, for a caller that translates them further."""
        if event.event == "ping" or not event.data or self._error is not None:
            return []
        data = event.json()
        kind = data.get("type", event.event)
        if kind == "error":
            error = data.get("error") or {}
            self._error = {"type": error.get("type", "api_error"), "message": error.get("message", "")}
            return [{"error": _chat_error(self._error)}]
        if kind == "message_start":
            message = data.get("message") or {}
            self._id = message.get("id")
            self._usage.update(_counts(message.get("usage")))
            return self._start()
        chunks = self._start() if not self._started else []
        if kind == "content_block_start":
            block = data.get("content_block") or {}
            if block.get("type") == "tool_use":
                index = len(self._tool_index)
                self._tool_index[int(data.get("index", 0))] = index
                call = {
                    "index": index,
                    "id": block.get("id"),
                    "type": "function",
                    "function": {"name": block.get("name"), "arguments": ""},
                }
                chunks.append(self._chunk({"tool_calls": [call]}))
            elif block.get("type") in ("thinking", "redacted_thinking") and self._carry_thinking:
                self._thinking[int(data.get("index", 0))] = dict(block)
            elif block.get("type") == "text" and block.get("text"):
                self._text.append(block["text"])
                chunks.append(self._chunk({"content": block["text"]}))
        elif kind == "content_block_delta":
            delta = data.get("delta") or {}
            if delta.get("type") == "text_delta":
                self._text.append(delta.get("text", ""))
                chunks.append(self._chunk({"content": delta.get("text", "")}))
            elif delta.get("type") == "input_json_delta":
                tool_index = self._tool_index.get(int(data.get("index", 0)))
                if tool_index is not None and delta.get("partial_json"):
                    call = {"index": tool_index, "function": {"arguments": delta["partial_json"]}}
                    chunks.append(self._chunk({"tool_calls": [call]}))
            elif delta.get("type") in ("thinking_delta", "signature_delta"):
                self._thinking_delta(int(data.get("index", 0)), delta)
            # citations_delta: not part of a Chat answer.
        elif kind == "content_block_stop":
            block = self._thinking.pop(int(data.get("index", 0)), None)
            if block is not None:
                chunks.append(self._chunk({"olga_thinking": block}))
        elif kind == "message_delta":
            delta = data.get("delta") or {}
            if delta.get("stop_reason"):
                self._stop_reason = delta["stop_reason"]
            self._usage.update(_counts(data.get("usage")))
        elif kind == "message_stop":
            chunks.extend(self._finish_chunk())
        return chunks

    def _thinking_delta(self, index: int, delta: JSON) -> None:
        block = self._thinking.get(index)
        if block is None:
            return
        if delta.get("type") == "thinking_delta":
            block["thinking"] = str(block.get("thinking", "")) + str(delta.get("thinking", ""))
        else:
            block["signature"] = str(block.get("signature", "")) + str(delta.get("signature", ""))

    def finish(self) -> list[bytes]:
        if self._error is not None or self._closed:
            return []
        return [encode_event(chunk) for chunk in self.finish_chunks()] + [DONE]

    def finish_chunks(self) -> list[JSON]:
        """Like ``finish`` but returns the chunk objects (without the ``[DONE]`` sentinel)."""
        if self._error is not None or self._closed:
            return []
        self._closed = True
        chunks = self._start() + self._finish_chunk()
        if self._include_usage:
            usage = self.usage or Usage()
            chunks.append(self._envelope([], usage=usage_mod.to_openai(usage)))
        return chunks

    def fail(self, message: str, *, type: str = "api_error", code: str | None = None) -> list[bytes]:
        self._error = {"type": type, "message": message}
        return [encode_event({"error": _chat_error(self._error, code=code)})]

    # ------------------------------------------------------------------ chunk building
    def _start(self) -> list[JSON]:
        if self._started:
            return []
        self._started = True
        return [self._chunk({"role": "assistant", "content": "", "refusal": None})]

    def _finish_chunk(self) -> list[JSON]:
        if self._finished:
            return []
        self._finished = True
        if self._stop_reason is None:
            self._stop_reason = "end_turn"
        return [self._chunk({}, finish_reason=self.finish_reason)]

    def _chunk(self, delta: JSON, *, finish_reason: str | None = None) -> JSON:
        choice = {"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish_reason}
        return self._envelope([choice], usage=None)

    def _envelope(self, choices: list[JSON], *, usage: JSON | None) -> JSON:
        chunk: JSON = {
            "id": self._id or "",
            "object": "chat.completion.chunk",
            "created": self._created,
            "model": self._model,
            "system_fingerprint": None,
            "choices": choices,
        }
        if self._include_usage:
            chunk["usage"] = usage
        return chunk


def _counts(usage: Any) -> JSON:
    """The token counts of an Anthropic usage object (cumulative in message_delta, so they overwrite)."""
    if not isinstance(usage, dict):
        return {}
    names = ("input_tokens", "output_tokens", "cache_read_input_tokens", "cache_creation_input_tokens")
    return {name: usage[name] for name in names if isinstance(usage.get(name), int)}


def _chat_error(error: JSON, *, code: str | None = None) -> JSON:
    return {"message": error.get("message", ""), "type": error.get("type"), "param": None, "code": code}
