"""OpenAI Chat Completions caller, Anthropic Messages provider.

``chat_request_to_messages`` turns a Chat request into a Messages request, ``messages_response_to_chat``
turns the Messages answer back, and ``MessagesStreamToChat`` turns a Messages event stream into Chat
chunks as they arrive.

Choices made where the APIs differ:

- every ``system``/``developer`` message goes into the top-level ``system`` (Anthropic has no other
  place for instructions), in order;
- consecutive ``tool`` results, and any user content right after them, become one user message;
  adjacent turns of the same role are joined, as Anthropic itself would join them;
- ``response_format`` json_schema becomes ``output_config.format`` (Anthropic's structured outputs);
  ``json_object`` has no schema-free equivalent and is refused;
- ``n`` > 1, logprobs, penalties, ``seed``, audio, predicted outputs and ``reasoning_effort`` are
  refused; a ``temperature`` above 1 is refused (Anthropic's range is 0..1);
- hints that change nothing in the answer are dropped: ``prompt_cache_key``,
  ``prompt_cache_retention``, ``stream_options.include_obfuscation``, image ``detail``, ``store: false``;
- thinking blocks in the answer are not shown as content (Chat has no place for them).
"""

from __future__ import annotations

from typing import Any

from olga_cli.providers import usage as usage_mod
from olga_cli.providers.messages_stream_to_chat import (
    MessagesStreamToChat,  # the stream half, re-exported
)
from olga_cli.providers.translate_common import (
    ANTHROPIC_IMAGE_TYPES,
    ANTHROPIC_TO_CHAT_FINISH,
    JSON,
    as_dict,
    as_list,
    dump_arguments,
    is_set,
    now,
    parse_data_url,
    parse_tool_arguments,
    refuse,
    refuse_unknown,
    text_of_parts,
)
from olga_cli.providers.usage import Usage

__all__ = ["MessagesStreamToChat", "chat_request_to_messages", "messages_response_to_chat"]

_KNOWN_FIELDS = frozenset(
    {
        "model", "messages", "max_tokens", "max_completion_tokens", "stop", "temperature", "top_p",
        "tools", "tool_choice", "parallel_tool_calls", "response_format", "stream", "stream_options",
        "user", "safety_identifier", "n", "logprobs", "top_logprobs", "frequency_penalty",
        "presence_penalty", "seed", "logit_bias", "audio", "modalities", "prediction", "reasoning_effort",
        "store", "metadata", "service_tier", "functions", "function_call", "web_search_options",
        "verbosity", "prompt_cache_key", "prompt_cache_retention", "moderation", "prompt_cache_options",
        # olga's own fallback list; the gateway reads it, the provider never sees it.
        "models",
    }
)  # fmt: skip

# Fields with a value that can only be refused: (field, what to do instead).
_REFUSED = {
    "logprobs": "Anthropic models do not return log probabilities; remove `logprobs`.",
    "top_logprobs": "Anthropic models do not return log probabilities; remove `top_logprobs`.",
    "frequency_penalty": "Anthropic models have no frequency penalty; remove `frequency_penalty`.",
    "presence_penalty": "Anthropic models have no presence penalty; remove `presence_penalty`.",
    "seed": "Anthropic models do not take a seed; remove `seed`.",
    "logit_bias": "Anthropic models do not take a logit bias; remove `logit_bias`.",
    "audio": "Anthropic models do not produce audio; remove `audio`.",
    "prediction": "Anthropic models do not take predicted outputs; remove `prediction`.",
    "reasoning_effort": (
        "`reasoning_effort` cannot be translated for an Anthropic model; remove it, or call the model "
        "through /v1/messages with `thinking`."
    ),
    "metadata": "Anthropic keeps no stored-completion metadata; remove `metadata` (use `user` to tag the user).",
    "functions": "The legacy `functions` field is not translated; send `tools` instead.",
    "function_call": "The legacy `function_call` field is not translated; send `tool_choice` instead.",
    "web_search_options": "Web search cannot be translated for an Anthropic model; remove `web_search_options`.",
    "verbosity": "Anthropic models do not take `verbosity`; remove it.",
    "moderation": "Moderation cannot be translated for an Anthropic model; remove `moderation`.",
    "prompt_cache_options": "`prompt_cache_options` cannot be translated; remove it.",
}
_ON_WHEN_PRESENT = frozenset({"web_search_options", "audio", "prediction"})


def chat_request_to_messages(body: JSON, *, upstream_model: str, default_max_tokens: int) -> JSON:
    """A Chat Completions request body -> an Anthropic Messages request body for ``upstream_model``."""
    refuse_unknown(body, _KNOWN_FIELDS, target="Anthropic Messages")
    for field, message in _REFUSED.items():
        # An empty web_search_options or audio object still switches the feature on.
        present = body.get(field) is not None if field in _ON_WHEN_PRESENT else is_set(body.get(field))
        if present:
            raise refuse(field, message)
    n = body.get("n")
    if n is not None and n != 1:
        raise refuse("n", "Anthropic models return one choice per request; send `n: 1` or leave it out.")
    if body.get("store") is True:
        raise refuse("store", "Completions cannot be stored by an Anthropic provider; remove `store`.")
    modalities = body.get("modalities")
    if modalities is not None and list(modalities) != ["text"]:
        raise refuse("modalities", 'Anthropic models answer in text only; send `modalities: ["text"]`.')
    if body.get("service_tier") not in (None, "auto", "default"):
        raise refuse(
            "service_tier", "Only the default service tier can be translated; remove `service_tier`."
        )

    system, messages = _translate_messages(as_list(body.get("messages"), "messages"))
    out: JSON = {"model": upstream_model}
    max_tokens = body.get("max_completion_tokens", body.get("max_tokens"))
    out["max_tokens"] = max_tokens if isinstance(max_tokens, int) else default_max_tokens
    if system:
        out["system"] = system[0]["text"] if len(system) == 1 else system
    out["messages"] = messages

    stop = body.get("stop")
    if stop is not None:
        out["stop_sequences"] = [stop] if isinstance(stop, str) else list(as_list(stop, "stop"))
    temperature = body.get("temperature")
    if temperature is not None:
        if temperature > 1:
            raise refuse(
                "temperature", "Anthropic models take a temperature between 0 and 1; lower `temperature`."
            )
        out["temperature"] = temperature
    if body.get("top_p") is not None:
        out["top_p"] = body["top_p"]

    tools = body.get("tools")
    if tools:
        out["tools"] = [_tool(tool, f"tools[{i}]") for i, tool in enumerate(as_list(tools, "tools"))]
    tool_choice = _tool_choice(body.get("tool_choice"), body.get("parallel_tool_calls"))
    if tool_choice is not None:
        out["tool_choice"] = tool_choice

    output_format = _output_format(body.get("response_format"))
    if output_format is not None:
        out["output_config"] = {"format": output_format}

    user = body.get("user") or body.get("safety_identifier")
    if user:
        out["metadata"] = {"user_id": str(user)}
    if body.get("stream"):
        out["stream"] = True
    return out


def _translate_messages(items: list[Any]) -> tuple[list[JSON], list[JSON]]:
    system: list[JSON] = []
    turns: list[JSON] = []  # {"role", "content": [blocks]}, merged by role at the end

    for i, raw in enumerate(items):
        param = f"messages[{i}]"
        message = as_dict(raw, param)
        role = message.get("role")
        if message.get("name"):
            raise refuse(f"{param}.name", "Anthropic messages carry no participant name; remove `name`.")
        content = message.get("content")
        if role in ("system", "developer"):
            text = text_of_parts(content, f"{param}.content")
            system.append({"type": "text", "text": text})
        elif role == "user":
            turns.append({"role": "user", "content": _user_blocks(content, f"{param}.content")})
        elif role == "assistant":
            turns.append({"role": "assistant", "content": _assistant_blocks(message, param)})
        elif role == "tool":
            block: JSON = {"type": "tool_result", "tool_use_id": str(message.get("tool_call_id") or "")}
            if not block["tool_use_id"]:
                raise refuse(f"{param}.tool_call_id", "A tool message needs the `tool_call_id` it answers.")
            if isinstance(content, str):
                block["content"] = content
            else:
                block["content"] = [
                    {"type": "text", "text": text_of_parts([part], f"{param}.content")}
                    for part in as_list(content, f"{param}.content")
                ]
            turns.append({"role": "user", "content": [block]})
        elif role == "function":
            raise refuse(
                f"{param}.role", "Legacy `function` messages are not translated; send `tool` messages."
            )
        else:
            raise refuse(f"{param}.role", f"Unknown message role {role!r}.")

    merged: list[JSON] = []
    for turn in turns:
        if merged and merged[-1]["role"] == turn["role"]:
            merged[-1]["content"].extend(turn["content"])
        else:
            merged.append({"role": turn["role"], "content": list(turn["content"])})
    for turn in merged:
        # A lone text block reads better (and costs nothing) as a plain string.
        blocks = turn["content"]
        if len(blocks) == 1 and blocks[0]["type"] == "text" and set(blocks[0]) == {"type", "text"}:
            turn["content"] = blocks[0]["text"]
    return system, merged


def _user_blocks(content: Any, param: str) -> list[JSON]:
    if isinstance(content, str):
        return [{"type": "text", "text": content}]
    blocks: list[JSON] = []
    for j, raw in enumerate(as_list(content, param)):
        part = as_dict(raw, f"{param}[{j}]")
        kind = part.get("type")
        if kind == "text":
            blocks.append({"type": "text", "text": str(part.get("text", ""))})
        elif kind == "image_url":
            blocks.append(_image_block(part.get("image_url"), f"{param}[{j}].image_url"))
        elif kind == "file":
            blocks.append(_document_block(part.get("file"), f"{param}[{j}].file"))
        else:
            raise refuse(
                f"{param}[{j}].type",
                f"Content of type {kind!r} cannot be translated for an Anthropic model; send text, "
                "images or PDF files.",
            )
    return blocks


def _image_block(image: Any, param: str) -> JSON:
    # `detail` is a resolution hint that Anthropic does not take; dropping it changes no content.
    image = {"url": image} if isinstance(image, str) else as_dict(image, param)
    url = str(image.get("url", ""))
    if url.startswith("data:"):
        media_type, data = parse_data_url(url, f"{param}.url")
        if media_type not in ANTHROPIC_IMAGE_TYPES:
            raise refuse(
                f"{param}.url",
                f"Anthropic models take JPEG, PNG, GIF or WebP images, not {media_type!r}; convert the image.",
            )
        return {"type": "image", "source": {"type": "base64", "media_type": media_type, "data": data}}
    if url.startswith(("http://", "https://")):
        return {"type": "image", "source": {"type": "url", "url": url}}
    raise refuse(f"{param}.url", "An image must be an http(s) URL or a base64 data URL.")


def _document_block(file: Any, param: str) -> JSON:
    file = as_dict(file, param)
    file_data = file.get("file_data")
    if not isinstance(file_data, str):
        raise refuse(
            f"{param}.file_id" if file.get("file_id") else param,
            "Files uploaded to OpenAI cannot be read by an Anthropic model; send the PDF inline as `file_data`.",
        )
    media_type, data = parse_data_url(file_data, f"{param}.file_data")
    if media_type != "application/pdf":
        raise refuse(f"{param}.file_data", "Anthropic models read inline PDF files only; send a PDF.")
    block: JSON = {"type": "document", "source": {"type": "base64", "media_type": media_type, "data": data}}
    if file.get("filename"):
        block["title"] = str(file["filename"])
    return block


def _assistant_blocks(message: JSON, param: str) -> list[JSON]:
    if message.get("audio"):
        raise refuse(f"{param}.audio", "Assistant audio cannot be translated for an Anthropic model.")
    if message.get("function_call"):
        raise refuse(f"{param}.function_call", "Legacy `function_call` is not translated; send `tool_calls`.")
    blocks: list[JSON] = []
    content = message.get("content")
    if isinstance(content, list):
        for j, raw in enumerate(content):
            text = text_of_parts([raw], f"{param}.content[{j}]", allowed=frozenset({"text", "refusal"}))
            if text:
                blocks.append({"type": "text", "text": text})
    elif content:
        blocks.append({"type": "text", "text": str(content)})
    if message.get("refusal") and not content:
        blocks.append({"type": "text", "text": str(message["refusal"])})
    for k, raw in enumerate(message.get("tool_calls") or []):
        call = as_dict(raw, f"{param}.tool_calls[{k}]")
        if call.get("type", "function") != "function":
            raise refuse(f"{param}.tool_calls[{k}].type", "Only function tool calls can be translated.")
        function = as_dict(call.get("function"), f"{param}.tool_calls[{k}].function")
        blocks.append(
            {
                "type": "tool_use",
                "id": str(call.get("id", "")),
                "name": str(function.get("name", "")),
                "input": parse_tool_arguments(
                    function.get("arguments"), f"{param}.tool_calls[{k}].function.arguments"
                ),
            }
        )
    return blocks


def _tool(raw: Any, param: str) -> JSON:
    tool = as_dict(raw, param)
    if tool.get("type") != "function":
        raise refuse(
            f"{param}.type",
            f"Tools of type {tool.get('type')!r} cannot be translated for an Anthropic model; send function tools.",
        )
    function = as_dict(tool.get("function"), f"{param}.function")
    out: JSON = {
        "name": str(function.get("name", "")),
        "input_schema": function.get("parameters") or {"type": "object", "properties": {}},
    }
    if function.get("description"):
        out["description"] = function["description"]
    if function.get("strict") is not None:
        out["strict"] = bool(function["strict"])
    return out


def _tool_choice(choice: Any, parallel: Any) -> JSON | None:
    out: JSON | None
    if choice is None:
        out = None
    elif choice == "auto":
        out = {"type": "auto"}
    elif choice == "none":
        out = {"type": "none"}
    elif choice == "required":
        out = {"type": "any"}
    elif isinstance(choice, dict) and choice.get("type") == "function":
        name = as_dict(choice.get("function"), "tool_choice.function").get("name")
        out = {"type": "tool", "name": str(name)}
    else:
        raise refuse(
            "tool_choice", "Only auto, none, required or a named function tool_choice can be translated."
        )
    if parallel is False:
        if out is None:
            out = {"type": "auto"}
        if out["type"] != "none":
            out["disable_parallel_tool_use"] = True
    return out


def _output_format(response_format: Any) -> JSON | None:
    if response_format is None:
        return None
    response_format = as_dict(response_format, "response_format")
    kind = response_format.get("type")
    if kind == "text":
        return None
    if kind == "json_schema":
        spec = as_dict(response_format.get("json_schema"), "response_format.json_schema")
        schema = spec.get("schema")
        if not isinstance(schema, dict):
            raise refuse(
                "response_format.json_schema.schema", "A json_schema response format needs a `schema`."
            )
        return {"type": "json_schema", "schema": schema}
    raise refuse(
        "response_format.type",
        f"response_format {kind!r} has no Anthropic equivalent; send a `json_schema` response format.",
    )


# ---------------------------------------------------------------------------------------- responses


def messages_response_to_chat(resp: JSON, *, model: str, created: int | None = None) -> JSON:
    """An Anthropic Message -> a Chat Completion, named ``model`` (the model the caller asked for)."""
    texts: list[str] = []
    tool_calls: list[JSON] = []
    for block in resp.get("content") or []:
        kind = block.get("type")
        if kind == "text":
            texts.append(str(block.get("text", "")))
        elif kind == "tool_use":
            tool_calls.append(
                {
                    "id": block.get("id"),
                    "type": "function",
                    "function": {
                        "name": block.get("name"),
                        "arguments": dump_arguments(block.get("input", {})),
                    },
                }
            )
        # thinking / redacted_thinking: the model's private reasoning has no place in a Chat message.
    message: JSON = {
        "role": "assistant",
        "content": "".join(texts) if texts or not tool_calls else None,
        "refusal": None,
        "annotations": [],
    }
    if tool_calls:
        message["tool_calls"] = tool_calls
    usage = usage_mod.from_anthropic(resp.get("usage")) or Usage()
    return {
        "id": resp.get("id"),
        "object": "chat.completion",
        "created": created if created is not None else now(),
        "model": model,
        "choices": [
            {
                "index": 0,
                "message": message,
                "logprobs": None,
                "finish_reason": ANTHROPIC_TO_CHAT_FINISH.get(str(resp.get("stop_reason")), "stop"),
            }
        ],
        "usage": usage_mod.to_openai(usage),
        "system_fingerprint": None,
    }
