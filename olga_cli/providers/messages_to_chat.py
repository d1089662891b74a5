"""Anthropic Messages caller, OpenAI Chat Completions provider.

``messages_request_to_chat`` turns a Messages request into a Chat request, ``chat_response_to_messages``
turns the Chat answer back, and ``ChatStreamToMessages`` turns Chat chunks into Anthropic's full event
sequence (message_start, content_block_start/delta/stop, message_delta, message_stop).

Choices made where the APIs differ (the policy table in ``policy.py`` lists every field):

- ``thinking`` and ``output_config.effort`` become ``reasoning_effort`` when the target reasons, and
  are dropped when it does not;
- thinking blocks in the history are dropped: they are the earlier model's private reasoning, which a
  Chat provider cannot take as input;
- hints (``cache_control``, ``context_management``, ``eager_input_streaming``, ``top_k``...) are
  dropped; server tools are withheld; each is listed in ``Notes``;
- a ``system`` message inside ``messages`` (a Claude Code beta) becomes a Chat system message in place;
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
from olga_cli.providers.policy import Notes, TargetTraits, clamp_max_tokens
from olga_cli.providers.reasoning import effort_of
from olga_cli.providers.translate_common import (
    CHAT_TO_ANTHROPIC_STOP,
    JSON,
    as_dict,
    as_list,
    data_url,
    dump_arguments,
    is_set,
    provider_tool_arguments,
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

_TRANSLATED = frozenset(
    {
        "model", "max_tokens", "messages", "system", "stop_sequences", "temperature", "top_p", "tools",
        "tool_choice", "metadata", "stream", "thinking", "output_config", "models",
    }
)  # fmt: skip
# Top-level fields dropped by rule (policy.MESSAGES_TO_CHAT), when present.
_DROPPED = ("context_management", "service_tier", "top_k", "cache_control", "mcp_servers", "container")
_TOOL_FIELDS = frozenset({"name", "description", "input_schema", "strict", "type"})
_TOOL_HINTS = ("eager_input_streaming", "defer_loading", "input_examples", "allowed_callers")


def messages_request_to_chat(
    body: JSON,
    *,
    upstream_model: str,
    max_tokens_field: MaxTokensField = "max_completion_tokens",
    notes: Notes | None = None,
    traits: TargetTraits | None = None,
) -> JSON:
    """An Anthropic Messages request body -> a Chat Completions request body for ``upstream_model``.

    ``max_tokens_field`` names the limit field the provider takes: OpenAI's current models want
    ``max_completion_tokens``; some OpenAI-compatible servers know only ``max_tokens``. ``notes``
    collects what was dropped; ``traits`` says whether the target reasons and its maximum output.
    """
    notes = notes if notes is not None else Notes("messages", "chat")
    traits = traits or TargetTraits()
    for name in body:
        if name in _DROPPED:
            if is_set(body[name]):
                notes.drop(name)
        elif name not in _TRANSLATED:
            notes.unknown(name)

    out: JSON = {"model": upstream_model, "messages": _system_messages(body.get("system"), notes)}
    for i, raw in enumerate(as_list(body.get("messages"), "messages")):
        out["messages"].extend(_translate_message(as_dict(raw, f"messages[{i}]"), f"messages[{i}]", notes))
    if isinstance(body.get("max_tokens"), int):
        out[max_tokens_field] = clamp_max_tokens(body["max_tokens"], traits, notes, "max_tokens")
    if body.get("stop_sequences"):
        out["stop"] = list(as_list(body["stop_sequences"], "stop_sequences"))
    for name in ("temperature", "top_p"):
        if body.get(name) is not None:
            out[name] = body[name]

    tools = [as_dict(tool, f"tools[{i}]") for i, tool in enumerate(as_list(body.get("tools") or [], "tools"))]
    sent = [_tool(tool, f"tools[{i}]", notes) for i, tool in enumerate(tools)]
    if any(t is not None for t in sent):
        out["tools"] = [t for t in sent if t is not None]
    choice = body.get("tool_choice")
    if choice is not None:
        _tool_choice(as_dict(choice, "tool_choice"), out, notes)

    output_config = body.get("output_config")
    effort_config = None
    if output_config is not None:
        output_config = as_dict(output_config, "output_config")
        effort_config = output_config
        for name in output_config:
            if name not in ("format", "effort"):
                notes.unknown(f"output_config.{name}")
        fmt = output_config.get("format")
        if fmt is not None:
            fmt = as_dict(fmt, "output_config.format")
            if fmt.get("type") != "json_schema" or not isinstance(fmt.get("schema"), dict):
                raise notes.refuse(
                    "output_config.format", "only a json_schema output format has an equivalent."
                )
            out["response_format"] = {
                "type": "json_schema",
                "json_schema": {"name": "response", "schema": fmt["schema"], "strict": True},
            }
    _reasoning(body.get("thinking"), effort_config, out, traits, notes)

    metadata = body.get("metadata")
    if metadata:
        metadata = as_dict(metadata, "metadata")
        if metadata.get("user_id"):
            out["user"] = str(metadata["user_id"])[:256]
        if any(name != "user_id" for name in metadata):
            notes.drop("metadata")
    if body.get("stream"):
        out["stream"] = True
        out["stream_options"] = {"include_usage": True}
    return out


def _reasoning(
    thinking: Any, output_config: JSON | None, out: JSON, traits: TargetTraits, notes: Notes
) -> None:
    """``thinking`` and ``output_config.effort`` -> ``reasoning_effort``, when the target reasons."""
    asked_thinking = isinstance(thinking, dict) and thinking.get("type") != "disabled"
    asked_effort = output_config is not None and output_config.get("effort") is not None
    if thinking is not None:
        as_dict(thinking, "thinking")
    effort = effort_of(thinking, output_config)
    if traits.reasoning and effort is not None:
        out["reasoning_effort"] = effort
        return
    if asked_thinking:
        notes.drop("thinking")
    if asked_effort:
        notes.drop("output_config.effort")


def _tool_choice(choice: JSON, out: JSON, notes: Notes) -> None:
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
        raise notes.refuse("tool_choice.type", f"tool_choice {kind!r} has no equivalent.")
    if choice.get("disable_parallel_tool_use") and out.get("tools"):
        out["parallel_tool_calls"] = False
    if "tools" not in out and out["tool_choice"] != "none":
        del out["tool_choice"]  # every tool was withheld: a choice among none would be refused upstream


def _system_messages(system: Any, notes: Notes) -> list[JSON]:
    if system is None or system == "":
        return []
    if isinstance(system, str):
        return [{"role": "system", "content": system}]
    parts = []
    for i, raw in enumerate(as_list(system, "system")):
        block = as_dict(raw, f"system[{i}]")
        if block.get("type") != "text":
            raise notes.refuse(f"system[{i}].type", "system blocks must be text.")
        if block.get("cache_control") is not None:
            notes.drop("cache_control")
        parts.append({"type": "text", "text": str(block.get("text", ""))})
    if len(parts) == 1:
        return [{"role": "system", "content": parts[0]["text"]}]
    return [{"role": "system", "content": parts}]


def _translate_message(message: JSON, param: str, notes: Notes) -> list[JSON]:
    role = message.get("role")
    content = message.get("content")
    if role == "system":  # a system message mid-conversation (a Messages beta): Chat has them too
        return _system_messages(content, notes)
    if role not in ("user", "assistant"):
        raise notes.refuse(f"{param}.role", f"unknown message role {role!r}; send user or assistant.")
    if isinstance(content, str):
        return [{"role": role, "content": content}]
    blocks = as_list(content, f"{param}.content")
    if role == "assistant":
        return [_assistant_message(blocks, f"{param}.content", notes)]

    out: list[JSON] = []
    pending: list[JSON] = []  # user parts waiting to become one user message
    from_tools: list[JSON] = []  # images returned by tools: shown in the user message after the results

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
        if block.get("cache_control") is not None:
            notes.drop("cache_control")
        if kind == "tool_result":
            flush()
            out.append(_tool_message(block, where, notes, from_tools))
        elif kind == "text":
            pending.append({"type": "text", "text": str(block.get("text", ""))})
        elif kind == "image":
            pending.append(_image_part(block, where, notes))
        elif kind == "document":
            pending.append(_document_part(block, where, notes))
        else:
            raise notes.refuse(
                f"{where}.type",
                f"content of type {kind!r} has no equivalent; send text, images, PDF documents or tool results.",
            )
    pending.extend(from_tools)
    flush()
    return out


_SERVER_BLOCKS = frozenset(
    {
        "server_tool_use", "web_search_tool_result", "web_fetch_tool_result", "code_execution_tool_result",
        "bash_code_execution_tool_result", "text_editor_code_execution_tool_result", "mcp_tool_use",
        "mcp_tool_result", "container_upload", "tool_search_tool_result",
    }
)  # fmt: skip


def _assistant_message(blocks: list[Any], param: str, notes: Notes) -> JSON:
    texts: list[str] = []
    calls: list[JSON] = []
    for j, raw in enumerate(blocks):
        block = as_dict(raw, f"{param}[{j}]")
        kind = block.get("type")
        if block.get("cache_control") is not None:
            notes.drop("cache_control")
        if kind == "text":
            texts.append(str(block.get("text", "")))
            if block.get("citations"):
                notes.drop("messages.citations")
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
            notes.drop("messages.thinking")
        elif kind in _SERVER_BLOCKS:
            notes.drop("messages.server_tool_use")
        else:
            raise notes.refuse(f"{param}[{j}].type", f"assistant content of type {kind!r} has no equivalent.")
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


def _tool_message(block: JSON, param: str, notes: Notes, images: list[JSON]) -> JSON:
    content = block.get("content", "")
    marker = TOOL_ERROR_MARKER if block.get("is_error") else ""
    if isinstance(content, str):
        text: Any = marker + content
    else:
        parts = []
        for k, raw in enumerate(as_list(content, f"{param}.content")):
            part = as_dict(raw, f"{param}.content[{k}]")
            if part.get("cache_control") is not None:
                notes.drop("cache_control")
            if part.get("type") == "image":
                # Chat tool messages hold text only: the image follows in the user message.
                images.append(_image_part(part, f"{param}.content[{k}]", notes))
                parts.append({"type": "text", "text": "[image shown below]"})
            elif part.get("type") == "text":
                parts.append({"type": "text", "text": str(part.get("text", ""))})
            else:
                raise notes.refuse(f"{param}.content[{k}].type", "tool results hold text and images only.")
        if marker:
            parts.insert(0, {"type": "text", "text": marker})
        text = parts[0]["text"] if len(parts) == 1 else parts
    return {"role": "tool", "tool_call_id": str(block.get("tool_use_id", "")), "content": text}


def _image_part(block: JSON, param: str, notes: Notes) -> JSON:
    source = as_dict(block.get("source"), f"{param}.source")
    if source.get("type") == "base64":
        url = data_url(str(source.get("media_type", "")), str(source.get("data", "")))
    elif source.get("type") == "url":
        url = str(source.get("url", ""))
    else:
        raise notes.refuse(
            f"{param}.source.type", "only base64 and URL images have an equivalent; send the image inline."
        )
    return {"type": "image_url", "image_url": {"url": url}}


def _document_part(block: JSON, param: str, notes: Notes) -> JSON:
    source = as_dict(block.get("source"), f"{param}.source")
    if block.get("citations"):
        notes.drop("messages.citations")
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
    raise notes.refuse(f"{param}.source", "only inline PDF and plain-text documents have an equivalent.")


def _tool(tool: JSON, param: str, notes: Notes) -> JSON | None:
    """A client tool as a Chat function tool; None for a server tool, which is withheld."""
    if tool.get("type") not in (None, "custom") or "input_schema" not in tool:
        notes.drop("tools.server")
        return None
    for name in tool:
        if name == "cache_control":
            notes.drop("cache_control")
        elif name in _TOOL_HINTS:
            notes.drop(f"tools.{name}")
        elif name not in _TOOL_FIELDS:
            notes.unknown(f"tools.{name}")
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
