"""Google Gemini's native API (``generateContent``) from and to OpenAI Chat Completions.

Why native rather than Gemini's OpenAI-compatible endpoint: the native API is the one Google
documents in full, and its ``usageMetadata`` says what olga meters (``cachedContentTokenCount`` for
implicit and explicit cache hits, ``thoughtsTokenCount`` for thinking, counted apart from
``candidatesTokenCount``); thinking budgets, JSON schemas and thought signatures have their own
fields. Messages and Responses callers reach Gemini through Chat (``translate``), so one translation
carries all three caller APIs.

    Chat request                       Gemini request
    system/developer messages          systemInstruction.parts[].text
    user / assistant / tool messages   contents[] role user / model, parts text, inlineData,
                                       functionCall, functionResponse (consecutive roles merged)
    tools[].function                   tools[0].functionDeclarations[] (parametersJsonSchema)
    tool_choice                        toolConfig.functionCallingConfig (AUTO, NONE, ANY + names)
    max_tokens, temperature, ...       generationConfig
    reasoning_effort                   generationConfig.thinkingConfig.thinkingBudget
    response_format                    responseMimeType (+ responseJsonSchema)

A Gemini function call's ``thoughtSignature`` (which Gemini wants back on the next turn) rides in the
Chat tool call's id, so a caller that echoes its history unchanged sends it back without knowing.
Pure functions; ``TranslationError`` names a field that cannot go.
"""

from __future__ import annotations

import json
from typing import Any

from olga_cli import jsonwire
from olga_cli.providers.translate_common import (
    JSON,
    as_dict,
    as_list,
    dump_arguments,
    is_set,
    new_id,
    now,
    parse_data_url,
    parse_tool_arguments,
    refuse,
)
from olga_cli.providers.usage import Usage

TARGET = "Gemini's generateContent API"

# As the translation policy (``providers.policy``) has it: fields that carry meaning are translated;
# ones whose loss would give a wrong answer are refused (400); everything else (hints, metadata, knobs
# Gemini lacks) is dropped and listed in ``dropped``, so a new client field never breaks a session.
_MEANING = frozenset(
    {
        "model", "messages", "stream", "max_tokens", "max_completion_tokens", "temperature", "top_p",
        "stop", "n", "seed", "presence_penalty", "frequency_penalty", "tools", "tool_choice",
        "response_format", "reasoning_effort",
    }
)  # fmt: skip
_OWN = frozenset({"stream_options", "models"})  # the stream's and olga's own business: never listed
_REFUSED = {
    "logprobs": "Gemini's token log-probabilities are not translated; remove `logprobs`",
    "top_logprobs": "Gemini's token log-probabilities are not translated; remove `top_logprobs`",
    "audio": "audio output is not translated for Gemini",
    "modalities": "output modalities other than text are not translated for Gemini",
}
_MESSAGE_FIELDS = frozenset({"role", "content", "tool_calls", "tool_call_id"})

# OpenAI's effort words as thinking budgets, as Google maps them on its OpenAI-compatible endpoint.
THINKING_BUDGETS = {"none": 0, "minimal": 512, "low": 1024, "medium": 8192, "high": 24576}
SIGNATURE_PREFIX = "gsig_"  # a tool call id that carries Gemini's thought signature

GEMINI_TO_CHAT_FINISH = {
    "STOP": "stop",
    "MAX_TOKENS": "length",
    "SAFETY": "content_filter",
    "RECITATION": "content_filter",
    "BLOCKLIST": "content_filter",
    "PROHIBITED_CONTENT": "content_filter",
    "SPII": "content_filter",
    "IMAGE_SAFETY": "content_filter",
}


def generate_path(model: str, *, stream: bool) -> str:
    """The path under the base URL (``.../v1beta``): the model is in the URL, not the body."""
    if stream:
        return f"/models/{model}:streamGenerateContent?alt=sse"
    return f"/models/{model}:generateContent"


# -- request ----------------------------------------------------------------------------------------


def chat_request_to_gemini(
    body: JSON, *, dropped: list[str] | None = None, default_max_tokens: int | None = None
) -> JSON:
    """A Chat Completions request as a Gemini ``GenerateContentRequest``; what was dropped on the
    way is appended to ``dropped``."""
    dropped = [] if dropped is None else dropped
    for name in body:
        if name in _REFUSED and is_set(body[name]):
            raise refuse(name, f"`{name}` cannot be translated for {TARGET}: {_REFUSED[name]}.")
        if name not in _MEANING and name not in _OWN and name not in dropped:
            dropped.append(name)
    messages = as_list(body.get("messages"), "messages")
    system, contents = _contents(messages, dropped)
    out: JSON = {"contents": contents}
    if system:
        out["systemInstruction"] = {"parts": [{"text": text} for text in system]}
    declarations = _declarations(as_list(body.get("tools") or [], "tools"), dropped)
    if declarations:
        out["tools"] = [{"functionDeclarations": declarations}]
    choice = body.get("tool_choice")
    if choice is not None:
        out["toolConfig"] = {"functionCallingConfig": _calling_config(choice)}
    config = _generation_config(body, default_max_tokens)
    if config:
        out["generationConfig"] = config
    return out


def _generation_config(body: JSON, default_max_tokens: int | None) -> JSON:
    config: JSON = {}
    limit = body.get("max_completion_tokens") or body.get("max_tokens") or default_max_tokens
    if limit:
        config["maxOutputTokens"] = limit
    for ours, theirs in (
        ("temperature", "temperature"),
        ("top_p", "topP"),
        ("seed", "seed"),
        ("presence_penalty", "presencePenalty"),
        ("frequency_penalty", "frequencyPenalty"),
        ("n", "candidateCount"),
    ):
        if body.get(ours) is not None:
            config[theirs] = body[ours]
    stop = body.get("stop")
    if is_set(stop):
        config["stopSequences"] = [stop] if isinstance(stop, str) else as_list(stop, "stop")
    effort = body.get("reasoning_effort")
    if effort is not None:
        if effort not in THINKING_BUDGETS:
            raise refuse(
                "reasoning_effort", f"`reasoning_effort` must be one of {', '.join(THINKING_BUDGETS)}."
            )
        config["thinkingConfig"] = {"thinkingBudget": THINKING_BUDGETS[effort]}
    config.update(_response_format(body.get("response_format")))
    return config


def _response_format(value: Any) -> JSON:
    if value is None:
        return {}
    fmt = as_dict(value, "response_format")
    kind = fmt.get("type")
    if kind == "text":
        return {}
    if kind == "json_object":
        return {"responseMimeType": "application/json"}
    if kind == "json_schema":
        schema = as_dict(fmt.get("json_schema"), "response_format.json_schema")
        return {"responseMimeType": "application/json", "responseJsonSchema": schema.get("schema") or {}}
    raise refuse("response_format.type", "`response_format.type` must be text, json_object or json_schema.")


def _declarations(tools: list[Any], dropped: list[str]) -> list[JSON]:
    declarations = []
    for i, tool in enumerate(tools):
        tool = as_dict(tool, f"tools[{i}]")
        if tool.get("type") != "function":
            if "tools.server" not in dropped:
                dropped.append("tools.server")  # a built-in tool Gemini cannot run here: withheld
            continue
        function = as_dict(tool.get("function"), f"tools[{i}].function")
        declaration: JSON = {"name": function.get("name")}
        if function.get("description"):
            declaration["description"] = function["description"]
        if function.get("parameters"):
            declaration["parametersJsonSchema"] = function["parameters"]
        declarations.append(declaration)
    return declarations


def _calling_config(choice: Any) -> JSON:
    if choice == "auto":
        return {"mode": "AUTO"}
    if choice == "none":
        return {"mode": "NONE"}
    if choice == "required":
        return {"mode": "ANY"}
    named = as_dict(choice, "tool_choice")
    name = as_dict(named.get("function"), "tool_choice.function").get("name")
    if not isinstance(name, str):
        raise refuse("tool_choice.function.name", "`tool_choice.function.name` must name a tool.")
    return {"mode": "ANY", "allowedFunctionNames": [name]}


def _contents(messages: list[Any], dropped: list[str]) -> tuple[list[str], list[JSON]]:
    """System texts, and the turns with consecutive same-role turns merged (Gemini alternates)."""
    system: list[str] = []
    contents: list[JSON] = []
    calls: dict[str, str] = {}  # tool call id -> function name, for the tool results that follow
    for i, message in enumerate(messages):
        param = f"messages[{i}]"
        message = as_dict(message, param)
        for name in message:
            if name not in _MESSAGE_FIELDS and f"messages.{name}" not in dropped:
                dropped.append(f"messages.{name}")  # a participant name, an earlier refusal...
        role = message.get("role")
        if role in ("system", "developer"):
            system.append(_text(message.get("content"), f"{param}.content"))
            continue
        if role == "user":
            parts, gemini_role = _user_parts(message.get("content"), f"{param}.content"), "user"
        elif role == "assistant":
            parts, gemini_role = _model_parts(message, param, calls), "model"
        elif role == "tool":
            parts, gemini_role = [_function_response(message, param, calls)], "user"
        else:
            raise refuse(f"{param}.role", f"`{param}.role` must be system, user, assistant or tool.")
        if not parts:
            continue
        if contents and contents[-1]["role"] == gemini_role:
            contents[-1]["parts"] += parts
        else:
            contents.append({"role": gemini_role, "parts": parts})
    return system, contents


def _text(content: Any, param: str) -> str:
    if isinstance(content, str):
        return content
    pieces = []
    for j, part in enumerate(as_list(content, param)):
        part = as_dict(part, f"{param}[{j}]")
        if part.get("type") != "text":
            raise refuse(f"{param}[{j}].type", "A system message may hold text only.")
        pieces.append(str(part.get("text", "")))
    return "".join(pieces)


def _user_parts(content: Any, param: str) -> list[JSON]:
    if isinstance(content, str):
        return [{"text": content}] if content else []
    parts: list[JSON] = []
    for j, part in enumerate(as_list(content, param)):
        part = as_dict(part, f"{param}[{j}]")
        kind = part.get("type")
        if kind == "text":
            parts.append({"text": str(part.get("text", ""))})
        elif kind == "image_url":
            url = as_dict(part.get("image_url"), f"{param}[{j}].image_url").get("url", "")
            if not str(url).startswith("data:"):
                raise refuse(
                    f"{param}[{j}].image_url.url",
                    f"{TARGET} takes images inline: send a base64 data URL (data:image/png;base64,...).",
                )
            media_type, data = parse_data_url(str(url), f"{param}[{j}].image_url.url")
            parts.append({"inlineData": {"mimeType": media_type, "data": data}})
        else:
            raise refuse(f"{param}[{j}].type", f"Content of type {kind!r} cannot be sent to {TARGET}.")
    return parts


def _model_parts(message: JSON, param: str, calls: dict[str, str]) -> list[JSON]:
    parts: list[JSON] = []
    content = message.get("content")
    if content:
        parts.append({"text": _text(content, f"{param}.content")})
    for k, call in enumerate(message.get("tool_calls") or []):
        where = f"{param}.tool_calls[{k}]"
        call = as_dict(call, where)
        function = as_dict(call.get("function"), f"{where}.function")
        name = str(function.get("name", ""))
        call_id = str(call.get("id", ""))
        calls[call_id] = name
        part: JSON = {
            "functionCall": {
                "name": name,
                "args": parse_tool_arguments(function.get("arguments"), f"{where}.function.arguments"),
            }
        }
        if call_id.startswith(SIGNATURE_PREFIX):
            part["thoughtSignature"] = call_id[len(SIGNATURE_PREFIX) :].rsplit(".", 1)[0]
        parts.append(part)
    return parts


def _function_response(message: JSON, param: str, calls: dict[str, str]) -> JSON:
    call_id = str(message.get("tool_call_id", ""))
    name = calls.get(call_id)
    if name is None:
        raise refuse(
            f"{param}.tool_call_id",
            f"`{param}.tool_call_id` names no tool call of an earlier assistant message; Gemini needs the "
            "function's name with its result.",
        )
    text = _text(message.get("content"), f"{param}.content")
    try:
        value = json.loads(text)
    except ValueError:
        value = None
    response = value if isinstance(value, dict) else {"result": text}  # Gemini takes an object
    return {"functionResponse": {"name": name, "response": response}}


# -- response ---------------------------------------------------------------------------------------


def usage_of(metadata: Any) -> Usage | None:
    """Gemini's ``usageMetadata``: cached tokens are part of the prompt, thoughts come on top of the
    candidates (olga counts them as output, and as its reasoning part)."""
    if not isinstance(metadata, dict):
        return None

    def count(name: str) -> int:
        value = metadata.get(name)
        return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else 0

    prompt = count("promptTokenCount") + count("toolUsePromptTokenCount")
    thoughts = count("thoughtsTokenCount")
    return Usage(
        prompt,
        count("candidatesTokenCount") + thoughts,
        min(count("cachedContentTokenCount"), prompt),
        0,
        reasoning_tokens=thoughts,
    )


def tool_call_id(part: JSON, index: int) -> str:
    """The Chat id for a Gemini function call: its thought signature when it has one."""
    signature = part.get("thoughtSignature")
    if isinstance(signature, str) and signature:
        return f"{SIGNATURE_PREFIX}{signature}.{index}"
    call = part.get("functionCall") or {}
    return str(call.get("id") or new_id("call_"))


def candidate_message(candidate: JSON) -> tuple[str, list[JSON], str]:
    """A candidate's visible text, its tool calls (Chat shape) and its Chat finish reason."""
    content = candidate.get("content") or {}
    texts: list[str] = []
    calls: list[JSON] = []
    for part in content.get("parts") or []:
        if not isinstance(part, dict) or part.get("thought"):
            continue  # thought summaries are the model's private reasoning, not the answer
        if isinstance(part.get("text"), str):
            texts.append(part["text"])
        elif isinstance(part.get("functionCall"), dict):
            call = part["functionCall"]
            calls.append(
                {
                    "id": tool_call_id(part, len(calls)),
                    "type": "function",
                    "function": {
                        "name": call.get("name", ""),
                        "arguments": dump_arguments(call.get("args") or {}),
                    },
                }
            )
    return "".join(texts), calls, finish_reason(candidate.get("finishReason"), bool(calls))


def finish_reason(reason: Any, has_calls: bool) -> str:
    if has_calls:
        return "tool_calls"
    return GEMINI_TO_CHAT_FINISH.get(str(reason), "stop")


def gemini_response_to_chat(resp: JSON, *, model: str) -> JSON:
    """A ``GenerateContentResponse`` as a Chat completion."""
    choices = []
    for index, candidate in enumerate(resp.get("candidates") or []):
        text, calls, reason = candidate_message(candidate if isinstance(candidate, dict) else {})
        message: JSON = {"role": "assistant", "content": text or None, "refusal": None}
        if calls:
            message["tool_calls"] = calls
        choices.append(
            {
                "index": candidate.get("index", index),
                "message": message,
                "finish_reason": reason,
                "logprobs": None,
            }
        )
    if not choices:  # a prompt blocked before any candidate
        blocked = (resp.get("promptFeedback") or {}).get("blockReason")
        message = {
            "role": "assistant",
            "content": None,
            "refusal": f"blocked by Gemini: {blocked}" if blocked else None,
        }
        choices.append({"index": 0, "message": message, "finish_reason": "content_filter", "logprobs": None})
    return {
        "id": resp.get("responseId") or new_id("chatcmpl-"),
        "object": "chat.completion",
        "created": now(),
        "model": resp.get("modelVersion") or model,
        "choices": choices,
        "usage": chat_usage(usage_of(resp.get("usageMetadata")) or Usage()),
    }


def chat_usage(usage: Usage) -> JSON:
    """Chat's usage object, with cached and reasoning tokens in their details."""
    return {
        "prompt_tokens": usage.prompt_tokens,
        "completion_tokens": usage.completion_tokens,
        "total_tokens": usage.total_tokens,
        "prompt_tokens_details": {"cached_tokens": usage.cached_tokens},
        "completion_tokens_details": {"reasoning_tokens": usage.reasoning_tokens},
    }


def dumps(value: JSON) -> bytes:
    return jsonwire.dumps(value)
