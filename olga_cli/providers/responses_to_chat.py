"""OpenAI Responses caller, Chat Completions provider (and, composed with ``chat_to_messages``,
an Anthropic provider: see ``responses_to_messages``).

``responses_request_to_chat`` translates the common subset of a Responses request: ``input`` as a
string or as message, function_call and function_call_output items; ``instructions``; function
``tools``; ``tool_choice``; ``parallel_tool_calls``; ``max_output_tokens``; ``temperature``/``top_p``;
``text.format``; ``reasoning.effort``; ``user``; ``stream``. Everything that needs OpenAI's own
server state or tools (``previous_response_id``, ``conversation``, ``background``, ``store: true``,
built-in tools, reasoning items, ``include``...) is refused with the field named.

``chat_response_to_responses`` builds the Response object; ``ChatStreamToResponses`` produces the
Responses event sequence, every event numbered with ``sequence_number``. Both echo the request's
settings (instructions, tools, temperature, metadata...) in the Response object, as OpenAI does.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from olga_cli.providers import usage as usage_mod
from olga_cli.providers.messages_to_chat import MaxTokensField
from olga_cli.providers.sse import SSEEvent, encode_event
from olga_cli.providers.translate_common import (
    JSON,
    as_dict,
    as_list,
    chunk_json,
    is_set,
    new_id,
    now,
    refuse,
    refuse_unknown,
)
from olga_cli.providers.usage import Usage

_KNOWN_FIELDS = frozenset(
    {
        "model", "input", "instructions", "tools", "tool_choice", "parallel_tool_calls",
        "max_output_tokens", "temperature", "top_p", "text", "stream", "stream_options", "user",
        "safety_identifier", "metadata", "store", "reasoning", "truncation", "service_tier",
        "prompt_cache_key", "prompt_cache_retention", "include", "previous_response_id", "background",
        "conversation", "prompt", "max_tool_calls", "top_logprobs", "models",
    }
)  # fmt: skip

_REFUSED = {
    "previous_response_id": (
        "olga does not keep Responses state for a provider that speaks another API; send the whole "
        "conversation in `input` instead of `previous_response_id`."
    ),
    "conversation": "Conversations are stored by OpenAI only; send the whole conversation in `input`.",
    "background": "Background responses cannot be translated; remove `background` and wait for the answer.",
    "prompt": "Stored prompts live at OpenAI only; send the prompt text in `instructions` and `input`.",
    "include": "Extra output (`include`) cannot be translated; remove `include`.",
    "max_tool_calls": "`max_tool_calls` cannot be translated; remove it.",
    "top_logprobs": "Log probabilities cannot be translated; remove `top_logprobs`.",
}


def responses_request_to_chat(
    body: JSON, *, upstream_model: str, max_tokens_field: MaxTokensField = "max_completion_tokens"
) -> JSON:
    """A Responses request body -> a Chat Completions request body for ``upstream_model``."""
    refuse_unknown(body, _KNOWN_FIELDS, target="Chat Completions")
    for field, message in _REFUSED.items():
        if is_set(body.get(field)):
            raise refuse(field, message)
    if body.get("store") is True:
        raise refuse("store", "Responses cannot be stored by a provider that speaks another API; send `store: false`.")
    if body.get("truncation") not in (None, "disabled"):
        raise refuse("truncation", "Automatic truncation cannot be translated; send `truncation: \"disabled\"`.")

    messages: list[JSON] = []
    if body.get("instructions"):
        messages.append({"role": "system", "content": str(body["instructions"])})
    messages.extend(_input_messages(body.get("input")))
    out: JSON = {"model": upstream_model, "messages": messages}

    if isinstance(body.get("max_output_tokens"), int):
        out[max_tokens_field] = body["max_output_tokens"]
    for name in ("temperature", "top_p", "parallel_tool_calls", "user", "safety_identifier",
                 "prompt_cache_key", "prompt_cache_retention"):  # fmt: skip
        if body.get(name) is not None:
            out[name] = body[name]
    if body.get("service_tier") is not None:
        out["service_tier"] = body["service_tier"]

    tools = body.get("tools")
    if tools:
        out["tools"] = [_tool(as_dict(tool, f"tools[{i}]"), f"tools[{i}]") for i, tool in enumerate(tools)]
    if body.get("tool_choice") is not None:
        out["tool_choice"] = _tool_choice(body["tool_choice"])

    text = body.get("text")
    if text is not None:
        text = as_dict(text, "text")
        refuse_unknown(text, frozenset({"format", "verbosity"}), target="Chat Completions", prefix="text.")
        if text.get("verbosity") is not None:
            out["verbosity"] = text["verbosity"]
        response_format = _response_format(text.get("format"))
        if response_format is not None:
            out["response_format"] = response_format

    reasoning = body.get("reasoning")
    if reasoning is not None:
        reasoning = as_dict(reasoning, "reasoning")
        if is_set(reasoning.get("summary")) or is_set(reasoning.get("generate_summary")):
            raise refuse("reasoning.summary", "Reasoning summaries cannot be translated; remove `reasoning.summary`.")
        refuse_unknown(reasoning, frozenset({"effort", "summary", "generate_summary"}), target="Chat Completions",
                       prefix="reasoning.")  # fmt: skip
        if reasoning.get("effort") is not None:
            out["reasoning_effort"] = reasoning["effort"]

    if body.get("stream"):
        out["stream"] = True
        out["stream_options"] = {"include_usage": True}
    return out


def _input_messages(value: Any) -> list[JSON]:
    if value is None:
        return []
    if isinstance(value, str):
        return [{"role": "user", "content": value}]
    out: list[JSON] = []
    for i, raw in enumerate(as_list(value, "input")):
        param = f"input[{i}]"
        item = as_dict(raw, param)
        kind = item.get("type", "message" if "role" in item else None)
        if kind == "message":
            out.append(_message(item, param))
        elif kind == "function_call":
            call = {
                "id": str(item.get("call_id") or ""),
                "type": "function",
                "function": {"name": str(item.get("name", "")), "arguments": str(item.get("arguments") or "")},
            }
            last = out[-1] if out else None
            if last is not None and last["role"] == "assistant":
                last.setdefault("tool_calls", []).append(call)
            else:
                out.append({"role": "assistant", "content": None, "tool_calls": [call]})
        elif kind == "function_call_output":
            output = item.get("output", "")
            if not isinstance(output, str):
                output = _text_parts(output, f"{param}.output", allowed={"input_text", "output_text"})
            out.append({"role": "tool", "tool_call_id": str(item.get("call_id") or ""), "content": output})
        else:
            raise refuse(
                f"{param}.type",
                f"Input items of type {kind!r} cannot be translated; send messages, function_call and "
                "function_call_output items.",
            )
    return out


def _message(item: JSON, param: str) -> JSON:
    role = item.get("role")
    if role not in ("user", "assistant", "system", "developer"):
        raise refuse(f"{param}.role", f"Unknown message role {role!r}.")
    content = item.get("content")
    if isinstance(content, str):
        return {"role": role, "content": content}
    if role == "assistant":
        parts = _text_parts(content, f"{param}.content", allowed={"output_text", "input_text", "refusal"})
        return {"role": "assistant", "content": parts[0]["text"] if len(parts) == 1 else parts}
    if role in ("system", "developer"):
        parts = _text_parts(content, f"{param}.content", allowed={"input_text"})
        return {"role": role, "content": parts[0]["text"] if len(parts) == 1 else parts}
    chat_parts: list[JSON] = []
    for j, raw in enumerate(as_list(content, f"{param}.content")):
        where = f"{param}.content[{j}]"
        part = as_dict(raw, where)
        kind = part.get("type")
        if kind == "input_text":
            chat_parts.append({"type": "text", "text": str(part.get("text", ""))})
        elif kind == "input_image":
            if not part.get("image_url"):
                raise refuse(f"{where}.file_id", "Images uploaded to OpenAI cannot be translated; send `image_url`.")
            image: JSON = {"url": str(part["image_url"])}
            if part.get("detail") not in (None, "auto"):
                image["detail"] = part["detail"]
            chat_parts.append({"type": "image_url", "image_url": image})
        elif kind == "input_file":
            if not part.get("file_data"):
                raise refuse(f"{where}.file_id", "Only inline files (`file_data`) can be translated.")
            file: JSON = {"file_data": str(part["file_data"])}
            if part.get("filename"):
                file["filename"] = str(part["filename"])
            chat_parts.append({"type": "file", "file": file})
        else:
            raise refuse(f"{where}.type", f"Content of type {kind!r} cannot be translated.")
    return {"role": "user", "content": chat_parts}


def _text_parts(content: Any, param: str, *, allowed: set[str]) -> list[JSON]:
    parts: list[JSON] = []
    for j, raw in enumerate(as_list(content, param)):
        part = as_dict(raw, f"{param}[{j}]")
        if part.get("type") not in allowed:
            raise refuse(f"{param}[{j}].type", f"Content of type {part.get('type')!r} cannot be used here; send text.")
        parts.append({"type": "text", "text": str(part.get("text", part.get("refusal", "")))})
    return parts


def _tool(tool: JSON, param: str) -> JSON:
    if tool.get("type") != "function":
        raise refuse(
            f"{param}.type",
            f"Built-in tool {tool.get('type')!r} cannot be translated for this provider; send function tools.",
        )
    refuse_unknown(tool, frozenset({"type", "name", "description", "parameters", "strict"}),
                   target="Chat Completions", prefix=f"{param}.")  # fmt: skip
    function: JSON = {"name": str(tool.get("name", "")), "parameters": tool.get("parameters") or {"type": "object", "properties": {}}}
    if tool.get("description"):
        function["description"] = tool["description"]
    if tool.get("strict") is not None:
        function["strict"] = bool(tool["strict"])
    return {"type": "function", "function": function}


def _tool_choice(choice: Any) -> Any:
    if choice in ("auto", "none", "required"):
        return choice
    if isinstance(choice, dict) and choice.get("type") == "function" and choice.get("name"):
        return {"type": "function", "function": {"name": str(choice["name"])}}
    raise refuse("tool_choice", "Only auto, none, required or a named function tool_choice can be translated.")


def _response_format(fmt: Any) -> JSON | None:
    if fmt is None:
        return None
    fmt = as_dict(fmt, "text.format")
    kind = fmt.get("type")
    if kind == "text":
        return None
    if kind == "json_object":
        return {"type": "json_object"}
    if kind == "json_schema":
        spec: JSON = {"name": str(fmt.get("name") or "response"), "schema": fmt.get("schema") or {}}
        for name in ("description", "strict"):
            if fmt.get(name) is not None:
                spec[name] = fmt[name]
        return {"type": "json_schema", "json_schema": spec}
    raise refuse("text.format.type", f"Text format {kind!r} cannot be translated.")


# ---------------------------------------------------------------------------------------- responses


def _status(finish_reason: str | None) -> tuple[str, JSON | None]:
    if finish_reason == "length":
        return "incomplete", {"reason": "max_output_tokens"}
    if finish_reason == "content_filter":
        return "incomplete", {"reason": "content_filter"}
    return "completed", None


def responses_usage(usage: Usage) -> JSON:
    body = usage_mod.to_responses(usage)
    body["input_tokens_details"]["cache_write_tokens"] = usage.cache_write_tokens
    return body


def response_object(
    request: Mapping[str, Any],
    *,
    response_id: str,
    model: str,
    created_at: int,
    status: str,
    output: list[JSON],
    usage: Usage | None,
    incomplete_details: JSON | None = None,
    error: JSON | None = None,
) -> JSON:
    """A Response object echoing ``request``'s settings, as OpenAI returns it."""
    text: JSON = request["text"] if isinstance(request.get("text"), dict) else {}
    reasoning: JSON = request["reasoning"] if isinstance(request.get("reasoning"), dict) else {}
    return {
        "id": response_id,
        "object": "response",
        "created_at": created_at,
        "status": status,
        "background": False,
        "error": error,
        "incomplete_details": incomplete_details,
        "instructions": request.get("instructions"),
        "max_output_tokens": request.get("max_output_tokens"),
        "max_tool_calls": None,
        "model": model,
        "output": output,
        "parallel_tool_calls": request.get("parallel_tool_calls", True),
        "previous_response_id": None,
        "reasoning": {"effort": reasoning.get("effort"), "summary": None},
        "service_tier": request.get("service_tier") or "default",
        "store": False,
        "temperature": request.get("temperature", 1.0),
        "text": {"format": {"type": "text"}, "verbosity": "medium", **text},
        "tool_choice": request.get("tool_choice", "auto"),
        "tools": list(request.get("tools") or []),
        "top_p": request.get("top_p", 1.0),
        "truncation": "disabled",
        "usage": responses_usage(usage) if usage is not None else None,
        "user": request.get("user"),
        "metadata": dict(request.get("metadata") or {}),
    }


def _message_item(item_id: str, text: str, *, refusal: bool, status: str) -> JSON:
    part: JSON = (
        {"type": "refusal", "refusal": text}
        if refusal
        else {"type": "output_text", "text": text, "annotations": [], "logprobs": []}
    )
    return {"id": item_id, "type": "message", "status": status, "role": "assistant", "content": [part]}


def _call_item(item_id: str, call_id: str, name: str, arguments: str, *, status: str) -> JSON:
    return {"id": item_id, "type": "function_call", "status": status, "arguments": arguments,
            "call_id": call_id, "name": name}  # fmt: skip


def chat_response_to_responses(
    resp: JSON, *, model: str, request: Mapping[str, Any], created_at: int | None = None
) -> JSON:
    """A Chat Completion -> a Response object named ``model``, echoing ``request``'s settings."""
    choice = (resp.get("choices") or [{}])[0]
    message = choice.get("message") or {}
    output: list[JSON] = []
    content = message.get("content")
    if isinstance(content, list):
        content = "".join(str(part.get("text", "")) for part in content if isinstance(part, dict))
    if content:
        output.append(_message_item(new_id("msg_"), content, refusal=False, status="completed"))
    elif message.get("refusal"):
        output.append(_message_item(new_id("msg_"), str(message["refusal"]), refusal=True, status="completed"))
    for call in message.get("tool_calls") or []:
        function = call.get("function") or {}
        output.append(
            _call_item(new_id("fc_"), str(call.get("id", "")), str(function.get("name", "")),
                       str(function.get("arguments") or ""), status="completed")  # fmt: skip
        )
    status, incomplete = _status(choice.get("finish_reason"))
    return response_object(
        request,
        response_id=str(resp.get("id") or new_id("resp_")),
        model=model,
        created_at=created_at if created_at is not None else int(resp.get("created") or now()),
        status=status,
        output=output,
        usage=usage_mod.from_openai(resp.get("usage")) or Usage(),
        incomplete_details=incomplete,
    )


class _Item:
    """One output item under construction in the stream."""

    __slots__ = ("call_id", "done", "id", "index", "kind", "name", "refusal", "text")

    def __init__(self, kind: str, item_id: str, index: int, *, call_id: str = "", name: str = "") -> None:
        self.kind, self.id, self.index = kind, item_id, index
        self.call_id, self.name = call_id, name
        self.text = ""  # output text, or function-call arguments
        self.refusal = False
        self.done = False

    def json(self, status: str) -> JSON:
        if self.kind == "message":
            return _message_item(self.id, self.text, refusal=self.refusal, status=status)
        return _call_item(self.id, self.call_id, self.name, self.text, status=status)


class ChatStreamToResponses:
    """Chat Completion chunks in, the Responses event sequence (encoded SSE) out."""

    def __init__(self, model: str, request: Mapping[str, Any], *, created_at: int | None = None) -> None:
        self._model = model
        self._request = request
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
            return self.fail(str(error.get("message", "")), type=str(error.get("type") or "api_error"),
                             code=error.get("code"))  # fmt: skip
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
        status, incomplete = _status(self._finish_reason)
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
        output = [item.json("completed" if item.done else ("incomplete" if final else "in_progress"))
                  for item in self._items] if final else []  # fmt: skip
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
        return [self._event("response.output_item.added", {"output_index": item.index, "item": _added_json(item)})]

    def _text(self, text: str, *, refusal: bool) -> list[bytes]:
        out = self._close_call()
        item = self._message
        if item is None:
            item = self._message = _Item("message", new_id("msg_"), len(self._items))
            item.refusal = refusal
            out += self._add_item(item)
            part: JSON = {"type": "refusal", "refusal": ""} if refusal else {
                "type": "output_text", "text": "", "annotations": [], "logprobs": []}  # fmt: skip
            out.append(self._event("response.content_part.added",
                                   {"item_id": item.id, "output_index": item.index, "content_index": 0, "part": part}))  # fmt: skip
        item.text += text
        if item.refusal:
            out.append(self._event("response.refusal.delta",
                                   {"item_id": item.id, "output_index": item.index, "content_index": 0, "delta": text}))  # fmt: skip
        else:
            out.append(self._event("response.output_text.delta", {
                "item_id": item.id, "output_index": item.index, "content_index": 0, "delta": text, "logprobs": []}))  # fmt: skip
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
        out.append(self._event("response.output_item.done", {"output_index": item.index, "item": item.json("completed")}))
        return out

    def _call(self, call: JSON) -> list[bytes]:
        position = int(call.get("index", 0))
        function = call.get("function") or {}
        item = self._calls.get(position)
        out: list[bytes] = []
        if item is None:
            out += self._close_message() + self._close_call()
            item = _Item("function_call", new_id("fc_"), len(self._items),
                         call_id=str(call.get("id") or new_id("call_")), name=str(function.get("name") or ""))  # fmt: skip
            self._calls[position] = self._open_call = item
            out += self._add_item(item)
        arguments = function.get("arguments")
        if arguments:
            item.text += arguments
            if not item.done:
                out.append(self._event("response.function_call_arguments.delta",
                                       {"item_id": item.id, "output_index": item.index, "delta": arguments}))  # fmt: skip
            # A late delta for a call already done (never sent by OpenAI) still reaches the final response.
        return out

    def _close_call(self) -> list[bytes]:
        item = self._open_call
        if item is None:
            return []
        self._open_call = None
        item.done = True
        return [
            self._event("response.function_call_arguments.done",
                        {"item_id": item.id, "output_index": item.index, "name": item.name, "arguments": item.text}),  # fmt: skip
            self._event("response.output_item.done", {"output_index": item.index, "item": item.json("completed")}),
        ]


def _added_json(item: _Item) -> JSON:
    if item.kind == "message":
        return {"id": item.id, "type": "message", "status": "in_progress", "role": "assistant", "content": []}
    return _call_item(item.id, item.call_id, item.name, "", status="in_progress")
