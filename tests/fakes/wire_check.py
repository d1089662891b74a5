"""What the real APIs accept, field by field, so that the fakes refuse what the real ones refuse.

OpenAI answers an unknown field with 400 ``Unrecognized request argument supplied: NAME``; Anthropic
with 400 ``NAME: Extra inputs are not permitted``, nested fields included (``messages.0.content.0.x``).
OpenAI-compatible servers (vLLM, Ollama, llama.cpp) know the classic Chat fields only: no
``developer`` role, no ``reasoning_effort``, ``max_completion_tokens``, ``verbosity`` or caching keys.
``check_*`` return the first problem as (field path, message), or None when the body would be accepted.
"""

from __future__ import annotations

from typing import Any

Problem = tuple[str, str] | None

CHAT_FIELDS = frozenset(
    {
        "model", "messages", "audio", "frequency_penalty", "function_call", "functions", "logit_bias",
        "logprobs", "max_completion_tokens", "max_tokens", "metadata", "modalities", "n",
        "parallel_tool_calls", "prediction", "presence_penalty", "prompt_cache_key",
        "prompt_cache_retention", "reasoning_effort", "response_format", "safety_identifier", "seed",
        "service_tier", "stop", "store", "stream", "stream_options", "temperature", "tool_choice", "tools",
        "top_logprobs", "top_p", "user", "verbosity", "web_search_options",
    }
)  # fmt: skip
COMPATIBLE_CHAT_FIELDS = frozenset(
    {
        "model", "messages", "frequency_penalty", "logit_bias", "logprobs", "max_tokens", "n",
        "parallel_tool_calls", "presence_penalty", "response_format", "seed", "stop", "stream",
        "stream_options", "temperature", "tool_choice", "tools", "top_logprobs", "top_p", "user",
    }
)  # fmt: skip
CHAT_MESSAGE_FIELDS = frozenset(
    {"role", "content", "name", "tool_calls", "tool_call_id", "refusal", "audio", "function_call"}
)
CHAT_FUNCTION_FIELDS = frozenset({"name", "description", "parameters", "strict"})

RESPONSES_FIELDS = frozenset(
    {
        "model", "input", "background", "client_metadata", "conversation", "include", "instructions",
        "max_output_tokens", "max_tool_calls", "metadata", "parallel_tool_calls", "previous_response_id",
        "prompt", "prompt_cache_key", "prompt_cache_retention", "reasoning", "safety_identifier",
        "service_tier", "store", "stream", "stream_options", "temperature", "text", "tool_choice", "tools",
        "top_logprobs", "top_p", "truncation", "user",
    }
)  # fmt: skip

MESSAGES_FIELDS = frozenset(
    {
        "model", "messages", "max_tokens", "cache_control", "container", "context_management",
        "mcp_servers", "metadata", "output_config", "service_tier", "stop_sequences", "stream", "system",
        "temperature", "thinking", "tool_choice", "tools", "top_k", "top_p",
    }
)  # fmt: skip
MESSAGES_TOOL_FIELDS = frozenset(
    {
        "name", "description", "input_schema", "type", "cache_control", "strict", "eager_input_streaming",
        "defer_loading", "input_examples", "allowed_callers", "max_uses", "allowed_domains",
        "blocked_domains", "user_location",
    }
)  # fmt: skip
MESSAGES_BLOCK_FIELDS: dict[str, frozenset[str]] = {
    "text": frozenset({"type", "text", "cache_control", "citations"}),
    "image": frozenset({"type", "source", "cache_control"}),
    "document": frozenset({"type", "source", "title", "context", "citations", "cache_control"}),
    "tool_use": frozenset({"type", "id", "name", "input", "cache_control", "caller", "toolset_name"}),
    "tool_result": frozenset({"type", "tool_use_id", "content", "is_error", "cache_control"}),
    "thinking": frozenset({"type", "thinking", "signature"}),
    "redacted_thinking": frozenset({"type", "data"}),
}


def _unknown(body: Any, known: frozenset[str], prefix: str = "") -> str | None:
    if not isinstance(body, dict):
        return None
    for name in body:
        if name not in known:
            return f"{prefix}{name}"
    return None


def check_chat(body: dict[str, Any], *, compatible: bool = False) -> Problem:
    field = _unknown(body, COMPATIBLE_CHAT_FIELDS if compatible else CHAT_FIELDS)
    if field:
        return field, f"Unrecognized request argument supplied: {field}"
    for i, message in enumerate(body.get("messages") or []):
        field = _unknown(message, CHAT_MESSAGE_FIELDS, f"messages[{i}].")
        if field:
            return field, f"Unrecognized request argument supplied: {field}"
        roles = ("system", "user", "assistant", "tool") + (() if compatible else ("developer", "function"))
        if isinstance(message, dict) and message.get("role") not in roles:
            return (
                f"messages[{i}].role",
                f"Invalid value: '{message.get('role')}'. Supported values are: {roles}",
            )
    for i, tool in enumerate(body.get("tools") or []):
        if not isinstance(tool, dict) or tool.get("type") != "function":
            return f"tools[{i}].type", "Invalid value: only 'function' tools are supported."
        field = _unknown(tool.get("function"), CHAT_FUNCTION_FIELDS, f"tools[{i}].function.")
        if field:
            return field, f"Unrecognized request argument supplied: {field}"
    if "tool_choice" in body and not body.get("tools"):
        return (
            "tool_choice",
            "Invalid value for 'tool_choice': 'tool_choice' is only allowed when 'tools' are specified.",
        )
    return None


def check_responses(body: dict[str, Any]) -> Problem:
    field = _unknown(body, RESPONSES_FIELDS)
    if field:
        return field, f"Unknown parameter: '{field}'."
    return None


def check_messages(body: dict[str, Any], signatures: set[str], betas: str = "") -> Problem:
    """Anthropic's checks, ``signatures`` being those the fake issued: a thinking block whose
    signature it did not make is refused, as Anthropic refuses a broken signature. ``betas`` (the
    anthropic-beta header) may allow system messages in the conversation."""
    roles = ("user", "assistant", "system") if "mid-conversation-system" in betas else ("user", "assistant")
    field = _unknown(body, MESSAGES_FIELDS)
    if field:
        return field, f"{field}: Extra inputs are not permitted"
    for i, tool in enumerate(body.get("tools") or []):
        field = _unknown(tool, MESSAGES_TOOL_FIELDS, f"tools.{i}.")
        if field:
            return field, f"{field}: Extra inputs are not permitted"
    for i, message in enumerate(body.get("messages") or []):
        field = _unknown(message, frozenset({"role", "content"}), f"messages.{i}.")
        if field:
            return field, f"{field}: Extra inputs are not permitted"
        if message.get("role") not in roles:
            return f"messages.{i}.role", f"messages.{i}.role: Input should be 'user' or 'assistant'"
        content = message.get("content")
        for j, block in enumerate(content if isinstance(content, list) else []):
            problem = _check_block(block, f"messages.{i}.content.{j}", signatures)
            if problem:
                return problem
    thinking = body.get("thinking")
    if isinstance(thinking, dict) and thinking.get("type") == "enabled":
        budget = thinking.get("budget_tokens")
        if not isinstance(budget, int) or budget < 1024 or budget >= body.get("max_tokens", 0):
            return "thinking.budget_tokens", "`max_tokens` must be greater than `thinking.budget_tokens`"
    metadata = body.get("metadata")
    field = _unknown(metadata, frozenset({"user_id"}), "metadata.")
    if field:
        return field, f"{field}: Extra inputs are not permitted"
    return None


def _check_block(block: Any, where: str, signatures: set[str]) -> Problem:
    if not isinstance(block, dict):
        return where, f"{where}: Input should be a valid dictionary"
    known = MESSAGES_BLOCK_FIELDS.get(str(block.get("type")))
    if known is None:
        return (
            f"{where}.type",
            f"{where}.type: Input tag '{block.get('type')}' does not match any of the expected tags",
        )
    field = _unknown(block, known, f"{where}.")
    if field:
        return field, f"{field}: Extra inputs are not permitted"
    if block.get("type") == "thinking" and block.get("signature") not in signatures:
        return f"{where}.signature", f"{where}: Invalid `signature` in `thinking` block"
    return None
