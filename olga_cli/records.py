"""The generation record: what olga keeps about one request (contract section 7)."""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field, fields
from typing import Any

from olga_cli.money import pico_to_usd
from olga_cli.telemetry.traceparent import TraceIds


class _Entropy:
    """``os.urandom`` drawn 4 KB at a time, handed out 8 bytes a call (on the loop's thread only).

    Each ``os.urandom`` call releases the GIL for its system call, and the store's writer thread,
    waiting for the GIL, takes it there: under load an id cost 20 µs of waiting instead of 0.5.
    """

    def __init__(self) -> None:
        self._bytes, self._at = b"", 0

    def hex8(self) -> str:
        at = self._at
        if at + 8 > len(self._bytes):
            self._bytes, at = os.urandom(4096), 0
        self._at = at + 8
        return self._bytes[at : at + 8].hex()

    def forget(self) -> None:
        self._bytes, self._at = b"", 0


_ENTROPY = _Entropy()
os.register_at_fork(after_in_child=_ENTROPY.forget)  # a forked worker never repeats its parent's ids


def new_generation_id() -> str:
    # Time-ordered so ids sort by creation, random tail so they cannot be guessed.
    return f"gen-{time.time_ns() // 1_000_000:012x}{_ENTROPY.hex8()}"


@dataclass(slots=True)
class Attempt:
    provider: str
    model: str
    status: int | None
    latency_ms: float
    error: str | None = None
    key_label: str | None = None
    started_ms: float | None = None  # when the attempt began, from the request's arrival

    def to_json(self) -> dict[str, Any]:
        # Every field is a plain value, so a shallow dict is what asdict() gives, at a tenth of its cost
        # (it runs for each record written).
        return {name: getattr(self, name) for name in _ATTEMPT_FIELDS}


_ATTEMPT_FIELDS = tuple(f.name for f in fields(Attempt))


@dataclass(slots=True)
class GenerationRecord:
    id: str
    created_at: float  # unix seconds
    key_id: str
    key_name: str
    endpoint: str
    model_requested: str
    team_id: str | None = None
    app: str | None = None
    model: str | None = None
    provider: str | None = None
    upstream_id: str | None = None
    streamed: bool = False
    status: int = 0
    error: str | None = None
    finish_reason: str | None = None
    tokens_prompt: int = 0
    tokens_completion: int = 0
    tokens_cached: int = 0
    tokens_cache_write: int = 0
    tokens_reasoning: int = 0  # part of tokens_completion, priced apart where the catalog says so
    usage_estimated: bool = False
    cost_pico: int = 0
    cache_saved_pico: int = 0  # what the cached part of the prompt would have cost more at full price
    catalog_version: str | None = None  # the prices it was charged with (kept in <home>/catalogs/)
    latency_ms: float = 0.0
    ttft_ms: float | None = None
    overhead_ms: float = 0.0
    request_id: str | None = None
    session_id: str | None = None  # the agent session (x-olga-session, X-Claude-Code-Session-Id, session-id)
    # Fields of the request olga dropped, withheld or changed when translating it (policy.POLICY),
    # in the caller's words; what x-olga-dropped said.
    dropped: list[str] = field(default_factory=list)
    attempts: list[Attempt] = field(default_factory=list)
    guardrails: list[dict[str, Any]] = field(default_factory=list)
    request_body: str | None = None
    response_body: str | None = None
    # A large request body's bytes, kept instead of ``request_body`` when they are known UTF-8: the
    # store decodes them, but for the part shared with the key's earlier bodies, whose text it has
    # (``store/body_parts.py``). Read the body with ``request_text()``.
    request_raw: bytes | None = None
    tags: list[str] = field(default_factory=list)  # x-olga-tags or metadata.tags
    end_user: str | None = None  # the caller's end user: x-olga-user, user or metadata.user_id
    # What olga had to change or cap to keep this record and its charge sound ("code: detail" each):
    # a charge capped at the reservation, a value that could not be stored as sent.
    flags: list[str] = field(default_factory=list)
    # Trace ids (and opted-in contents) for the span exported from this record; never stored.
    trace: TraceIds | None = None

    def request_text(self) -> str | None:
        if self.request_raw is not None:
            return self.request_raw.decode("utf-8", "replace")
        return self.request_body

    def to_json(self, *, with_bodies: bool = False) -> dict[str, Any]:
        data: dict[str, Any] = {
            "id": self.id,
            "created_at": _iso(self.created_at),
            "key_id": self.key_id,
            "key_name": self.key_name,
            "team_id": self.team_id,
            "app": self.app,
            "endpoint": self.endpoint,
            "model_requested": self.model_requested,
            "model": self.model,
            "provider": self.provider,
            "upstream_id": self.upstream_id,
            "streamed": self.streamed,
            "status": self.status,
            "error": self.error,
            "finish_reason": self.finish_reason,
            "tokens_prompt": self.tokens_prompt,
            "tokens_completion": self.tokens_completion,
            "tokens_cached": self.tokens_cached,
            "tokens_cache_write": self.tokens_cache_write,
            "tokens_reasoning": self.tokens_reasoning,
            "usage_estimated": self.usage_estimated,
            "cost": pico_to_usd(self.cost_pico),
            "cache_saved": pico_to_usd(self.cache_saved_pico),
            "catalog_version": self.catalog_version,
            "latency_ms": round(self.latency_ms, 3),
            "ttft_ms": None if self.ttft_ms is None else round(self.ttft_ms, 3),
            "overhead_ms": round(self.overhead_ms, 3),
            "request_id": self.request_id,
            "session_id": self.session_id,
            "dropped": list(self.dropped),
            "tags": list(self.tags),
            "end_user": self.end_user,
            "attempts": [a.to_json() for a in self.attempts],
            "guardrails": list(self.guardrails),
            "flags": list(self.flags),
        }
        if with_bodies:
            data["request_body"] = self.request_text()
            data["response_body"] = self.response_body
        return data


def _iso(ts: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(ts)) + f".{int(ts * 1000) % 1000:03d}Z"
