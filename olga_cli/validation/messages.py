"""Anthropic Messages: the request fields olga reads, translates or forwards, as the API defines them
(``POST /v1/messages`` and ``/v1/messages/count_tokens``).

Block and tool types the table does not name (server tools, documents, search results, ...) pass with
only their ``type`` checked: Anthropic adds them often and Claude Code uses them early.
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

_TEXT = Obj({"text": Text(), "cache_control": Obj(), "citations": ListOf(Obj())}, required=["text"])
_SOURCED = Obj({"source": Obj({"type": Text()}), "cache_control": Obj()}, required=["source"])
_NESTED_BLOCK = Tagged(
    "type",
    {"text": _TEXT, "image": _SOURCED, "document": _SOURCED},
    what="a content block (an object with a 'type' such as 'text')",
)
BLOCK = Tagged(
    "type",
    {
        "text": _TEXT,
        "image": _SOURCED,
        "document": _SOURCED,
        "tool_use": Obj({"id": Text(), "name": Text(), "input": Obj()}, required=["id", "name", "input"]),
        "tool_result": Obj(
            {
                "tool_use_id": Text(),
                "content": Either(Text(), ListOf(_NESTED_BLOCK, what="a list of content blocks")),
                "is_error": Boolean(),
            },
            required=["tool_use_id"],
        ),
        "thinking": Obj({"thinking": Text(), "signature": Text()}, required=["thinking"]),
        "redacted_thinking": Obj({"data": Text()}, required=["data"]),
    },
    what="a content block (an object with a 'type' such as 'text')",
)
CONTENT = Either(
    Text(), ListOf(BLOCK, what="a list of content blocks"), what="a string or a list of content blocks"
)
MESSAGE = Obj(
    # "system" mid-conversation: Claude Code sends it (the mid-conversation-system beta).
    {"role": OneOf("user", "assistant", "system"), "content": CONTENT},
    required=["role", "content"],
    what="a message object with 'role' and 'content'",
)
SYSTEM = Either(
    Text(),
    ListOf(Tagged("type", {"text": _TEXT}, closed=True, what="a text block"), what="a list of text blocks"),
    what="a string or a list of text blocks",
)
TOOL = Obj(
    {"name": Text(), "description": Text(), "input_schema": Obj(), "type": Text(), "cache_control": Obj()},
    required=["name"],
    what="a tool object with a 'name'",
)
TOOL_CHOICE = Tagged(
    "type",
    {
        "auto": Obj({"disable_parallel_tool_use": Boolean()}),
        "any": Obj({"disable_parallel_tool_use": Boolean()}),
        "tool": Obj({"name": Text(), "disable_parallel_tool_use": Boolean()}, required=["name"]),
        "none": Obj(),
    },
    closed=True,
    what="an object with a 'type' of 'auto', 'any', 'tool' or 'none'",
)
THINKING = Obj({"type": Text(), "budget_tokens": Integer(1)}, required=["type"])

_COMMON = {
    "model": Text(),
    "messages": ListOf(MESSAGE, min_items=1, what="a list of message objects"),
    "system": SYSTEM,
    "tools": ListOf(TOOL, what="a list of tool objects"),
    "tool_choice": TOOL_CHOICE,
    "thinking": THINKING,
}
COUNT_TOKENS = Obj(_COMMON, required=["model", "messages"])
REQUEST = Obj(
    {
        **_COMMON,
        "max_tokens": Integer(1),
        "stream": Boolean(),
        "stop_sequences": ListOf(Text()),
        "temperature": Number(0, 1),
        "top_p": Number(0, 1),
        "top_k": Integer(0),
        "metadata": Obj({"user_id": Text()}),
        "output_config": Obj({"effort": Text(), "format": Obj({"type": Text(), "schema": Obj()})}),
        "service_tier": Text(),
        "cache_control": Obj(),
        "models": ListOf(Text()),
    },
    required=["model", "messages"],
)
