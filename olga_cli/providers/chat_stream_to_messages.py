"""OpenAI Chat Completion chunks in, Anthropic Messages stream events (encoded SSE) out.

The full Anthropic sequence: message_start; for each text run or tool call a content_block_start,
its deltas (text_delta, or input_json_delta for tool arguments) and content_block_stop; then
message_delta with stop_reason and usage, and message_stop. Chat reports usage only at the end, so
message_start carries zeros and message_delta the real counts (cumulative, as Anthropic's are). A
Chat error chunk becomes an ``error`` event, which the anthropic SDK raises as ``APIStatusError``.
"""

from __future__ import annotations

from olga_cli.providers import usage as usage_mod
from olga_cli.providers.sse import SSEEvent, encode_event
from olga_cli.providers.translate_common import CHAT_TO_ANTHROPIC_STOP, JSON, chunk_json, new_id
from olga_cli.providers.usage import Usage


class ChatStreamToMessages:
    """Chat Completion chunks in, Anthropic Messages stream events (encoded SSE) out."""

    def __init__(self, model: str, *, message_id: str | None = None) -> None:
        self._model = model
        self._id = message_id
        self._upstream_id: str | None = None
        self._usage: Usage | None = None
        self._finish_reason: str | None = None
        self._text: list[str] = []
        self._blocks = 0  # Anthropic content blocks opened so far
        self._open: int | None = None  # index of the block still open
        self._open_kind: str | None = None
        self._tool_blocks: dict[int, int] = {}  # Chat tool_calls index -> Anthropic block index
        self._started = False
        self._stopped = False
        self._refused = False  # the provider sent refusal text
        self._answered = False  # the provider sent answer text
        self._error: JSON | None = None

    @property
    def usage(self) -> Usage | None:
        return self._usage

    @property
    def finish_reason(self) -> str | None:
        """Anthropic's stop_reason, as the caller sees it."""
        if self._finish_reason is None:
            return None
        if self._refused and not self._answered:
            return "refusal"
        return CHAT_TO_ANTHROPIC_STOP.get(self._finish_reason, "end_turn")

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
        chunk = chunk_json(event)
        if chunk is None or self._error is not None:
            return []
        return self.feed_chunk(chunk)

    def feed_chunk(self, chunk: JSON) -> list[bytes]:
        if self._error is not None:
            return []
        if isinstance(chunk.get("error"), dict):
            error = chunk["error"]
            return self.fail(str(error.get("message", "")), type=_anthropic_type(error))
        out = self._start(chunk)
        if chunk.get("usage"):
            self._usage = usage_mod.from_openai(chunk["usage"])
        for choice in chunk.get("choices") or []:
            if choice.get("index", 0) != 0:
                continue
            delta = choice.get("delta") or {}
            text = delta.get("content")
            if text:
                self._answered = True
                out += self._text_delta(text)
            if delta.get("refusal"):
                self._refused = True
                out += self._text_delta(str(delta["refusal"]))
            for call in delta.get("tool_calls") or []:
                out += self._tool_delta(call)
            if choice.get("finish_reason"):
                self._finish_reason = choice["finish_reason"]
                out += self._close()
        return out

    def finish(self) -> list[bytes]:
        if self._error is not None or self._stopped:
            return []
        out = self._start({}) + self._close()
        if self._finish_reason is None:
            self._finish_reason = "stop"
        usage = usage_mod.to_anthropic(self._usage or Usage())
        out.append(
            _event(
                "message_delta",
                {
                    "delta": {"stop_reason": self.finish_reason, "stop_sequence": None},
                    "usage": usage,
                },
            )
        )
        out.append(_event("message_stop", {}))
        self._stopped = True
        return out

    def fail(self, message: str, *, type: str = "api_error", code: str | None = None) -> list[bytes]:
        self._error = {"type": type, "message": message}
        return [encode_event({"type": "error", "error": self._error}, event="error")]

    # ------------------------------------------------------------------ event building
    def _start(self, chunk: JSON) -> list[bytes]:
        if self._started:
            return []
        self._started = True
        self._upstream_id = chunk.get("id")
        message_id = self._id or self._upstream_id or new_id("msg_")
        message: JSON = {
            "id": message_id,
            "type": "message",
            "role": "assistant",
            "model": self._model,
            "content": [],
            "stop_reason": None,
            "stop_sequence": None,
            # Chat reports usage only at the end; message_delta carries the real counts.
            "usage": {"input_tokens": 0, "output_tokens": 0},
        }
        return [_event("message_start", {"message": message})]

    def _text_delta(self, text: str) -> list[bytes]:
        out: list[bytes] = []
        if self._open_kind != "text":
            out += self._close()
            out += self._open_block({"type": "text", "text": ""}, "text")
        self._text.append(text)
        out.append(
            _event(
                "content_block_delta", {"index": self._open, "delta": {"type": "text_delta", "text": text}}
            )
        )
        return out

    def _tool_delta(self, call: JSON) -> list[bytes]:
        out: list[bytes] = []
        position = int(call.get("index", 0))
        function = call.get("function") or {}
        block = self._tool_blocks.get(position)
        if block is None:
            out += self._close()
            block_json: JSON = {
                "type": "tool_use",
                "id": call.get("id") or new_id("toolu_"),
                "name": function.get("name") or "",
                "input": {},
            }
            out += self._open_block(block_json, "tool_use")
            block = self._tool_blocks[position] = self._blocks - 1
        arguments = function.get("arguments")
        if arguments:
            # A delta for an earlier call still carries its own index, which Anthropic clients accept.
            delta = {"type": "input_json_delta", "partial_json": arguments}
            out.append(_event("content_block_delta", {"index": block, "delta": delta}))
        return out

    def _open_block(self, block: JSON, kind: str) -> list[bytes]:
        index = self._blocks
        self._blocks += 1
        self._open, self._open_kind = index, kind
        return [_event("content_block_start", {"index": index, "content_block": block})]

    def _close(self) -> list[bytes]:
        if self._open is None:
            return []
        index, self._open, self._open_kind = self._open, None, None
        return [_event("content_block_stop", {"index": index})]


def _event(kind: str, data: JSON) -> bytes:
    return encode_event({"type": kind, **data}, event=kind)


def _anthropic_type(error: JSON) -> str:
    kind = str(error.get("type") or "")
    if kind in (
        "invalid_request_error",
        "authentication_error",
        "permission_error",
        "not_found_error",
        "rate_limit_error",
        "overloaded_error",
        "api_error",
        "request_too_large",
    ):
        return kind
    return "api_error"
