"""Generation records and their charges, written together in batches (one transaction per batch).

Other parts of the gateway add rows of their own to a batch (an admission, an alert, a violation, a
provider key's health): each is an ``Extra`` naming what it writes, never SQL, so that every backend
commits it with the records in its own dialect.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any, Protocol

from olga_cli.jsonwire import dumps_text
from olga_cli.records import Attempt, GenerationRecord

# Re-exported: the gateway adds its extras to batches of records.
from olga_cli.store.extras import Extra as Extra
from olga_cli.store.extras import ExtraKind as ExtraKind

# The columns of a record, in the order of ``record_values``; both backends store them as named.
RECORD_COLUMNS = (
    "id",
    "created_at",
    "key_id",
    "key_name",
    "team_id",
    "app",
    "endpoint",
    "model_requested",
    "model",
    "provider",
    "upstream_id",
    "streamed",
    "status",
    "error",
    "finish_reason",
    "tokens_prompt",
    "tokens_completion",
    "tokens_cached",
    "tokens_cache_write",
    "tokens_reasoning",
    "cache_saved_pico",
    "catalog_version",
    "usage_estimated",
    "cost_pico",
    "latency_ms",
    "ttft_ms",
    "overhead_ms",
    "request_id",
    "session_id",
    "dropped",
    "attempts",
    "guardrails",
    "request_body",
    "response_body",
    "tags",
    "end_user",
    "flags",
)


def record_values(record: GenerationRecord, *, request_body: str | None = None) -> tuple[Any, ...]:
    """The record's columns, in ``RECORD_COLUMNS``'s order; ``request_body`` in place of its own."""
    return (
        record.id,
        record.created_at,
        record.key_id,
        record.key_name,
        record.team_id,
        record.app,
        record.endpoint,
        record.model_requested,
        record.model,
        record.provider,
        record.upstream_id,
        int(record.streamed),
        record.status,
        record.error,
        record.finish_reason,
        record.tokens_prompt,
        record.tokens_completion,
        record.tokens_cached,
        record.tokens_cache_write,
        record.tokens_reasoning,
        record.cache_saved_pico,
        record.catalog_version,
        int(record.usage_estimated),
        record.cost_pico,
        record.latency_ms,
        record.ttft_ms,
        record.overhead_ms,
        record.request_id,
        record.session_id,
        _json_list(record.dropped),
        dumps_text([a.to_json() for a in record.attempts]),
        _json_list(record.guardrails),
        record.request_text() if request_body is None else request_body,
        record.response_body,
        _json_list(record.tags),
        record.end_user,
        _json_list(record.flags),
    )


def _json_list(values: Sequence[Any]) -> str:
    # Most records have none: "[]" without encoding anything. Six of these per record, on every request.
    return dumps_text(values) if values else "[]"


def record_from_row(row: Any) -> GenerationRecord:
    return GenerationRecord(
        id=row["id"],
        created_at=row["created_at"],
        key_id=row["key_id"],
        key_name=row["key_name"],
        team_id=row["team_id"],
        app=row["app"],
        endpoint=row["endpoint"],
        model_requested=row["model_requested"],
        model=row["model"],
        provider=row["provider"],
        upstream_id=row["upstream_id"],
        streamed=bool(row["streamed"]),
        status=row["status"],
        error=row["error"],
        finish_reason=row["finish_reason"],
        tokens_prompt=row["tokens_prompt"],
        tokens_completion=row["tokens_completion"],
        tokens_cached=row["tokens_cached"],
        tokens_cache_write=row["tokens_cache_write"],
        tokens_reasoning=row["tokens_reasoning"],
        cache_saved_pico=row["cache_saved_pico"],
        catalog_version=row["catalog_version"],
        usage_estimated=bool(row["usage_estimated"]),
        cost_pico=row["cost_pico"],
        latency_ms=row["latency_ms"],
        ttft_ms=row["ttft_ms"],
        overhead_ms=row["overhead_ms"],
        request_id=row["request_id"],
        session_id=row["session_id"],
        dropped=json.loads(row["dropped"]),
        attempts=[Attempt(**a) for a in json.loads(row["attempts"])],
        guardrails=json.loads(row["guardrails"]),
        request_body=row["request_body"],
        response_body=row["response_body"],
        tags=json.loads(row["tags"]),
        end_user=row["end_user"],
        flags=json.loads(row["flags"]),
    )


class RecordStore(Protocol):
    async def write_batch(self, records: Sequence[GenerationRecord], extras: Sequence[Extra] = ()) -> None:
        """Records, their ledger charges and the extras in the order given, all or nothing."""

    async def tidy(self) -> None:
        """Housekeeping the writes made due, run by the recorder once a batch's requests have their
        answers (SQLite: the write-ahead log's checkpoint), so that no request waits for it."""

    async def get_generation(self, ref: str, *, key_id: str | None = None) -> GenerationRecord | None:
        """By olga id or by the provider's response id; only one key's records when ``key_id`` is set."""

    async def ids_starting(self, prefix: str, *, limit: int = 3) -> list[str]:
        """Up to ``limit`` olga ids that begin with ``prefix`` (what `olga generation SHORT` finds)."""

    async def recent_generations(
        self,
        *,
        limit: int = 50,
        key_id: str | None = None,
        model: str | None = None,
        status: int | None = None,
        since: float | None = None,
        after_rowid: int | None = None,
    ) -> list[tuple[int, GenerationRecord]]:
        """Newest ``limit`` records matching the filters, oldest first, each with its position."""

    async def response_items(self, ids: Sequence[str]) -> list[dict[str, Any]]:
        """The Responses items stored under these ids (``response_item_insert``), those found."""


def response_item_insert(item: dict[str, Any], *, at: float) -> Extra:
    """A Responses item olga made (``providers/item_memory.py``), committed with its record so that
    every instance can resolve a later ``item_reference`` to it."""
    return Extra("response_item", (item["id"], dumps_text(item), at))


def prefix_bounds(prefix: str) -> tuple[str, str]:
    """``id >= low AND id < high`` holds exactly for ids starting with ``prefix``: a range the
    primary key's index answers, unlike LIKE (whose ``_`` and ``%`` would also need escaping)."""
    return prefix, prefix[:-1] + chr(ord(prefix[-1]) + 1)
