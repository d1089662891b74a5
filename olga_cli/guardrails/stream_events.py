"""Output guardrails on streamed responses, one parsed SSE `data` object at a time.

`StreamEventScreener.process(event)` takes one event as parsed from the upstream stream and returns
the events to send on instead (zero, one, or a few), with text deltas replaced by what the
`StreamScreener` releases. Held-back text comes out in a later event: at the latest in a delta
synthesised just before the event that closes its block (`content_block_stop`, a `finish_reason`,
`response.output_text.done`). Events that repeat the full text (the Responses API's `*.done`,
`output_item.done`, `response.completed`) get the same redacted text the deltas carried.

Lanes are named like the non-streamed walkers' paths: `choices[0].message.content`,
`choices[0].message.tool_calls[1].function.arguments`, `content[2].text`, `content[1].input`,
`output[0].content[0].text`, `output[1].arguments`.

When `blocked` becomes set, `process` returns nothing more: stop relaying and end the stream with an
error event in the route's API format. At the end of an upstream stream call `finish()` and send
what it returns before the terminator (`[DONE]`).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from olga_cli.guardrails.screen import Screen
from olga_cli.guardrails.spec import Api, Violation
from olga_cli.guardrails.stream import StreamScreener
from olga_cli.guardrails.walkers import TextSlot, drop_logprobs, response_texts, responses_output_item

_CHAT_FIELDS = ("content", "refusal", "reasoning_content")
_ANTHROPIC_DELTAS = {"text_delta": "text", "input_json_delta": "partial_json", "thinking_delta": "thinking"}
_ANTHROPIC_LANES = {"text_delta": "text", "input_json_delta": "input", "thinking_delta": "thinking"}

# Responses delta/done event types -> (lane suffix, delta field, done field).
_RESPONSES_TEXT = {
    "response.output_text": ("content[{c}].text", "text"),
    "response.refusal": ("content[{c}].refusal", "refusal"),
    "response.function_call_arguments": ("arguments", "arguments"),
    "response.mcp_call_arguments": ("arguments", "arguments"),
    "response.custom_tool_call_input": ("input", "input"),
    "response.reasoning_summary_text": ("summary[{s}].text", "text"),
    "response.reasoning_text": ("content[{c}].text", "text"),
}
_RESPONSES_WHOLE = (
    "response.created",
    "response.in_progress",
    "response.queued",
    "response.completed",
    "response.incomplete",
    "response.failed",
)


class StreamEventScreener:
    """Screens one streamed response of `api` ("chat", "messages" or "responses")."""

    def __init__(self, api: Api, screen: Screen, *, max_holdback: int = 16384) -> None:
        self.api = api
        self.screen = screen
        self.screener = StreamScreener(screen, max_holdback=max_holdback)
        self._extra: list[Violation] = []
        self._settled: dict[str, str] = {}
        self._chat_envelope: dict[str, Any] = {}
        self._anthropic_kinds: dict[int, str] = {}
        self._sequence: int | None = None
        self._delta_templates: dict[str, dict[str, Any]] = {}
        self._blocked: Violation | None = None

    @property
    def blocked(self) -> Violation | None:
        return self._blocked or self.screener.blocked

    @property
    def violations(self) -> list[Violation]:
        return [*self.screener.violations, *self._extra]

    def process(self, event: Any) -> list[Any]:
        """The events to send in place of `event` (mutated in place where its text changes)."""
        if self.blocked is not None:
            return []
        if not self.screen.active or not isinstance(event, dict):
            return [event]
        if self.screen.may_change_text:
            # Token log-probabilities spell out text that is held back or will be redacted.
            drop_logprobs(self.api, event)
        if self.api == "chat":
            out = self._chat(event)
        elif self.api == "messages":
            out = self._messages(event)
        elif self.api == "responses":
            out = self._responses(event)
        else:
            out = [event]
        return [] if self.blocked is not None else self._renumber(out)

    def finish(self) -> list[Any]:
        """The upstream stream ended: events carrying whatever is still held back."""
        if self.blocked is not None or not self.screen.active:
            return []
        flushed = [(key, text) for key, (text, _) in self.screener.finish_all().items() if text]
        if self.blocked is not None or not flushed:
            return []
        if self.api == "chat":
            return [self._chat_chunk(key, text) for key, text in flushed]
        if self.api == "messages":
            return [self._anthropic_delta(key, text) for key, text in flushed]
        return self._renumber([self._responses_delta(key, text) for key, text in flushed])

    # --- Chat Completions ----------------------------------------------------------------------

    def _chat(self, event: dict[str, Any]) -> list[Any]:
        for name in ("id", "object", "created", "model", "system_fingerprint"):
            if name in event:
                self._chat_envelope[name] = event[name]
        for choice in _dicts(event.get("choices")):
            index = choice.get("index", 0)
            base = f"choices[{index}].message"
            delta = choice.get("delta")
            if not isinstance(delta, dict):
                continue
            for name in _CHAT_FIELDS:
                if isinstance(delta.get(name), str) and delta[name]:
                    delta[name] = self.screener.feed(f"{base}.{name}", delta[name])[0]
            for call in _dicts(delta.get("tool_calls")):
                function = call.get("function")
                if isinstance(function, dict) and isinstance(function.get("arguments"), str):
                    key = f"{base}.tool_calls[{call.get('index', 0)}].function.arguments"
                    function["arguments"] = self.screener.feed(key, function["arguments"])[0]
            if choice.get("finish_reason") is not None:
                for key in self._open_lanes(f"{base}."):
                    rest = self.screener.finish(key)[0]
                    if rest:
                        _chat_append(delta, key[len(base) + 1 :], rest)
        return [event]

    def _chat_chunk(self, key: str, text: str) -> dict[str, Any]:
        index = int(key[len("choices[") : key.index("]")])
        delta: dict[str, Any] = {}
        _chat_append(delta, key[key.index(".message.") + len(".message.") :], text)
        envelope = {"object": "chat.completion.chunk", **self._chat_envelope}
        return {**envelope, "choices": [{"index": index, "delta": delta, "finish_reason": None}]}

    # --- Anthropic Messages --------------------------------------------------------------------

    def _messages(self, event: dict[str, Any]) -> list[Any]:
        kind = event.get("type")
        index = event.get("index", 0)
        if kind == "content_block_start":
            block = event.get("content_block")
            if isinstance(block, dict) and isinstance(block.get("text"), str) and block["text"]:
                block["text"] = self.screener.feed(f"content[{index}].text", block["text"])[0]
                self._anthropic_kinds[index] = "text_delta"
            return [event]
        if kind == "content_block_delta":
            delta = event.get("delta")
            if not isinstance(delta, dict) or delta.get("type") not in _ANTHROPIC_DELTAS:
                return [event]
            field = _ANTHROPIC_DELTAS[delta["type"]]
            self._anthropic_kinds[index] = delta["type"]
            key = f"content[{index}].{_ANTHROPIC_LANES[delta['type']]}"
            released = self.screener.feed(key, delta.get(field) or "")[0]
            if not released:
                return []
            delta[field] = released
            return [event]
        if kind == "content_block_stop":
            return [*self._anthropic_flush(f"content[{index}]."), event]
        if kind in ("message_delta", "message_stop"):
            return [*self._anthropic_flush("content["), event]
        return [event]

    def _anthropic_flush(self, prefix: str) -> list[Any]:
        out: list[Any] = []
        for key in self._open_lanes(prefix):
            rest = self.screener.finish(key)[0]
            if rest:
                out.append(self._anthropic_delta(key, rest))
        return out

    def _anthropic_delta(self, key: str, text: str) -> dict[str, Any]:
        index = int(key[len("content[") : key.index("]")])
        kind = self._anthropic_kinds.get(index, "text_delta")
        return {
            "type": "content_block_delta",
            "index": index,
            "delta": {"type": kind, _ANTHROPIC_DELTAS[kind]: text},
        }

    # --- Responses -----------------------------------------------------------------------------

    def _responses(self, event: dict[str, Any]) -> list[Any]:
        kind = event.get("type")
        if not isinstance(kind, str):
            return [event]
        family, _, stage = kind.rpartition(".")
        if family in _RESPONSES_TEXT:
            key = _responses_key(event, _RESPONSES_TEXT[family][0])
            if stage == "delta":
                if key not in self._delta_templates:
                    skip = ("delta", "logprobs", "sequence_number", "obfuscation")
                    self._delta_templates[key] = {k: v for k, v in event.items() if k not in skip}
                released = self.screener.feed(key, event.get("delta") or "")[0]
                if not released:
                    return []
                event["delta"] = released
                return [event]
            if stage == "done":
                field = _RESPONSES_TEXT[family][1]
                out = self._responses_flush(key)
                if isinstance(event.get(field), str):
                    event[field] = self._settle_text(key, event[field])
                return [*out, event]
        if kind in ("response.content_part.done", "response.reasoning_summary_part.done"):
            part = event.get("part")
            if isinstance(part, dict):
                template = "summary[{s}]" if "summary" in kind else "content[{c}]"
                base = _responses_key(event, template)
                out = []
                for field in ("text", "refusal"):
                    if isinstance(part.get(field), str):
                        out += self._responses_flush(f"{base}.{field}")
                        part[field] = self._settle_text(f"{base}.{field}", part[field])
                return [*out, event]
        if kind == "response.output_item.done" and isinstance(event.get("item"), dict):
            index = event.get("output_index", 0)
            return [*self._settle_slots(responses_output_item(event["item"], index)), event]
        if kind in _RESPONSES_WHOLE and isinstance(event.get("response"), dict):
            return [*self._settle_slots(response_texts("responses", event["response"])), event]
        return [event]

    def _responses_flush(self, key: str) -> list[Any]:
        if not self.screener.has_lane(key):
            return []
        rest = self.screener.finish(key)[0]
        return [self._responses_delta(key, rest)] if rest else []

    def _responses_delta(self, key: str, text: str) -> dict[str, Any]:
        """A delta event carrying held-back text for lane `key`, shaped like the lane's own deltas."""
        event = {**self._delta_templates[key], "delta": text}
        if event.get("type") == "response.output_text.delta":
            event["logprobs"] = []
        return event

    def _settle_slots(self, slots: Iterator[TextSlot]) -> list[Any]:
        """Give every text of a full item/response its final screened form; flush open lanes."""
        out: list[Any] = []
        for slot in list(slots):
            out += self._responses_flush(slot.path)
            slot.set(self._settle_text(slot.path, slot.get()))
        return out

    def _settle_text(self, key: str, full: str) -> str:
        """The text the client should see for `key`: what its stream released, or, for text that
        did not stream (an MCP call's output), the screened full text, screened once."""
        if self.screener.has_lane(key):
            # The lane was flushed just before (`_responses_flush`): its released text is complete.
            self._settled[key] = self.screener.released_text(key)
            return self._settled[key]
        if key not in self._settled:
            result = self.screen.screen_text(full, field=key)
            self._extra.extend(result.violations)
            if result.blocked is not None and self._blocked is None:
                self._blocked = result.blocked
            self._settled[key] = result.text
        return self._settled[key]

    def _renumber(self, events: list[Any]) -> list[Any]:
        """Keep Responses `sequence_number`s consecutive across dropped and synthesised events."""
        for event in events:
            if not isinstance(event, dict):
                continue
            if self._sequence is None:
                if "sequence_number" not in event:
                    continue
                self._sequence = int(event["sequence_number"])
            if "sequence_number" in event or self.api == "responses":
                event["sequence_number"] = self._sequence
                self._sequence += 1
        return events

    def _open_lanes(self, prefix: str) -> list[str]:
        return [key for key in self.screener.lanes() if key.startswith(prefix) and self.screener.held(key)]


def _dicts(value: Any) -> Iterator[dict[str, Any]]:
    if isinstance(value, list):
        for item in value:
            if isinstance(item, dict):
                yield item


def _responses_key(event: dict[str, Any], template: str) -> str:
    suffix = template.format(c=event.get("content_index", 0), s=event.get("summary_index", 0))
    return f"output[{event.get('output_index', 0)}].{suffix}"


def _chat_append(delta: dict[str, Any], lane: str, text: str) -> None:
    """Add `text` to a chat delta for lane `content`/`refusal`/`tool_calls[j].function.arguments`."""
    if lane.startswith("tool_calls["):
        index = int(lane[len("tool_calls[") : lane.index("]")])
        calls = delta.setdefault("tool_calls", [])
        for call in _dicts(calls):
            if call.get("index") == index:
                function = call.setdefault("function", {})
                function["arguments"] = (function.get("arguments") or "") + text
                return
        calls.append({"index": index, "function": {"arguments": text}})
        return
    delta[lane] = (delta.get(lane) or "") + text
