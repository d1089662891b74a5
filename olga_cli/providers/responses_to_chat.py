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
from olga_cli.providers.chat_stream_to_responses import (
    ChatStreamToResponses,  # the stream half, re-exported
)
from olga_cli.providers.messages_to_chat import MaxTokensField
from olga_cli.providers.responses_objects import call_item, message_item, response_object, response_status
from olga_cli.providers.translate_common import (
    JSON,
    as_dict,
    as_list,
    is_set,
    new_id,
    now,
    refuse,
    refuse_unknown,
)
from olga_cli.providers.usage import Usage

__all__ = ["ChatStreamToResponses", "chat_response_to_responses", "responses_request_to_chat"]

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
        raise refuse(
            "store", "Responses cannot be stored by a provider that speaks another API; send `store: false`."
        )
    if body.get("truncation") not in (None, "disabled"):
        raise refuse(
            "truncation", 'Automatic truncation cannot be translated; send `truncation: "disabled"`.'
        )

    messages: list[JSON] = []
    if body.get("instructions"):
        messages.append({"role": "system", "content": str(body["instructions"])})
    messages.extend(_input_messages(body.get("input")))
    out: JSON = {"model": upstream_model, "messages": messages}

    if isinstance(body.get("max_output_tokens"), int):
        out[max_tokens_field] = body["max_output_tokens"]
    for name in (
        "temperature",
        "top_p",
        "parallel_tool_calls",
        "user",
        "safety_identifier",
        "prompt_cache_key",
        "prompt_cache_retention",
    ):
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
            raise refuse(
                "reasoning.summary", "Reasoning summaries cannot be translated; remove `reasoning.summary`."
            )
        refuse_unknown(
            reasoning,
            frozenset({"effort", "summary", "generate_summary"}),
            target="Chat Completions",
            prefix="reasoning.",
        )
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
                "function": {
                    "name": str(item.get("name", "")),
                    "arguments": str(item.get("arguments") or ""),
                },
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


def _tool(tool: JSON, param: str) -> JSON:
    if tool.get("type") != "function":
        raise refuse(
            f"{param}.type",
            f"Built-in tool {tool.get('type')!r} cannot be translated for this provider; send function tools.",
        )
    refuse_unknown(
        tool,
        frozenset({"type", "name", "description", "parameters", "strict"}),
        target="Chat Completions",
        prefix=f"{param}.",
    )
    function: JSON = {
        "name": str(tool.get("name", "")),
        "parameters": tool.get("parameters") or {"type": "object", "properties": {}},
    }
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
    raise refuse(
        "tool_choice", "Only auto, none, required or a named function tool_choice can be translated."
    )


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
    for call in message.get("tool_calls") or []:
        function = call.get("function") or {}
        output.append(
            call_item(
                new_id("fc_"),
                str(call.get("id", "")),
                str(function.get("name", "")),
                str(function.get("arguments") or ""),
                status="completed",
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
