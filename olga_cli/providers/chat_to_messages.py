"""OpenAI Chat Completions caller, Anthropic Messages provider.

``chat_request_to_messages`` turns a Chat request into a Messages request, ``messages_response_to_chat``
turns the Messages answer back, and ``MessagesStreamToChat`` turns a Messages event stream into Chat
chunks as they arrive.

Choices made where the APIs differ (the policy table in ``policy.py`` lists every field):

- every ``system``/``developer`` message goes into the top-level ``system`` (Anthropic has no other
  place for instructions), in order;
- consecutive ``tool`` results, and any user content right after them, become one user message;
  adjacent turns of the same role are joined, as Anthropic itself would join them;
- ``response_format`` json_schema becomes ``output_config.format`` (Anthropic's structured outputs);
  ``json_object`` has no schema-free equivalent and is refused;
- ``reasoning_effort`` becomes ``thinking`` with a budget when the target reasons and Anthropic's
  thinking rules allow it for this request (temperature 1, automatic tool choice);
- ``n`` > 1, logprobs, ``logit_bias`` and audio are refused (the answer would lack what was asked);
  sampling knobs Anthropic lacks (seed, penalties) and hints (``prompt_cache_key``, ``store``,
  image ``detail``...) are dropped and listed; a ``temperature`` above 1 is lowered to 1;
- thinking blocks in the answer are not shown as content (Chat has no place for them).
"""

from __future__ import annotations

from typing import Any

from olga_cli.providers import usage as usage_mod
from olga_cli.providers.messages_stream_to_chat import (
    MessagesStreamToChat,  # the stream half, re-exported
)
from olga_cli.providers.policy import Notes, TargetTraits, clamp_max_tokens
from olga_cli.providers.reasoning import thinking_for
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
    text_of_parts,
)
from olga_cli.providers.usage import Usage

__all__ = ["MessagesStreamToChat", "chat_request_to_messages", "messages_response_to_chat"]

_TRANSLATED = frozenset(
    {
        "model", "messages", "max_tokens", "max_completion_tokens", "stop", "temperature", "top_p",
        "tools", "tool_choice", "parallel_tool_calls", "response_format", "stream", "stream_options",
        "user", "safety_identifier", "n", "modalities", "reasoning_effort",
        # olga's own fallback list; the gateway reads it, the provider never sees it.
        "models",
    }
)  # fmt: skip

# Fields dropped by rule (policy.CHAT_TO_MESSAGES) when set.
_DROPPED = (
    "prompt_cache_key", "prompt_cache_retention", "prompt_cache_options", "store", "metadata",
    "service_tier", "verbosity", "seed", "frequency_penalty", "presence_penalty", "prediction",
    "moderation", "web_search_options",
)  # fmt: skip

# Fields with a value that can only be refused: (field, what to do instead).
_REFUSED = {
    "logprobs": "Anthropic models do not return log probabilities; remove `logprobs`.",
    "top_logprobs": "Anthropic models do not return log probabilities; remove `top_logprobs`.",
    "logit_bias": "Anthropic models do not take a logit bias; remove `logit_bias`.",
    "audio": "Anthropic models do not produce audio; remove `audio`.",
    "functions": "the legacy `functions` field is not translated; send `tools` instead.",
    "function_call": "the legacy `function_call` field is not translated; send `tool_choice` instead.",
}
_ON_WHEN_PRESENT = frozenset({"web_search_options", "audio", "prediction"})


def chat_request_to_messages(
    body: JSON,
    *,
    upstream_model: str,
    default_max_tokens: int,
    notes: Notes | None = None,
    traits: TargetTraits | None = None,
    carry_thinking: bool = False,
) -> JSON:
    """A Chat Completions request body -> an Anthropic Messages request body for ``upstream_model``.

    ``carry_thinking`` lets assistant messages bring thinking blocks (``olga_thinking``), which only
    the Responses translation puts there.
    """
    notes = notes if notes is not None else Notes("chat", "messages")
    traits = traits or TargetTraits()
    for name, value in body.items():
        if name in _REFUSED:
            if is_set(value):
                raise notes.refuse(name, _REFUSED[name])
        elif name in _DROPPED:
            if (value is not None) if name in _ON_WHEN_PRESENT else is_set(value):
                notes.drop(name)
        elif name not in _TRANSLATED:
            notes.unknown(name)
    n = body.get("n")
    if n is not None and n != 1:
        raise notes.refuse(
            "n", "Anthropic models return one choice per request; send `n: 1` or leave it out."
        )
    modalities = body.get("modalities")
    if modalities is not None and list(modalities) != ["text"]:
        raise notes.refuse("modalities", 'Anthropic models answer in text only; send `modalities: ["text"]`.')
    options = body.get("stream_options")
    if isinstance(options, dict) and options.get("include_obfuscation") is not None:
        notes.drop("stream_options.include_obfuscation")

    system, messages = _translate_messages(as_list(body.get("messages"), "messages"), notes, carry_thinking)
    out: JSON = {"model": upstream_model}
    max_tokens = body.get("max_completion_tokens", body.get("max_tokens"))
    if isinstance(max_tokens, int):
        out["max_tokens"] = clamp_max_tokens(max_tokens, traits, notes, "max_tokens")
    else:
        out["max_tokens"] = min(default_max_tokens, traits.max_output or default_max_tokens)
    if system:
        out["system"] = system[0]["text"] if len(system) == 1 else system
    out["messages"] = messages

    stop = body.get("stop")
    if stop is not None:
        out["stop_sequences"] = [stop] if isinstance(stop, str) else list(as_list(stop, "stop"))
    temperature = body.get("temperature")
    if temperature is not None:
        if isinstance(temperature, (int, float)) and temperature > 1:
            notes.drop("temperature")
            temperature = 1
        out["temperature"] = temperature
    if body.get("top_p") is not None:
        out["top_p"] = body["top_p"]

    tools = body.get("tools")
    if tools:
        sent = [_tool(tool, f"tools[{i}]", notes) for i, tool in enumerate(as_list(tools, "tools"))]
        if any(t is not None for t in sent):
            out["tools"] = [t for t in sent if t is not None]
    tool_choice = _tool_choice(body.get("tool_choice"), body.get("parallel_tool_calls"))
    if tool_choice is not None and ("tools" in out or tool_choice["type"] == "none"):
        out["tool_choice"] = tool_choice

    output_format = _output_format(body.get("response_format"))
    if output_format is not None:
        out["output_config"] = {"format": output_format}
    if is_set(body.get("reasoning_effort")):
        _thinking(body["reasoning_effort"], out, traits, notes)

    user = body.get("user") or body.get("safety_identifier")
    if user:
        out["metadata"] = {"user_id": str(user)}
    if body.get("stream"):
        out["stream"] = True
    return out


def _thinking(effort: Any, out: JSON, traits: TargetTraits, notes: Notes) -> None:
    """``reasoning_effort`` -> ``thinking``, where the target and Anthropic's thinking rules allow it."""
    thinking = thinking_for(effort, out["max_tokens"]) if traits.reasoning else None
    allowed = (
        out.get("temperature") in (None, 1)
        and (out.get("top_p") is None or out["top_p"] >= 0.95)
        and (out.get("tool_choice") or {}).get("type", "auto") in ("auto", "none")
        and _last_tool_turn_thinks(out["messages"])
    )
    if thinking is None or not allowed:
        if str(effort) not in ("none", "minimal"):
            notes.drop("reasoning_effort")
        return
    out["thinking"] = thinking


def _last_tool_turn_thinks(messages: list[JSON]) -> bool:
    """Anthropic wants the assistant turn being continued after tool use to start with its thinking."""
    for message in reversed(messages):
        if message["role"] != "assistant":
            continue
        blocks = message["content"] if isinstance(message["content"], list) else []
        if not any(block.get("type") == "tool_use" for block in blocks):
            return True
        return bool(blocks) and blocks[0].get("type") in ("thinking", "redacted_thinking")
    return True


def _translate_messages(
    items: list[Any], notes: Notes, carry_thinking: bool
) -> tuple[list[JSON], list[JSON]]:
    system: list[JSON] = []
    turns: list[JSON] = []  # {"role", "content": [blocks]}, merged by role at the end

    for i, raw in enumerate(items):
        param = f"messages[{i}]"
        message = as_dict(raw, param)
        role = message.get("role")
        if message.get("name"):
            notes.drop("messages.name")
        content = message.get("content")
        if role in ("system", "developer"):
            text = text_of_parts(content, f"{param}.content")
            system.append({"type": "text", "text": text})
        elif role == "user":
            turns.append({"role": "user", "content": _user_blocks(content, f"{param}.content", notes)})
        elif role == "assistant":
            blocks = _assistant_blocks(message, param)
            thinking = message.get("olga_thinking") if carry_thinking else None
            if isinstance(thinking, list) and thinking:
                blocks = [*thinking, *blocks]
            turns.append({"role": "assistant", "content": blocks})
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


def _user_blocks(content: Any, param: str, notes: Notes) -> list[JSON]:
    if isinstance(content, str):
        return [{"type": "text", "text": content}]
    blocks: list[JSON] = []
    for j, raw in enumerate(as_list(content, param)):
        part = as_dict(raw, f"{param}[{j}]")
        kind = part.get("type")
        if kind == "text":
            blocks.append({"type": "text", "text": str(part.get("text", ""))})
        elif kind == "image_url":
            blocks.append(_image_block(part.get("image_url"), f"{param}[{j}].image_url", notes))
        elif kind == "file":
            blocks.append(_document_block(part.get("file"), f"{param}[{j}].file"))
        else:
            raise refuse(
                f"{param}[{j}].type",
                f"Content of type {kind!r} cannot be translated for an Anthropic model; send text, "
                "images or PDF files.",
            )
    return blocks


def _image_block(image: Any, param: str, notes: Notes) -> JSON:
    image = {"url": image} if isinstance(image, str) else as_dict(image, param)
    if image.get("detail") not in (None, "auto"):
        notes.drop("image.detail")  # a resolution hint Anthropic does not take
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


def _tool(raw: Any, param: str, notes: Notes) -> JSON | None:
    """A function tool in Anthropic's shape; None for a built-in tool, which is withheld."""
    tool = as_dict(raw, param)
    if tool.get("type") != "function":
        notes.drop("tools.server")
        return None
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
