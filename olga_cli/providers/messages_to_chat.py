"""Anthropic Messages caller, OpenAI Chat Completions provider.

``messages_request_to_chat`` turns a Messages request into a Chat request, ``chat_response_to_messages``
turns the Chat answer back, and ``ChatStreamToMessages`` turns Chat chunks into Anthropic's full event
sequence (message_start, content_block_start/delta/stop, message_delta, message_stop).

Choices made where the APIs differ:

- ``thinking`` (other than disabled), ``top_k``, ``output_config.effort`` and server tools are refused;
- thinking blocks in the history are dropped: they are the earlier model's private reasoning, which a
  Chat provider cannot take as input;
- ``cache_control`` is dropped (a caching hint; OpenAI caches prompts by itself);
- a tool_result with ``is_error`` keeps its flag as a leading ``[tool error]`` marker in the text, since
  Chat tool messages have no such field;
- ``output_config.format`` json_schema becomes ``response_format`` json_schema (strict, like Anthropic's);
- the stream asks the provider for ``stream_options.include_usage`` so that message_delta carries usage.
"""

from __future__ import annotations

from typing import Any, Literal

from olga_cli.providers import usage as usage_mod
from olga_cli.providers.chat_stream_to_messages import (
    ChatStreamToMessages,  # the stream half, re-exported
)
from olga_cli.providers.translate_common import (
    CHAT_TO_ANTHROPIC_STOP,
    JSON,
    as_dict,
    as_list,
    data_url,
    dump_arguments,
    is_set,
    provider_tool_arguments,
    refuse,
    refuse_unknown,
)
from olga_cli.providers.usage import Usage

__all__ = [
    "TOOL_ERROR_MARKER",
    "ChatStreamToMessages",
    "MaxTokensField",
    "chat_response_to_messages",
    "messages_request_to_chat",
]

TOOL_ERROR_MARKER = "[tool error] "

MaxTokensField = Literal["max_tokens", "max_completion_tokens"]

_KNOWN_FIELDS = frozenset(
    {
        "model", "max_tokens", "messages", "system", "stop_sequences", "temperature", "top_p", "top_k",
        "tools", "tool_choice", "metadata", "stream", "thinking", "output_config", "service_tier",
        "cache_control", "models",
    }
)  # fmt: skip
_KNOWN_TOOL_FIELDS = frozenset({"name", "description", "input_schema", "strict", "type", "cache_control"})


def messages_request_to_chat(
    body: JSON, *, upstream_model: str, max_tokens_field: MaxTokensField = "max_completion_tokens"
) -> JSON:
    """An Anthropic Messages request body -> a Chat Completions request body for ``upstream_model``.

    ``max_tokens_field`` names the limit field the provider takes: OpenAI's current models want
    ``max_completion_tokens``; some OpenAI-compatible servers know only ``max_tokens``.
    """
    refuse_unknown(body, _KNOWN_FIELDS, target="Chat Completions")
    if is_set(body.get("top_k")):
        raise refuse("top_k", "Chat Completions models do not take `top_k`; remove it or use `top_p`.")
    thinking = body.get("thinking")
    if thinking is not None and as_dict(thinking, "thinking").get("type") != "disabled":
        raise refuse(
            "thinking",
            "Extended thinking cannot be translated for a Chat Completions provider; remove `thinking` "
            "or route the request to an Anthropic model.",
        )

    out: JSON = {"model": upstream_model, "messages": _system_messages(body.get("system"))}
    for i, raw in enumerate(as_list(body.get("messages"), "messages")):
        out["messages"].extend(_translate_message(as_dict(raw, f"messages[{i}]"), f"messages[{i}]"))
    if isinstance(body.get("max_tokens"), int):
        out[max_tokens_field] = body["max_tokens"]
    if body.get("stop_sequences"):
        out["stop"] = list(as_list(body["stop_sequences"], "stop_sequences"))
    for name in ("temperature", "top_p"):
        if body.get(name) is not None:
            out[name] = body[name]

    tools = body.get("tools")
    if tools:
        out["tools"] = [_tool(as_dict(tool, f"tools[{i}]"), f"tools[{i}]") for i, tool in enumerate(tools)]
    choice = body.get("tool_choice")
    if choice is not None:
        choice = as_dict(choice, "tool_choice")
        kind = choice.get("type")
        if kind == "auto":
            out["tool_choice"] = "auto"
        elif kind == "any":
            out["tool_choice"] = "required"
        elif kind == "none":
            out["tool_choice"] = "none"
        elif kind == "tool":
            out["tool_choice"] = {"type": "function", "function": {"name": str(choice.get("name", ""))}}
        else:
            raise refuse("tool_choice.type", f"tool_choice {kind!r} cannot be translated.")
        if choice.get("disable_parallel_tool_use") and tools:
            out["parallel_tool_calls"] = False

    output_config = body.get("output_config")
    if output_config is not None:
        output_config = as_dict(output_config, "output_config")
        refuse_unknown(
            output_config, frozenset({"format"}), target="Chat Completions", prefix="output_config."
        )
        fmt = output_config.get("format")
        if fmt is not None:
            fmt = as_dict(fmt, "output_config.format")
            if fmt.get("type") != "json_schema" or not isinstance(fmt.get("schema"), dict):
                raise refuse("output_config.format", "Only a json_schema output format can be translated.")
            out["response_format"] = {
                "type": "json_schema",
                "json_schema": {"name": "response", "schema": fmt["schema"], "strict": True},
            }

    metadata = body.get("metadata")
    if metadata:
        metadata = as_dict(metadata, "metadata")
        refuse_unknown(metadata, frozenset({"user_id"}), target="Chat Completions", prefix="metadata.")
        if metadata.get("user_id"):
            out["user"] = str(metadata["user_id"])
    if body.get("stream"):
        out["stream"] = True
        out["stream_options"] = {"include_usage": True}
    return out


def _system_messages(system: Any) -> list[JSON]:
    if system is None or system == "":
        return []
    if isinstance(system, str):
        return [{"role": "system", "content": system}]
    parts = []
    for i, raw in enumerate(as_list(system, "system")):
        block = as_dict(raw, f"system[{i}]")
        if block.get("type") != "text":
            raise refuse(f"system[{i}].type", "System blocks must be text.")
        parts.append({"type": "text", "text": str(block.get("text", ""))})
    if len(parts) == 1:
        return [{"role": "system", "content": parts[0]["text"]}]
    return [{"role": "system", "content": parts}]


def _translate_message(message: JSON, param: str) -> list[JSON]:
    role = message.get("role")
    content = message.get("content")
    if role not in ("user", "assistant"):
        raise refuse(
            f"{param}.role", f"Unknown message role {role!r}; Anthropic messages are user or assistant."
        )
    if isinstance(content, str):
        return [{"role": role, "content": content}]
    blocks = as_list(content, f"{param}.content")
    if role == "assistant":
        return [_assistant_message(blocks, f"{param}.content")]

    out: list[JSON] = []
    pending: list[JSON] = []  # user parts waiting to become one user message

    def flush() -> None:
        if pending:
            if len(pending) == 1 and pending[0]["type"] == "text":
                out.append({"role": "user", "content": pending[0]["text"]})
            else:
                out.append({"role": "user", "content": list(pending)})
            pending.clear()

    for j, raw in enumerate(blocks):
        block = as_dict(raw, f"{param}.content[{j}]")
        kind = block.get("type")
        where = f"{param}.content[{j}]"
        if kind == "tool_result":
            flush()
            out.append(_tool_message(block, where))
        elif kind == "text":
            pending.append({"type": "text", "text": str(block.get("text", ""))})
        elif kind == "image":
            pending.append(_image_part(block, where))
        elif kind == "document":
            pending.append(_document_part(block, where))
        else:
            raise refuse(
                f"{where}.type",
                f"Content of type {kind!r} cannot be translated for a Chat Completions provider; send text, "
                "images, PDF documents or tool results.",
            )
    flush()
    return out


def _assistant_message(blocks: list[Any], param: str) -> JSON:
    texts: list[str] = []
    calls: list[JSON] = []
    for j, raw in enumerate(blocks):
        block = as_dict(raw, f"{param}[{j}]")
        kind = block.get("type")
        if kind == "text":
            texts.append(str(block.get("text", "")))
        elif kind == "tool_use":
            calls.append(
                {
                    "id": str(block.get("id", "")),
                    "type": "function",
                    "function": {
                        "name": str(block.get("name", "")),
                        "arguments": dump_arguments(block.get("input", {})),
                    },
                }
            )
        elif kind in ("thinking", "redacted_thinking"):
            continue  # an earlier model's private reasoning: a Chat provider cannot take it as input
        else:
            raise refuse(
                f"{param}[{j}].type",
                f"Assistant content of type {kind!r} cannot be translated for a Chat Completions provider.",
            )
    message: JSON = {"role": "assistant"}
    if len(texts) == 1:
        message["content"] = texts[0]
    elif texts:
        message["content"] = [{"type": "text", "text": text} for text in texts]
    else:
        message["content"] = None
    if calls:
        message["tool_calls"] = calls
    return message


def _tool_message(block: JSON, param: str) -> JSON:
    content = block.get("content", "")
    marker = TOOL_ERROR_MARKER if block.get("is_error") else ""
    if isinstance(content, str):
        text: Any = marker + content
    else:
        parts = []
        for k, raw in enumerate(as_list(content, f"{param}.content")):
            part = as_dict(raw, f"{param}.content[{k}]")
            if part.get("type") != "text":
                raise refuse(
                    f"{param}.content[{k}].type",
                    "Chat Completions tool results hold text only; send the image in a user message instead.",
                )
            parts.append({"type": "text", "text": str(part.get("text", ""))})
        if marker:
            parts.insert(0, {"type": "text", "text": marker})
        text = parts[0]["text"] if len(parts) == 1 else parts
    return {"role": "tool", "tool_call_id": str(block.get("tool_use_id", "")), "content": text}


def _image_part(block: JSON, param: str) -> JSON:
    source = as_dict(block.get("source"), f"{param}.source")
    if source.get("type") == "base64":
        url = data_url(str(source.get("media_type", "")), str(source.get("data", "")))
    elif source.get("type") == "url":
        url = str(source.get("url", ""))
    else:
        raise refuse(
            f"{param}.source.type", "Only base64 and URL images can be translated; send the image inline."
        )
    return {"type": "image_url", "image_url": {"url": url}}


def _document_part(block: JSON, param: str) -> JSON:
    source = as_dict(block.get("source"), f"{param}.source")
    if source.get("type") == "text":
        return {"type": "text", "text": str(source.get("data", ""))}
    if source.get("type") == "base64" and source.get("media_type") == "application/pdf":
        filename = str(block.get("title") or "document.pdf")
        return {
            "type": "file",
            "file": {
                "filename": filename,
                "file_data": data_url("application/pdf", str(source.get("data", ""))),
            },
        }
    raise refuse(f"{param}.source", "Only inline PDF and plain-text documents can be translated.")


def _tool(tool: JSON, param: str) -> JSON:
    if tool.get("type") not in (None, "custom"):
        raise refuse(
            f"{param}.type",
            f"Server tool {tool.get('type')!r} cannot be translated for a Chat Completions provider; "
            "send client tools with an input_schema.",
        )
    refuse_unknown(tool, _KNOWN_TOOL_FIELDS, target="Chat Completions", prefix=f"{param}.")
    function: JSON = {"name": str(tool.get("name", "")), "parameters": tool.get("input_schema") or {}}
    if tool.get("description"):
        function["description"] = tool["description"]
    if tool.get("strict") is not None:
        function["strict"] = bool(tool["strict"])
    return {"type": "function", "function": function}


# ---------------------------------------------------------------------------------------- responses


def chat_response_to_messages(resp: JSON, *, model: str) -> JSON:
    """A Chat Completion -> an Anthropic Message named ``model`` (the model the caller asked for)."""
    choices = resp.get("choices") or [{}]
    choice = choices[0]
    message = choice.get("message") or {}
    content: list[JSON] = []
    text = message.get("content")
    if isinstance(text, list):
        text = "".join(str(part.get("text", "")) for part in text if isinstance(part, dict))
    refusal = message.get("refusal")
    if text:
        content.append({"type": "text", "text": text})
    elif refusal:
        content.append({"type": "text", "text": str(refusal)})
    for call in message.get("tool_calls") or []:
        function = call.get("function") or {}
        content.append(
            {
                "type": "tool_use",
                "id": call.get("id"),
                "name": function.get("name"),
                "input": provider_tool_arguments(function.get("arguments")),
            }
        )
    stop_reason = CHAT_TO_ANTHROPIC_STOP.get(str(choice.get("finish_reason")), "end_turn")
    if refusal and not text:
        stop_reason = "refusal"
    usage = usage_mod.from_openai(resp.get("usage")) or Usage()
    return {
        "id": resp.get("id"),
        "type": "message",
        "role": "assistant",
        "model": model,
        "content": content,
        "stop_reason": stop_reason,
        "stop_sequence": None,
        "usage": usage_mod.to_anthropic(usage),
    }
