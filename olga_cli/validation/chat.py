"""OpenAI Chat Completions: the request fields olga reads, translates or forwards, as the API defines
them (``POST /v1/chat/completions``)."""

from __future__ import annotations

from olga_cli.validation.rules import (
    Boolean,
    Either,
    Integer,
    ListOf,
    Number,
    Obj,
    OneOf,
    Tagged,
    Text,
)

TEXT_PART = Obj({"text": Text()}, required=["text"])
PART = Tagged(
    "type",
    {
        "text": TEXT_PART,
        "image_url": Obj(
            {"image_url": Obj({"url": Text(), "detail": Text()}, required=["url"])}, required=["image_url"]
        ),
        "input_audio": Obj(
            {"input_audio": Obj({"data": Text(), "format": Text()}, required=["data"])},
            required=["input_audio"],
        ),
        "file": Obj(
            {"file": Obj({"file_data": Text(), "file_id": Text(), "filename": Text()})}, required=["file"]
        ),
        "refusal": Obj({"refusal": Text()}, required=["refusal"]),
    },
    what="a content part (an object with a 'type' such as 'text')",
)
CONTENT = Either(
    Text(),
    ListOf(PART, what="a list of content parts"),
    what="a string or a list of content parts",
)
TOOL_CALL = Obj(
    {
        "id": Text(),
        "type": Text(),
        "function": Obj({"name": Text(), "arguments": Text()}, required=["name"]),
    },
    what="a tool call object",
)
MESSAGE = Tagged(
    "role",
    {
        "system": Obj({"content": CONTENT, "name": Text()}, required=["content"]),
        "developer": Obj({"content": CONTENT, "name": Text()}, required=["content"]),
        "user": Obj({"content": CONTENT, "name": Text()}, required=["content"]),
        "assistant": Obj(
            {
                "content": CONTENT,
                "name": Text(),
                "refusal": Text(),
                "tool_calls": ListOf(TOOL_CALL, what="a list of tool call objects"),
                "function_call": Obj({"name": Text(), "arguments": Text()}),
                "audio": Obj({"id": Text()}),
            }
        ),
        "tool": Obj({"content": CONTENT, "tool_call_id": Text()}, required=["content", "tool_call_id"]),
        "function": Obj({"content": Either(Text(), ListOf(PART)), "name": Text()}, required=["name"]),
    },
    closed=True,
    what="a message object with a 'role'",
)
FUNCTION = Obj(
    {"name": Text(), "description": Text(), "parameters": Obj(), "strict": Boolean()}, required=["name"]
)
TOOL = Tagged(
    "type",
    {
        "function": Obj({"function": FUNCTION}, required=["function"]),
        "custom": Obj({"custom": Obj({"name": Text(), "description": Text()}, required=["name"])}),
    },
    what="a tool object with a 'type' such as 'function'",
)
TOOL_CHOICE = Either(
    OneOf("none", "auto", "required"),
    Obj({"type": Text(), "function": Obj({"name": Text()}, required=["name"])}, required=["type"]),
    what="'none', 'auto', 'required' or an object naming a tool",
)
RESPONSE_FORMAT = Tagged(
    "type",
    {
        "text": Obj(),
        "json_object": Obj(),
        "json_schema": Obj(
            {
                "json_schema": Obj(
                    {"name": Text(), "description": Text(), "schema": Obj(), "strict": Boolean()},
                    required=["name"],
                )
            },
            required=["json_schema"],
        ),
    },
    closed=True,
    what="an object with a 'type' of 'text', 'json_object' or 'json_schema'",
)

REQUEST = Obj(
    {
        "model": Text(),
        "messages": ListOf(MESSAGE, min_items=1, what="a list of message objects"),
        "stream": Boolean(),
        "stream_options": Obj({"include_usage": Boolean(), "include_obfuscation": Boolean()}),
        "temperature": Number(0, 2),
        "top_p": Number(0, 1),
        "frequency_penalty": Number(-2, 2),
        "presence_penalty": Number(-2, 2),
        "n": Integer(1, 128),
        "max_tokens": Integer(1),
        "max_completion_tokens": Integer(1),
        "seed": Integer(),
        "logprobs": Boolean(),
        "top_logprobs": Integer(0, 20),
        "logit_bias": Obj(),
        "stop": Either(Text(), ListOf(Text()), what="a string or a list of strings"),
        "tools": ListOf(TOOL, what="a list of tool objects"),
        "tool_choice": TOOL_CHOICE,
        "parallel_tool_calls": Boolean(),
        "functions": ListOf(FUNCTION, what="a list of function objects"),
        "function_call": Either(Text(), Obj({"name": Text()}, required=["name"])),
        "response_format": RESPONSE_FORMAT,
        "user": Text(),
        "safety_identifier": Text(),
        "prompt_cache_key": Text(),
        "reasoning_effort": Text(),
        "verbosity": Text(),
        "service_tier": Text(),
        "store": Boolean(),
        "metadata": Obj(),
        "modalities": ListOf(Text()),
        "audio": Obj(),
        "prediction": Obj(),
        "web_search_options": Obj(),
        "models": ListOf(Text()),
    },
    required=["model", "messages"],
)
