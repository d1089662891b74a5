"""OpenAI Chat Completion chunks in, the OpenAI Responses event sequence (encoded SSE) out.

response.created and response.in_progress open the stream; a text run is a message item
(output_item.added, content_part.added, output_text.delta..., output_text.done, content_part.done,
output_item.done); each tool call is a function_call item (output_item.added,
function_call_arguments.delta..., function_call_arguments.done, output_item.done); the stream ends
with response.completed (or response.incomplete for a length or content-filter stop) carrying usage.
Every event is numbered with ``sequence_number``. ``fail`` sends ``error`` then ``response.failed``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from olga_cli.providers import namespaces
from olga_cli.providers import usage as usage_mod
from olga_cli.providers.reasoning import reasoning_item
from olga_cli.providers.responses_objects import call_item, message_item, response_object, response_status
from olga_cli.providers.sse import SSEEvent, encode_event
from olga_cli.providers.translate_common import JSON, chunk_json, new_id, now
from olga_cli.providers.usage import Usage


class _Item:
    """One output item under construction in the stream."""

    __slots__ = ("call_id", "done", "id", "index", "kind", "name", "refusal", "text")

    def __init__(self, kind: str, item_id: str, index: int, *, call_id: str = "", name: str = "") -> None:
        self.kind, self.id, self.index = kind, item_id, index
        self.call_id, self.name = call_id, name
        self.text = ""  # output text, or function-call arguments
        self.refusal = False
        self.done = False

    def json(self, status: str, names: Mapping[str, tuple[str, str]]) -> JSON:
        if self.kind == "message":
            return message_item(self.id, self.text, refusal=self.refusal, status=status)
        return call_item(self.id, self.call_id, self.name, self.text, status=status, names=names)


class ChatStreamToResponses:
    """Chat Completion chunks in, the Responses event sequence (encoded SSE) out."""

    def __init__(self, model: str, request: Mapping[str, Any], *, created_at: int | None = None) -> None:
        self._model = model
        self._request = request
        self._names = namespaces.name_map(request)  # flattened namespace tools, mapped back
        self._reasoning: list[tuple[int, JSON]] = []  # (output index, reasoning item) carried over
        self._created_at = created_at if created_at is not None else now()
        self._id: str | None = None
        self._upstream_id: str | None = None
        self._seq = 0
        self._items: list[_Item] = []
        self._message: _Item | None = None  # the message item still open
        self._calls: dict[int, _Item] = {}  # Chat tool_calls index -> item
        self._open_call: _Item | None = None
        self._usage: Usage | None = None
        self._finish_reason: str | None = None
        self._started = False
        self._completed = False
        self._error: JSON | None = None

    @property
    def usage(self) -> Usage | None:
        return self._usage

    @property
    def finish_reason(self) -> str | None:
        return self._finish_reason

    @property
    def upstream_id(self) -> str | None:
        return self._upstream_id

    @property
    def text(self) -> str:
        return "".join(item.text for item in self._items if item.kind == "message")

    @property
    def error(self) -> JSON | None:
        return self._error

    def feed(self, event: SSEEvent) -> list[bytes]:
        chunk = chunk_json(event)
        if chunk is None or self._error is not None:
            return []
        return self.feed_chunk(chunk)

    def feed_chunk(self, chunk: JSON) -> list[bytes]:
        if self._error is not None or self._completed:
            return []
        if isinstance(chunk.get("error"), dict):
            error = chunk["error"]
            return self.fail(
                str(error.get("message", "")),
                type=str(error.get("type") or "api_error"),
                code=error.get("code"),
            )
        out = self._start(chunk)
        if chunk.get("usage"):
            self._usage = usage_mod.from_openai(chunk["usage"])
        for choice in chunk.get("choices") or []:
            if choice.get("index", 0) != 0:
                continue
            delta = choice.get("delta") or {}
            if delta.get("content"):
                out += self._text(str(delta["content"]), refusal=False)
            if delta.get("refusal"):
                out += self._text(str(delta["refusal"]), refusal=True)
            if isinstance(delta.get("olga_thinking"), dict):
                out += self._thinking(delta["olga_thinking"])
            for call in delta.get("tool_calls") or []:
                out += self._call(call)
            if choice.get("finish_reason"):
                self._finish_reason = choice["finish_reason"]
        return out

    def finish(self, *, usage: Usage | None = None) -> list[bytes]:
        """Close the stream; ``usage`` overrides the counts from the chunks (a composed translator's)."""
        if self._error is not None or self._completed:
            return []
        if usage is not None:
            self._usage = usage
        out = self._start({}) + self._close_message() + self._close_call()
        self._completed = True
        status, incomplete = response_status(self._finish_reason)
        response = self._response(status, usage=self._usage or Usage(), incomplete_details=incomplete)
        kind = "response.completed" if status == "completed" else "response.incomplete"
        out.append(self._event(kind, {"response": response}))
        return out

    def fail(self, message: str, *, type: str = "api_error", code: str | None = None) -> list[bytes]:
        """An ``error`` event, then ``response.failed`` holding the output produced so far."""
        out = self._start({})
        self._error = {"code": code or type, "message": message}
        out.append(self._event("error", {"code": code or type, "message": message, "param": None}))
        response = self._response("failed", usage=self._usage, error=dict(self._error))
        out.append(self._event("response.failed", {"response": response}))
        return out

    # ------------------------------------------------------------------ event building
    def _event(self, kind: str, data: JSON) -> bytes:
        body = {"type": kind, **data, "sequence_number": self._seq}
        self._seq += 1
        return encode_event(body, event=kind)

    def _response(self, status: str, *, usage: Usage | None, **extra: Any) -> JSON:
        final = status != "in_progress"
        output = (
            [
                item.json(
                    "completed" if item.done else ("incomplete" if final else "in_progress"), self._names
                )
                for item in self._items
            ]
            if final
            else []
        )
        for index, reasoning in self._reasoning if final else []:
            output.insert(index, reasoning)
        return response_object(
            self._request,
            response_id=self._id or "",
            model=self._model,
            created_at=self._created_at,
            status=status,
            output=output,
            usage=usage,
            **extra,
        )

    def _start(self, chunk: JSON) -> list[bytes]:
        if self._started:
            return []
        self._started = True
        self._upstream_id = chunk.get("id")
        self._id = self._upstream_id or new_id("resp_")
        response = self._response("in_progress", usage=None)
        return [
            self._event("response.created", {"response": response}),
            self._event("response.in_progress", {"response": response}),
        ]

    def _add_item(self, item: _Item) -> list[bytes]:
        self._items.append(item)
        added = _added_json(item, self._names)
        return [self._event("response.output_item.added", {"output_index": item.index, "item": added})]

    def _next_index(self) -> int:
        return len(self._items) + len(self._reasoning)

    def _thinking(self, block: JSON) -> list[bytes]:
        """A thinking block carried over as a reasoning item (``reasoning``), added and done at once."""
        out = self._close_message() + self._close_call()
        index = self._next_index()
        item = reasoning_item(new_id("rs_"), block)
        self._reasoning.append((index, item))
        out.append(self._event("response.output_item.added", {"output_index": index, "item": item}))
        out.append(self._event("response.output_item.done", {"output_index": index, "item": item}))
        return out

    def _text(self, text: str, *, refusal: bool) -> list[bytes]:
        out = self._close_call()
        item = self._message
        if item is None:
            item = self._message = _Item("message", new_id("msg_"), self._next_index())
            item.refusal = refusal
            out += self._add_item(item)
            part: JSON = (
                {"type": "refusal", "refusal": ""}
                if refusal
                else {"type": "output_text", "text": "", "annotations": [], "logprobs": []}
            )
            out.append(
                self._event(
                    "response.content_part.added",
                    {"item_id": item.id, "output_index": item.index, "content_index": 0, "part": part},
                )
            )
        item.text += text
        if item.refusal:
            out.append(
                self._event(
                    "response.refusal.delta",
                    {"item_id": item.id, "output_index": item.index, "content_index": 0, "delta": text},
                )
            )
        else:
            out.append(
                self._event(
                    "response.output_text.delta",
                    {
                        "item_id": item.id,
                        "output_index": item.index,
                        "content_index": 0,
                        "delta": text,
                        "logprobs": [],
                    },
                )
            )
        return out

    def _close_message(self) -> list[bytes]:
        item = self._message
        if item is None:
            return []
        self._message = None
        item.done = True
        where = {"item_id": item.id, "output_index": item.index, "content_index": 0}
        if item.refusal:
            out = [self._event("response.refusal.done", {**where, "refusal": item.text})]
            part: JSON = {"type": "refusal", "refusal": item.text}
        else:
            out = [self._event("response.output_text.done", {**where, "text": item.text, "logprobs": []})]
            part = {"type": "output_text", "text": item.text, "annotations": [], "logprobs": []}
        out.append(self._event("response.content_part.done", {**where, "part": part}))
        out.append(
            self._event(
                "response.output_item.done",
                {"output_index": item.index, "item": item.json("completed", self._names)},
            )
        )
        return out

    def _call(self, call: JSON) -> list[bytes]:
        position = int(call.get("index", 0))
        function = call.get("function") or {}
        item = self._calls.get(position)
        out: list[bytes] = []
        if item is None:
            out += self._close_message() + self._close_call()
            item = _Item(
                "function_call",
                new_id("fc_"),
                self._next_index(),
                call_id=str(call.get("id") or new_id("call_")),
                name=str(function.get("name") or ""),
            )
            self._calls[position] = self._open_call = item
            out += self._add_item(item)
        arguments = function.get("arguments")
        if arguments:
            item.text += arguments
            if not item.done:
                out.append(
                    self._event(
                        "response.function_call_arguments.delta",
                        {"item_id": item.id, "output_index": item.index, "delta": arguments},
                    )
                )
            # A late delta for a call already done (never sent by OpenAI) still reaches the final response.
        return out

    def _close_call(self) -> list[bytes]:
        item = self._open_call
        if item is None:
            return []
        self._open_call = None
        item.done = True
        return [
            self._event(
                "response.function_call_arguments.done",
                {"item_id": item.id, "output_index": item.index, "name": item.name, "arguments": item.text},
            ),
            self._event(
                "response.output_item.done",
                {"output_index": item.index, "item": item.json("completed", self._names)},
            ),
        ]


def _added_json(item: _Item, names: Mapping[str, tuple[str, str]]) -> JSON:
    if item.kind == "message":
        return {"id": item.id, "type": "message", "status": "in_progress", "role": "assistant", "content": []}
    return call_item(item.id, item.call_id, item.name, "", status="in_progress", names=names)
