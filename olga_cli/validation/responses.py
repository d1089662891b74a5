"""OpenAI Responses: the request fields olga reads, translates or forwards, as the API defines them
(``POST /v1/responses``).

Input items and tools of types the table does not name (reasoning, shell calls, MCP, Codex's
namespaces, ...) pass with only their ``type`` checked.
"""

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

PART = Tagged(
    "type",
    {
        "input_text": Obj({"text": Text()}, required=["text"]),
        "output_text": Obj({"text": Text()}, required=["text"]),
        "refusal": Obj({"refusal": Text()}, required=["refusal"]),
        "input_image": Obj({"image_url": Text(), "file_id": Text(), "detail": Text()}),
        "input_file": Obj({"file_data": Text(), "file_id": Text(), "file_url": Text(), "filename": Text()}),
    },
    what="a content part (an object with a 'type' such as 'input_text')",
)
_MESSAGE = Obj(
    {
        "role": OneOf("user", "assistant", "system", "developer"),
        "content": Either(
            Text(), ListOf(PART, what="a list of content parts"), what="a string or a list of content parts"
        ),
    },
    required=["role", "content"],
)
_OUTPUT = Either(
    Text(), ListOf(Obj(), what="a list of content objects"), what="a string or a list of content objects"
)
ITEM = Tagged(
    "type",
    {
        "message": _MESSAGE,
        "function_call": Obj(
            {"call_id": Text(), "name": Text(), "arguments": Text()},
            required=["call_id", "name", "arguments"],
        ),
        "function_call_output": Obj({"call_id": Text(), "output": _OUTPUT}, required=["call_id", "output"]),
        "custom_tool_call": Obj(
            {"call_id": Text(), "name": Text(), "input": Text()}, required=["call_id", "name"]
        ),
        "custom_tool_call_output": Obj({"call_id": Text(), "output": _OUTPUT}, required=["call_id"]),
        "reasoning": Obj(
            {"summary": ListOf(Obj(), what="a list of summary objects"), "encrypted_content": Text()}
        ),
        "item_reference": Obj({"id": Text()}, required=["id"]),
    },
    default_tag="message",  # an item with only role and content is a message
    what="an input item (a message, or an object with a 'type' such as 'function_call')",
)
TOOL = Tagged(
    "type",
    {
        "function": Obj(
            {"name": Text(), "description": Text(), "parameters": Obj(), "strict": Boolean()},
            required=["name"],
        ),
    },
    what="a tool object with a 'type' such as 'function'",
)
TOOL_CHOICE = Either(
    OneOf("none", "auto", "required"),
    Obj({"type": Text(), "name": Text()}, required=["type"]),
    what="'none', 'auto', 'required' or an object naming a tool",
)
FORMAT = Tagged(
    "type",
    {
        "text": Obj(),
        "json_object": Obj(),
        "json_schema": Obj(
            {"name": Text(), "description": Text(), "schema": Obj(), "strict": Boolean()},
            required=["name", "schema"],
        ),
    },
    closed=True,
    what="an object with a 'type' of 'text', 'json_object' or 'json_schema'",
)

REQUEST = Obj(
    {
        "model": Text(),
        "input": Either(
            Text(), ListOf(ITEM, what="a list of input items"), what="a string or a list of input items"
        ),
        "instructions": Text(),
        "stream": Boolean(),
        "stream_options": Obj({"include_obfuscation": Boolean()}),
        "temperature": Number(0, 2),
        "top_p": Number(0, 1),
        "top_logprobs": Integer(0, 20),
        "max_output_tokens": Integer(1),
        "max_tool_calls": Integer(1),
        "tools": ListOf(TOOL, what="a list of tool objects"),
        "tool_choice": TOOL_CHOICE,
        "parallel_tool_calls": Boolean(),
        "text": Obj({"format": FORMAT, "verbosity": Text()}),
        "reasoning": Obj({"effort": Text(), "summary": Text(), "generate_summary": Text()}),
        "include": ListOf(Text()),
        "metadata": Obj(),
        "previous_response_id": Text(),
        "store": Boolean(),
        "background": Boolean(),
        "truncation": OneOf("auto", "disabled"),
        "service_tier": Text(),
        "user": Text(),
        "safety_identifier": Text(),
        "prompt_cache_key": Text(),
        "models": ListOf(Text()),
    },
    required=["model"],
)
