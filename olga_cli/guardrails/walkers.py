"""Where the text is in each API's bodies: every string the model will read or the user will get.

The walkers yield `TextSlot`s (a path for the record, plus the dict or list holding the string) so a
screen can read each text and, when redacting, write it back in place. They visit:

- Chat Completions request: `messages[].content` (string or text/refusal parts), assistant
  `refusal`, `tool_calls[].function.arguments` / `custom.input`, legacy `function_call.arguments`,
  tool results (role `tool` content), `prediction.content`; response: the same under
  `choices[].message`, plus `reasoning_content` some compatible providers send.
- Anthropic Messages request: `system` (string or text blocks), `messages[].content` (string or
  blocks: text, `tool_use.input` strings, `tool_result.content`, plain-text and content documents,
  search results, mid-conversation system blocks); response: `content[]` text, tool_use input and
  thinking.
- Responses request: `instructions`, `input` (string or items: messages, function/custom tool calls
  and their outputs, MCP calls, shell outputs), `prompt.variables`; response: `output[]` items, with
  reasoning summaries.
- Embeddings request: `input` strings (token arrays are not text).

Tool-call arguments are screened as the raw JSON string they travel as, which is also how they
stream; a redaction token contains no quote or backslash, so the JSON stays valid. Anything not text
(images, audio, files, encrypted reasoning, signatures) is skipped.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from olga_cli.guardrails.spec import Api


@dataclass(frozen=True, slots=True)
class TextSlot:
    """One string inside a body: `holder[key]`, named by `path` (e.g. `messages[1].content`)."""

    path: str
    holder: Any
    key: str | int

    def get(self) -> str:
        value: str = self.holder[self.key]
        return value

    def set(self, value: str) -> None:
        self.holder[self.key] = value


def _slot(holder: Any, key: str | int, path: str) -> Iterator[TextSlot]:
    if isinstance(holder, dict):
        if isinstance(key, str) and isinstance(holder.get(key), str):
            yield TextSlot(path, holder, key)
    elif isinstance(holder, list) and isinstance(key, int) and isinstance(holder[key], str):
        yield TextSlot(path, holder, key)


def _dicts(value: Any) -> Iterator[tuple[int, dict[str, Any]]]:
    if isinstance(value, list):
        for index, item in enumerate(value):
            if isinstance(item, dict):
                yield index, item


def _json_strings(holder: Any, key: str | int, path: str) -> Iterator[TextSlot]:
    """Every string inside a JSON value (Anthropic's `tool_use.input` is an object, not a string)."""
    value = holder[key]
    if isinstance(value, str):
        yield TextSlot(path, holder, key)
    elif isinstance(value, dict):
        for name in value:
            yield from _json_strings(value, name, f"{path}.{name}")
    elif isinstance(value, list):
        for index in range(len(value)):
            yield from _json_strings(value, index, f"{path}[{index}]")


# --- OpenAI Chat Completions -------------------------------------------------------------------


def _chat_content(message: dict[str, Any], key: str, path: str) -> Iterator[TextSlot]:
    content = message.get(key)
    if isinstance(content, str):
        yield TextSlot(f"{path}.{key}", message, key)
    else:
        for index, part in _dicts(content):
            yield from _slot(part, "text", f"{path}.{key}[{index}].text")
            yield from _slot(part, "refusal", f"{path}.{key}[{index}].refusal")


def _chat_message(message: dict[str, Any], path: str) -> Iterator[TextSlot]:
    yield from _chat_content(message, "content", path)
    yield from _slot(message, "refusal", f"{path}.refusal")
    yield from _slot(message, "reasoning_content", f"{path}.reasoning_content")
    for index, call in _dicts(message.get("tool_calls")):
        function = call.get("function")
        if isinstance(function, dict):
            yield from _slot(function, "arguments", f"{path}.tool_calls[{index}].function.arguments")
        custom = call.get("custom")
        if isinstance(custom, dict):
            yield from _slot(custom, "input", f"{path}.tool_calls[{index}].custom.input")
    legacy = message.get("function_call")
    if isinstance(legacy, dict):
        yield from _slot(legacy, "arguments", f"{path}.function_call.arguments")


def _chat_request(body: Mapping[str, Any]) -> Iterator[TextSlot]:
    for index, message in _dicts(body.get("messages")):
        yield from _chat_message(message, f"messages[{index}]")
    prediction = body.get("prediction")
    if isinstance(prediction, dict):
        yield from _chat_content(prediction, "content", "prediction")


def _chat_response(body: Mapping[str, Any]) -> Iterator[TextSlot]:
    for index, choice in _dicts(body.get("choices")):
        message = choice.get("message")
        if isinstance(message, dict):
            yield from _chat_message(message, f"choices[{index}].message")
        yield from _slot(choice, "text", f"choices[{index}].text")


# --- Anthropic Messages ------------------------------------------------------------------------


def _anthropic_blocks(holder: dict[str, Any], key: str, path: str, *, output: bool) -> Iterator[TextSlot]:
    value = holder.get(key)
    here = f"{path}.{key}" if path else key
    if isinstance(value, str):
        yield TextSlot(here, holder, key)
        return
    for index, block in _dicts(value):
        yield from _anthropic_block(block, f"{here}[{index}]", output=output)


def _anthropic_block(block: dict[str, Any], path: str, *, output: bool) -> Iterator[TextSlot]:
    kind = block.get("type")
    if kind == "text":
        yield from _slot(block, "text", f"{path}.text")
    elif kind in ("tool_use", "server_tool_use", "mcp_tool_use") and "input" in block:
        yield from _json_strings(block, "input", f"{path}.input")
    elif kind in ("tool_result", "mcp_tool_result", "search_result", "mid_conv_system"):
        if kind == "search_result":
            yield from _slot(block, "title", f"{path}.title")
        yield from _anthropic_blocks(block, "content", path, output=output)
    elif kind == "document":
        yield from _slot(block, "title", f"{path}.title")
        yield from _slot(block, "context", f"{path}.context")
        source = block.get("source")
        if isinstance(source, dict):
            if source.get("type") == "text":
                yield from _slot(source, "data", f"{path}.source.data")
            elif source.get("type") == "content":
                yield from _anthropic_blocks(source, "content", f"{path}.source", output=output)
    elif kind == "thinking" and output:
        # Earlier turns' thinking is signed and sent back unchanged, so it is only screened where the
        # user first receives it: in the response.
        yield from _slot(block, "thinking", f"{path}.thinking")


def _messages_request(body: Mapping[str, Any]) -> Iterator[TextSlot]:
    if isinstance(body, dict):
        yield from _anthropic_blocks(body, "system", "", output=False)
    for index, message in _dicts(body.get("messages")):
        yield from _anthropic_blocks(message, "content", f"messages[{index}]", output=False)


def _messages_response(body: Mapping[str, Any]) -> Iterator[TextSlot]:
    for index, block in _dicts(body.get("content")):
        yield from _anthropic_block(block, f"content[{index}]", output=True)


# --- OpenAI Responses --------------------------------------------------------------------------


def _responses_parts(holder: dict[str, Any], key: str, path: str) -> Iterator[TextSlot]:
    value = holder.get(key)
    if isinstance(value, str):
        yield TextSlot(f"{path}.{key}", holder, key)
        return
    for index, part in _dicts(value):
        yield from _slot(part, "text", f"{path}.{key}[{index}].text")
        yield from _slot(part, "refusal", f"{path}.{key}[{index}].refusal")


def _responses_item(item: dict[str, Any], path: str, *, output: bool) -> Iterator[TextSlot]:
    kind = item.get("type")
    if kind == "message" or (kind is None and "role" in item):
        yield from _responses_parts(item, "content", path)
    elif kind in ("function_call", "mcp_call", "mcp_approval_request"):
        yield from _slot(item, "arguments", f"{path}.arguments")
        if kind == "mcp_call":
            yield from _slot(item, "output", f"{path}.output")
    elif kind == "custom_tool_call":
        yield from _slot(item, "input", f"{path}.input")
    elif kind in (
        "function_call_output",
        "custom_tool_call_output",
        "local_shell_call_output",
        "apply_patch_call_output",
    ):
        yield from _responses_parts(item, "output", path)
    elif kind == "shell_call_output":
        for index, chunk in _dicts(item.get("output")):
            yield from _slot(chunk, "stdout", f"{path}.output[{index}].stdout")
            yield from _slot(chunk, "stderr", f"{path}.output[{index}].stderr")
    elif kind == "reasoning" and output:
        # Reasoning sent back as input is replayed from its encrypted form, not read from here.
        for index, part in _dicts(item.get("summary")):
            yield from _slot(part, "text", f"{path}.summary[{index}].text")
        for index, part in _dicts(item.get("content")):
            yield from _slot(part, "text", f"{path}.content[{index}].text")


def _responses_items(holder: dict[str, Any], key: str, path: str, *, output: bool) -> Iterator[TextSlot]:
    value = holder.get(key)
    if isinstance(value, str):
        yield TextSlot(path, holder, key)
        return
    for index, item in _dicts(value):
        yield from _responses_item(item, f"{path}[{index}]", output=output)


def _responses_request(body: Mapping[str, Any]) -> Iterator[TextSlot]:
    if not isinstance(body, dict):
        return
    yield from _responses_items(body, "instructions", "instructions", output=False)
    yield from _responses_items(body, "input", "input", output=False)
    prompt = body.get("prompt")
    if isinstance(prompt, dict) and isinstance(prompt.get("variables"), dict):
        variables = prompt["variables"]
        for name, value in variables.items():
            if isinstance(value, str):
                yield TextSlot(f"prompt.variables.{name}", variables, name)
            elif isinstance(value, dict):
                yield from _slot(value, "text", f"prompt.variables.{name}.text")


def _responses_response(body: Mapping[str, Any]) -> Iterator[TextSlot]:
    for index, item in _dicts(body.get("output")):
        yield from _responses_item(item, f"output[{index}]", output=True)


def responses_output_item(item: dict[str, Any], output_index: int) -> Iterator[TextSlot]:
    """The texts of one Responses output item (as a stream's `response.output_item.done` carries)."""
    yield from _responses_item(item, f"output[{output_index}]", output=True)


def drop_logprobs(api: Api, body: Any) -> None:
    """Remove token log-probabilities from a response or stream event: each token's text would
    repeat what a redaction removed (and in a stream, what is still held back)."""
    if not isinstance(body, dict):
        return
    if api == "chat":
        for _, choice in _dicts(body.get("choices")):
            if choice.get("logprobs") is not None:
                choice["logprobs"] = None
    elif api == "responses":
        # A text delta/done event, a content part, an output item, or a whole response.
        parts: list[dict[str, Any]] = [body]
        for key in ("part", "item", "response"):
            if isinstance(body.get(key), dict):
                parts.append(body[key])
        items = [p for p in parts if "content" in p]
        for holder in parts:
            items += [item for _, item in _dicts(holder.get("output"))]
        for item in items:
            parts += [part for _, part in _dicts(item.get("content"))]
        for part in parts:
            if isinstance(part.get("logprobs"), list):
                part["logprobs"] = []


# --- Embeddings --------------------------------------------------------------------------------


def _embeddings_request(body: Mapping[str, Any]) -> Iterator[TextSlot]:
    value = body.get("input")
    if isinstance(value, str) and isinstance(body, dict):
        yield TextSlot("input", body, "input")
    elif isinstance(value, list):
        for index in range(len(value)):
            yield from _slot(value, index, f"input[{index}]")


def _nothing(body: Mapping[str, Any]) -> Iterator[TextSlot]:
    return iter(())


_REQUEST_WALKERS = {
    "chat": _chat_request,
    "messages": _messages_request,
    "responses": _responses_request,
    "embeddings": _embeddings_request,
}
_RESPONSE_WALKERS = {
    "chat": _chat_response,
    "messages": _messages_response,
    "responses": _responses_response,
    "embeddings": _nothing,
}


def request_texts(api: Api, body: Mapping[str, Any]) -> Iterator[TextSlot]:
    """Every text the model will read in a request body of `api`."""
    return _REQUEST_WALKERS[api](body)


def response_texts(api: Api, body: Mapping[str, Any]) -> Iterator[TextSlot]:
    """Every text the user will get in a (non-streamed) response body of `api`."""
    return _RESPONSE_WALKERS[api](body)
