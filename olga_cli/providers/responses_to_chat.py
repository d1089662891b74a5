"""OpenAI Responses caller, Chat Completions provider (and, composed with ``chat_to_messages``,
an Anthropic provider: see ``responses_to_messages``).

``responses_request_to_chat`` translates a Responses request: ``input`` as a string or as message,
function_call and function_call_output items; ``instructions``; function and ``namespace`` tools
(flattened, see ``namespaces``); ``tool_choice``; ``parallel_tool_calls``; ``max_output_tokens``;
``temperature``/``top_p``; ``text.format``; ``reasoning.effort``; ``user``; ``stream``. Hints
(``include``, ``store``, ``client_metadata``, ``reasoning.summary``...) are dropped, built-in tools
withheld, each noted (``policy.RESPONSES_TO_CHAT``); what needs OpenAI's own server state
(``previous_response_id``, ``conversation``, ``background``, stored ``prompt``) is refused.
Developer messages become system messages: the OpenAI-compatible servers this serves know no other.

``chat_response_to_responses`` builds the Response object; ``ChatStreamToResponses`` produces the
Responses event sequence, every event numbered with ``sequence_number``. Both echo the request's
settings (instructions, tools, temperature, metadata...) in the Response object, as OpenAI does.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from olga_cli.providers import item_memory, namespaces
from olga_cli.providers import usage as usage_mod
from olga_cli.providers.chat_stream_to_responses import (
    ChatStreamToResponses,  # the stream half, re-exported
)
from olga_cli.providers.messages_to_chat import MaxTokensField
from olga_cli.providers.policy import Notes, TargetTraits, clamp_max_tokens
from olga_cli.providers.reasoning import decode_thinking
from olga_cli.providers.responses_objects import call_item, message_item, response_object, response_status
from olga_cli.providers.translate_common import (
    JSON,
    as_dict,
    as_list,
    is_set,
    new_id,
    now,
    refuse,
)
from olga_cli.providers.usage import Usage

__all__ = ["ChatStreamToResponses", "chat_response_to_responses", "responses_request_to_chat"]

_TRANSLATED = frozenset(
    {
        "model", "input", "instructions", "tools", "tool_choice", "parallel_tool_calls",
        "max_output_tokens", "temperature", "top_p", "text", "stream", "user", "safety_identifier",
        "reasoning", "models",
    }
)  # fmt: skip
_DROPPED = (
    "include", "store", "client_metadata", "prompt_cache_key", "prompt_cache_retention", "service_tier",
    "metadata", "truncation", "stream_options", "max_tool_calls",
)  # fmt: skip

_REFUSED = {
    "previous_response_id": (
        "olga keeps no Responses state for a provider of another API; send the whole conversation in "
        "`input` instead of `previous_response_id`."
    ),
    "conversation": "conversations are stored by OpenAI only; send the whole conversation in `input`.",
    "background": "background responses need OpenAI; remove `background` and wait for the answer.",
    "prompt": "stored prompts live at OpenAI only; send the prompt text in `instructions` and `input`.",
    "top_logprobs": "the target returns no log probabilities; remove `top_logprobs`.",
}


def responses_request_to_chat(
    body: JSON,
    *,
    upstream_model: str,
    max_tokens_field: MaxTokensField = "max_completion_tokens",
    notes: Notes | None = None,
    traits: TargetTraits | None = None,
    carry_thinking: bool = False,
) -> JSON:
    """A Responses request body -> a Chat Completions request body for ``upstream_model``.

    ``carry_thinking``: olga's own reasoning items become ``olga_thinking`` on the assistant message
    they precede (for the Anthropic step that follows); otherwise reasoning items are dropped.
    """
    notes = notes if notes is not None else Notes("responses", "chat")
    traits = traits or TargetTraits()
    for name, value in body.items():
        if name in _REFUSED:
            if is_set(value):
                raise notes.refuse(name, _REFUSED[name])
        elif name in _DROPPED:
            if is_set(value) and not (name == "truncation" and value == "disabled"):
                notes.drop(name)
        elif name not in _TRANSLATED:
            notes.unknown(name)

    messages: list[JSON] = []
    if body.get("instructions"):
        messages.append({"role": "system", "content": str(body["instructions"])})
    messages.extend(_input_messages(body.get("input"), notes, carry_thinking))
    out: JSON = {"model": upstream_model, "messages": messages}

    if isinstance(body.get("max_output_tokens"), int):
        out[max_tokens_field] = clamp_max_tokens(
            body["max_output_tokens"], traits, notes, "max_output_tokens"
        )
    for name in ("temperature", "top_p", "parallel_tool_calls", "user", "safety_identifier"):
        if body.get(name) is not None:
            out[name] = body[name]

    tools = body.get("tools")
    if tools:
        sent = [
            t
            for i, tool in enumerate(as_list(tools, "tools"))
            for t in _tools(as_dict(tool, f"tools[{i}]"), notes)
        ]
        if sent:
            out["tools"] = sent
        elif out.pop("parallel_tool_calls", None) is not None:
            pass  # no tool left: parallel_tool_calls alone would be refused upstream
    if body.get("tool_choice") is not None and "tools" in out:
        out["tool_choice"] = _tool_choice(body["tool_choice"], notes)

    text = body.get("text")
    if text is not None:
        text = as_dict(text, "text")
        if text.get("verbosity") is not None:
            notes.drop("text.verbosity")
        for name in text:
            if name not in ("format", "verbosity"):
                notes.unknown(f"text.{name}")
        response_format = _response_format(text.get("format"), notes)
        if response_format is not None:
            out["response_format"] = response_format

    reasoning = body.get("reasoning")
    if reasoning is not None:
        _reasoning(as_dict(reasoning, "reasoning"), out, traits, notes)

    if body.get("stream"):
        out["stream"] = True
        out["stream_options"] = {"include_usage": True}
    return out


def _reasoning(reasoning: JSON, out: JSON, traits: TargetTraits, notes: Notes) -> None:
    for name in ("summary", "generate_summary"):
        if is_set(reasoning.get(name)):
            notes.drop(f"reasoning.{name}")
    for name in reasoning:
        if name not in ("effort", "summary", "generate_summary"):
            notes.unknown(f"reasoning.{name}")
    effort = reasoning.get("effort")
    if effort is not None:
        if traits.reasoning:
            out["reasoning_effort"] = effort
        elif effort not in ("none", "minimal"):
            notes.drop("reasoning.effort")


_DROPPED_ITEMS = {
    "web_search_call": "input.web_search_call",
    "custom_tool_call": "tools.custom",
    "custom_tool_call_output": "tools.custom",
}


def _referenced(item: JSON, param: str, notes: Notes) -> JSON:
    found = item_memory.recall(item.get("id"))
    if found is None:
        raise notes.refuse(
            f"{param}.id",
            f"item {item.get('id')!r} is not one olga holds (it keeps the items of the answers it made "
            "as long as their records); send the item itself instead of a reference",
        )
    return found


def _input_messages(value: Any, notes: Notes, carry_thinking: bool) -> list[JSON]:
    if value is None:
        return []
    if isinstance(value, str):
        return [{"role": "user", "content": value}]
    out: list[JSON] = []
    thinking: list[JSON] = []  # reasoning carried over, for the next assistant message

    def assistant() -> JSON:
        last = out[-1] if out else None
        if last is None or last["role"] != "assistant":
            last = {"role": "assistant", "content": None}
            out.append(last)
        if thinking:
            last["olga_thinking"] = [*last.get("olga_thinking", []), *thinking]
            thinking.clear()
        return last

    for i, raw in enumerate(as_list(value, "input")):
        param = f"input[{i}]"
        item = as_dict(raw, param)
        kind = item.get("type", "message" if "role" in item else None)
        if kind == "item_reference":  # an item of an earlier answer olga translated, by its id
            item = _referenced(item, param, notes)
            kind = item.get("type")
        if kind == "message":
            message = _message(item, param, notes)
            if message["role"] == "assistant" and thinking:
                message["olga_thinking"] = list(thinking)
                thinking.clear()
            out.append(message)
        elif kind == "function_call":
            name = str(item.get("name", ""))
            if item.get("namespace"):
                name = namespaces.flat_name(str(item["namespace"]), name)
            call = {
                "id": str(item.get("call_id") or ""),
                "type": "function",
                "function": {"name": name, "arguments": str(item.get("arguments") or "")},
            }
            assistant().setdefault("tool_calls", []).append(call)
        elif kind == "function_call_output":
            output = item.get("output", "")
            if not isinstance(output, str):
                output = _text_parts(output, f"{param}.output", allowed={"input_text", "output_text"})
            out.append({"role": "tool", "tool_call_id": str(item.get("call_id") or ""), "content": output})
        elif kind == "reasoning":
            block = decode_thinking(item.get("encrypted_content")) if carry_thinking else None
            if block is None:
                notes.drop("input.reasoning")
            else:
                thinking.append(block)
        elif kind in _DROPPED_ITEMS:
            notes.drop(_DROPPED_ITEMS[kind])
        else:
            raise notes.refuse(
                f"{param}.type",
                f"input items of type {kind!r} have no equivalent; send messages, function_call and "
                "function_call_output items.",
            )
    return out


def _message(item: JSON, param: str, notes: Notes) -> JSON:
    role = item.get("role")
    if role not in ("user", "assistant", "system", "developer"):
        raise notes.refuse(f"{param}.role", f"unknown message role {role!r}.")
    if role == "developer":
        role = "system"  # the servers this serves (and Anthropic, next step) know system instructions only
    content = item.get("content")
    if isinstance(content, str):
        return {"role": role, "content": content}
    if role == "assistant":
        parts = _text_parts(content, f"{param}.content", allowed={"output_text", "input_text", "refusal"})
        return {"role": "assistant", "content": parts[0]["text"] if len(parts) == 1 else parts}
    if role == "system":
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
                raise refuse(
                    f"{where}.file_id", "Images uploaded to OpenAI cannot be translated; send `image_url`."
                )
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
            raise refuse(
                f"{param}[{j}].type", f"Content of type {part.get('type')!r} cannot be used here; send text."
            )
        parts.append({"type": "text", "text": str(part.get("text", part.get("refusal", "")))})
    return parts


_BUILT_IN_SEARCH = frozenset({"web_search", "web_search_preview", "web_search_2025_08_26"})


def _tools(tool: JSON, notes: Notes) -> list[JSON]:
    """A Responses tool as Chat function tools: one, several (a namespace), or none (withheld)."""
    kind = tool.get("type")
    if kind == "namespace":
        notes.drop("tools.namespace")
        return [_function(inner, notes) for inner in namespaces.flatten(tool)]
    if kind == "function":
        return [_function(tool, notes)]
    if kind in _BUILT_IN_SEARCH:
        notes.drop("tools.web_search")
    elif kind == "custom":
        notes.drop("tools.custom")
    else:
        notes.drop("tools.server")
    return []


def _function(tool: JSON, notes: Notes) -> JSON:
    for name in tool:
        if name not in ("type", "name", "description", "parameters", "strict"):
            notes.unknown(f"tools.{name}")
    function: JSON = {
        "name": str(tool.get("name", "")),
        "parameters": tool.get("parameters") or {"type": "object", "properties": {}},
    }
    if tool.get("description"):
        function["description"] = tool["description"]
    if tool.get("strict") is not None:
        function["strict"] = bool(tool["strict"])
    return {"type": "function", "function": function}


def _tool_choice(choice: Any, notes: Notes) -> Any:
    if choice in ("auto", "none", "required"):
        return choice
    if isinstance(choice, dict) and choice.get("type") == "function" and choice.get("name"):
        return {"type": "function", "function": {"name": str(choice["name"])}}
    if isinstance(choice, dict) and choice.get("type") in _BUILT_IN_SEARCH:
        notes.drop("tools.web_search")
        return "auto"
    raise notes.refuse(
        "tool_choice", "only auto, none, required or a named function tool_choice has an equivalent."
    )


def _response_format(fmt: Any, notes: Notes) -> JSON | None:
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
    raise notes.refuse("text.format.type", f"text format {kind!r} has no equivalent.")


# ---------------------------------------------------------------------------------------- responses


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
        output.append(message_item(new_id("msg_"), content, refusal=False, status="completed"))
    elif message.get("refusal"):
        output.append(message_item(new_id("msg_"), str(message["refusal"]), refusal=True, status="completed"))
    names = namespaces.name_map(request)
    for call in message.get("tool_calls") or []:
        function = call.get("function") or {}
        output.append(
            call_item(
                new_id("fc_"),
                str(call.get("id", "")),
                str(function.get("name", "")),
                str(function.get("arguments") or ""),
                status="completed",
                names=names,
            )
        )
    status, incomplete = response_status(choice.get("finish_reason"))
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
