"""The translation policy: what becomes of each field a caller sends when olga translates the request
for a provider that speaks another API. One table, by kind of field, for every direction.

Kinds (contract section 9):

- ``meaning``: carried over, in the target's words (the translator modules do it);
- ``hint``: metadata or a hint that does not change the answer; dropped when the target has no
  equivalent, never refused;
- ``capability``: something the target cannot do (a server tool); withheld from the target, and the
  request goes on;
- ``refused``: going on would give a wrong answer; a 400 naming the field and the target's API.

A translator reports every field it drops or withholds through ``Notes.drop``, which looks the field
up here (a field missing from the table is a bug the tests catch); the gateway shows the list in
``x-olga-dropped`` and the record's ``dropped``. Fields a caller sends that no rule names are dropped
too, listed under their own name: a new client field never breaks a session, and it is visible.

To extend the table for a new target API (say Gemini), add a direction and its rules; the translator
for it calls ``Notes.drop`` with the same keys.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from olga_cli.providers.translate_common import Api, refuse

Kind = Literal["meaning", "hint", "capability", "refused"]


@dataclass(frozen=True, slots=True)
class Rule:
    kind: Kind
    why: str


def _hint(why: str) -> Rule:
    return Rule("hint", why)


def _capability(why: str) -> Rule:
    return Rule("capability", why)


def _meaning(why: str) -> Rule:
    return Rule("meaning", why)


# Rules shared by directions; each direction below lists its own on top.
_THINKING_HISTORY = _hint("an earlier model's private reasoning; its signature is only valid for that model")
_SAMPLING = _hint("a sampling knob the target does not take; the answer stays an answer to the request")
_NO_REASONING = _hint("the target model does not reason (catalog `reasoning`), so there is no budget to set")

MESSAGES_TO_CHAT: dict[str, Rule] = {
    "thinking": _meaning("-> reasoning_effort when the target reasons; dropped when it does not"),
    "output_config.effort": _meaning("-> reasoning_effort when the target reasons; dropped when it does not"),
    "metadata.user_id": _meaning("-> user"),
    "max_tokens": _meaning("clamped to the target's catalog maximum output"),
    "context_management": _hint("server-side context editing; the caller still sends the whole history"),
    "cache_control": _hint("a caching breakpoint; OpenAI-format providers cache prompts by themselves"),
    "tools.eager_input_streaming": _hint("how tool input is streamed, not what it is"),
    "tools.defer_loading": _hint("tool search hint; every tool is sent"),
    "tools.input_examples": _hint("examples for Anthropic's tool use; the schema and description go"),
    "tools.allowed_callers": _hint("Anthropic programmatic tool calling metadata"),
    "metadata": _hint("request metadata other than user_id"),
    "service_tier": _hint("Anthropic's capacity tier"),
    "top_k": _SAMPLING,
    "anthropic-beta": _hint("beta headers of the Messages API mean nothing to another API"),
    "messages.thinking": _THINKING_HISTORY,
    "messages.citations": _hint("citation metadata of earlier answers; the text goes"),
    "messages.server_tool_use": _capability("results of a server tool the target cannot run"),
    "tools.server": _capability("an Anthropic server or schema-less tool (web search, code execution...)"),
    "mcp_servers": _capability("remote MCP servers run by Anthropic"),
    "container": _capability("Anthropic's code-execution container"),
}

CHAT_TO_MESSAGES: dict[str, Rule] = {
    "reasoning_effort": _meaning("-> thinking with a budget when the target reasons"),
    "user": _meaning("-> metadata.user_id"),
    "max_tokens": _meaning("clamped to the target's catalog maximum output"),
    "prompt_cache_key": _hint("OpenAI's cache routing key"),
    "prompt_cache_retention": _hint("OpenAI's cache lifetime"),
    "prompt_cache_options": _hint("OpenAI's cache options"),
    "stream_options.include_obfuscation": _hint("stream padding"),
    "store": _hint("stored completions live at OpenAI only"),
    "metadata": _hint("stored-completion metadata"),
    "service_tier": _hint("OpenAI's capacity tier"),
    "verbosity": _hint("a length hint with no Anthropic equivalent"),
    "seed": _SAMPLING,
    "frequency_penalty": _SAMPLING,
    "presence_penalty": _SAMPLING,
    "prediction": _hint("a latency optimisation"),
    "moderation": _hint("OpenAI-side moderation settings"),
    "image.detail": _hint("an image resolution hint"),
    "messages.name": _hint("a participant name; Anthropic messages have none"),
    "web_search_options": _capability("OpenAI's built-in web search"),
    "tools.server": _capability("a built-in OpenAI tool the target cannot run"),
    "temperature": _meaning("Anthropic's range is 0..1; a higher value is lowered to 1"),
}

RESPONSES_TO_CHAT: dict[str, Rule] = {
    "reasoning.effort": _meaning("-> reasoning_effort when the target reasons"),
    "max_output_tokens": _meaning("clamped to the target's catalog maximum output"),
    "tools.namespace": _meaning("flattened into function tools named namespace__name; calls mapped back"),
    "include": _hint("extra output such as reasoning.encrypted_content; given where olga can"),
    "reasoning.summary": _hint("reasoning summaries; the target returns none"),
    "reasoning.generate_summary": _hint("reasoning summaries; the target returns none"),
    "store": _hint("stored responses live at OpenAI only"),
    "client_metadata": _hint("client telemetry"),
    "prompt_cache_key": _hint("OpenAI's cache routing key"),
    "prompt_cache_retention": _hint("OpenAI's cache lifetime"),
    "service_tier": _hint("OpenAI's capacity tier"),
    "metadata": _hint("stored-response metadata"),
    "truncation": _hint("automatic truncation; the caller sends what fits"),
    "stream_options": _hint("stream settings of the Responses API"),
    "max_tool_calls": _hint("a cap on built-in tool calls, which the target does not make"),
    "text.verbosity": _hint("a length hint"),
    "input.reasoning": _THINKING_HISTORY,
    "input.web_search_call": _capability("results of a built-in tool the target cannot run"),
    "tools.web_search": _capability("OpenAI's built-in web search"),
    "tools.server": _capability(
        "a built-in OpenAI tool (file search, code interpreter, image generation...)"
    ),
    "tools.custom": _capability("free-form (grammar) tools"),
}

# Responses -> Messages goes through Chat: the Responses rules, plus the Chat -> Messages rules for
# what the first step carries over unchanged.
RESPONSES_TO_MESSAGES: dict[str, Rule] = {
    **RESPONSES_TO_CHAT,
    "reasoning.effort": _meaning("-> thinking with a budget when the target reasons"),
    "input.reasoning": _meaning(
        "olga's own reasoning items carry Anthropic thinking blocks back; others drop"
    ),
    "user": _meaning("-> metadata.user_id"),
    "temperature": CHAT_TO_MESSAGES["temperature"],
    "image.detail": CHAT_TO_MESSAGES["image.detail"],
}

POLICY: dict[tuple[Api, Api], dict[str, Rule]] = {
    ("messages", "chat"): MESSAGES_TO_CHAT,
    ("chat", "messages"): CHAT_TO_MESSAGES,
    ("responses", "chat"): RESPONSES_TO_CHAT,
    ("responses", "messages"): RESPONSES_TO_MESSAGES,
}

API_NAMES: dict[Api, str] = {
    "chat": "Chat Completions",
    "messages": "Anthropic Messages",
    "responses": "Responses",
}


@dataclass(slots=True)
class Notes:
    """What one translation dropped, withheld or changed, in the caller's words, each field once."""

    caller: Api
    target: Api
    dropped: list[str] = field(default_factory=list)
    # A Chat field -> the caller's name for it, when a Responses request goes through Chat.
    renames: dict[str, str] = field(default_factory=dict)

    def drop(self, name: str) -> None:
        """Record ``name`` (a key of this direction's rules) as dropped, withheld or changed."""
        name = self.renames.get(name, name)
        if name not in POLICY[(self.caller, self.target)]:
            raise KeyError(f"{name!r} has no rule for {self.caller} -> {self.target}")
        if name not in self.dropped:
            self.dropped.append(name)

    def unknown(self, name: str) -> None:
        """A field no rule names: dropped and listed under its own name."""
        name = self.renames.get(name, name)
        if name not in self.dropped:
            self.dropped.append(name)

    def refuse(self, param: str, what: str) -> Exception:
        """A 400 for ``param``: going on would give a wrong answer. ``what`` says what to do instead."""
        target = API_NAMES[self.target]
        return refuse(param, f"`{param}` cannot be translated for a provider that speaks {target}: {what}")


def rule_of(caller: Api, target: Api, name: str) -> Rule | None:
    return POLICY.get((caller, target), {}).get(name)


@dataclass(frozen=True, slots=True)
class TargetTraits:
    """What the translation needs to know about the target model (from the catalog) and the key."""

    reasoning: bool = False  # takes a reasoning budget: reasoning_effort / thinking
    max_output: int | None = None  # the most output to ask for: catalog maximum, or what the key affords


def clamp_max_tokens(value: int, traits: TargetTraits, notes: Notes, name: str) -> int:
    """``value`` lowered to ``traits.max_output`` (and noted as changed) when it is above it."""
    if traits.max_output is not None and value > traits.max_output:
        notes.drop(name)
        return traits.max_output
    return value
