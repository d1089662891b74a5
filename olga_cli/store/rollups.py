"""The usage roll-ups' sums for one batch, the same for both stores.

Three tables answer `olga usage`, the limits' daily counts and the label reports without scanning
the records: ``usage_hourly`` (by key, team, model, provider and app), ``usage_labels_hourly`` (by
tag, end user and agent session) and ``usage_daily`` (each admission by key, team, tag, end user and
their pairs). Each store writes a batch's sums in the transaction of its records: PostgreSQL's batch
function adds these rows (``store/postgres/records.py``), SQLite one upsert per row
(``store/sqlite/rollups.py``; until its migration 020, triggers summed each record as it went in).

Sums are exact Python integers here; each store bounds them as its columns need.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from typing import Any

from olga_cli.records import GenerationRecord
from olga_cli.store.limits import USER_SEPARATOR

Row = tuple[Any, ...]

SUMS = (
    "requests",
    "errors",
    "tokens_prompt",
    "tokens_completion",
    "tokens_cached",
    "cost_pico",
    "latency_ms",
)
HOURLY_KEYS = ("hour", "key_id", "team_id", "model", "provider", "app")
HOURLY_COLUMNS = (*HOURLY_KEYS, *SUMS, "cache_saved_pico")
LABELS_KEYS = ("hour", "kind", "label")
LABELS_COLUMNS = (*LABELS_KEYS, *SUMS)
DAILY_KEYS = ("scope", "scope_id", "day")
DAILY_COLUMNS = (*DAILY_KEYS, "cost_pico", "requests", "tokens")


def hourly(records: Sequence[GenerationRecord]) -> list[Row]:
    """The records' sums per hour and grouping, in ``HOURLY_COLUMNS`` order."""
    sums: dict[Row, list[Any]] = {}
    for r in records:
        group = (
            _hour(r),
            r.key_id,
            r.team_id or "",
            r.model or r.model_requested or "",
            r.provider or "",
            r.app or "",
        )
        _add(sums, group, (*_counts(r), r.cache_saved_pico))
    return _rows(sums)


def labels_hourly(records: Sequence[GenerationRecord]) -> list[Row]:
    """The records' sums per hour, tag, end user and agent session (a request with two tags counts
    under both, a tag given twice once), in ``LABELS_COLUMNS`` order."""
    sums: dict[Row, list[Any]] = {}
    for r in records:
        hour, counts = _hour(r), _counts(r)
        labels = [("tag", tag) for tag in dict.fromkeys(r.tags)]
        if r.end_user is not None:
            labels.append(("user", r.end_user))
        if r.session_id is not None:
            labels.append(("session", r.session_id))
        for kind, label in labels:
            _add(sums, (hour, kind, label), counts)
    return _rows(sums)


def daily(admissions: Iterable[Row]) -> list[Row]:
    """What admission rows (generation_id, key_id, team_id, at, cost_pico, tokens, tags as JSON,
    end_user) add to usage_daily, in ``DAILY_COLUMNS`` order."""
    sums: dict[Row, list[Any]] = {}
    for _, key_id, team_id, at, cost, tokens, tags, end_user in admissions:
        day = int(at // 86400)
        for scope in _scopes(key_id, team_id, tags, end_user):
            _add(sums, (*scope, day), (cost, 1, tokens))
    return _rows(sums)


def _scopes(key_id: str, team_id: str | None, tags: str, end_user: str | None) -> list[tuple[str, str]]:
    """An admission's key's and team's, each of its tags', its end user's, and that end user's under
    its key and team."""
    scopes = [("key", key_id)]
    if team_id is not None:
        scopes.append(("team", team_id))
    if tags != "[]":  # most admissions carry no tags: no parse for them
        scopes += [("tag", tag) for tag in dict.fromkeys(json.loads(tags))]
    if end_user is not None:
        scopes += [("user", end_user), ("key_user", key_id + USER_SEPARATOR + end_user)]
        if team_id is not None:
            scopes.append(("team_user", team_id + USER_SEPARATOR + end_user))
    return scopes


def _hour(r: GenerationRecord) -> int:
    return int(r.created_at // 3600) * 3600


def _counts(r: GenerationRecord) -> tuple[Any, ...]:
    """What one record adds, in ``SUMS`` order."""
    return (
        1,
        int(r.status >= 400),
        r.tokens_prompt,
        r.tokens_completion,
        r.tokens_cached,
        r.cost_pico,
        float(r.latency_ms),
    )


def _add(sums: dict[Row, list[Any]], group: Row, values: Sequence[Any]) -> None:
    found = sums.get(group)
    if found is None:
        sums[group] = list(values)
    else:
        for index, value in enumerate(values):
            found[index] += value


def _rows(sums: dict[Row, list[Any]]) -> list[Row]:
    # Sorted: concurrent batches that touch the same rows then lock them in the same order.
    return [(*group, *values) for group, values in sorted(sums.items())]
