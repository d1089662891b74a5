"""The usage roll-ups, summed in Python over a whole batch and written with it in its transaction.

Three tables answer `olga usage`, the limits' daily counts and the label reports without scanning
the records: ``usage_hourly`` (by key, team, model, provider and app), ``usage_labels_hourly`` (by
tag, end user and agent session) and ``usage_daily`` (each admission by key, team, tag, end user and
their pairs). Until migration 020 triggers kept them: ten upserts (most of them skipped by their
WHERE) run for every record inserted, 20-35 µs of the writer's CPU per record in a batch of 16.
Here each roll-up row a batch touches takes one upsert with the batch's sums, in the same
transaction as the records, so a report never sees a record without its sums or the reverse.

The sums are those the triggers made: the same columns, the same hour and day (``CAST(x / 3600 AS
INTEGER)`` truncates as ``int`` does), the same NULL rules; a sum past 64 bits goes in as a float, as
SQLite's own addition makes it.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from typing import Any

from olga_cli.store.generations import RECORD_COLUMNS

Row = Sequence[Any]
Statements = list[tuple[str, list[tuple[Any, ...]]]]

_HOURLY = """
INSERT INTO usage_hourly (hour, key_id, team_id, model, provider, app, requests, errors, tokens_prompt,
                          tokens_completion, tokens_cached, cost_pico, latency_ms, cache_saved_pico)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
ON CONFLICT (hour, key_id, team_id, model, provider, app) DO UPDATE SET
    requests = requests + excluded.requests,
    errors = errors + excluded.errors,
    tokens_prompt = tokens_prompt + excluded.tokens_prompt,
    tokens_completion = tokens_completion + excluded.tokens_completion,
    tokens_cached = tokens_cached + excluded.tokens_cached,
    cost_pico = cost_pico + excluded.cost_pico,
    latency_ms = latency_ms + excluded.latency_ms,
    cache_saved_pico = cache_saved_pico + excluded.cache_saved_pico
"""
_LABELS = """
INSERT INTO usage_labels_hourly (hour, kind, label, requests, errors, tokens_prompt, tokens_completion,
                                 tokens_cached, cost_pico, latency_ms)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
ON CONFLICT (hour, kind, label) DO UPDATE SET
    requests = requests + excluded.requests,
    errors = errors + excluded.errors,
    tokens_prompt = tokens_prompt + excluded.tokens_prompt,
    tokens_completion = tokens_completion + excluded.tokens_completion,
    tokens_cached = tokens_cached + excluded.tokens_cached,
    cost_pico = cost_pico + excluded.cost_pico,
    latency_ms = latency_ms + excluded.latency_ms
"""
_DAILY = """
INSERT INTO usage_daily (scope, scope_id, day, cost_pico, requests, tokens) VALUES (?, ?, ?, ?, ?, ?)
ON CONFLICT (scope, scope_id, day) DO UPDATE SET
    cost_pico = cost_pico + excluded.cost_pico,
    requests = requests + excluded.requests,
    tokens = tokens + excluded.tokens
"""
STATEMENTS = (_HOURLY, _LABELS, _DAILY)

_AT = {name: index for index, name in enumerate(RECORD_COLUMNS)}
_SEP = "\x1f"  # char(31): between a key (or team) and an end user in usage_daily's pair scopes
_INT64 = 2**63


def rollup_statements(records: Iterable[Row], admissions: Iterable[Row]) -> Statements:
    """The upserts for a batch: ``records`` are generations rows in ``RECORD_COLUMNS`` order,
    ``admissions`` the params of its admission rows (generation_id, key_id, team_id, at, cost_pico,
    tokens, tags, end_user)."""
    hourly: dict[tuple[Any, ...], list[Any]] = {}
    labels: dict[tuple[Any, ...], list[Any]] = {}
    for row in records:
        hour, sums = _hourly_sums(row)
        _add(hourly, (hour, *_hourly_group(row)), sums)
        for kind, label in _labels_of(row):
            _add(labels, (hour, kind, label), sums[:7])
    daily: dict[tuple[Any, ...], list[Any]] = {}
    for _generation_id, key_id, team_id, at, cost, tokens, tags, end_user in admissions:
        day = int(at / 86400)
        for scope, scope_id in _scopes(key_id, team_id, tags, end_user):
            _add(daily, (scope, scope_id, day), [cost, 1, tokens])
    statements: Statements = []
    for sql, groups in ((_HOURLY, hourly), (_LABELS, labels), (_DAILY, daily)):
        if groups:
            statements.append((sql, [(*group, *map(_bindable, sums)) for group, sums in groups.items()]))
    return statements


def _hourly_sums(row: Row) -> tuple[int, list[Any]]:
    """The record's hour, and what it adds: requests, errors, tokens (prompt, completion, cached),
    cost, latency, and (for usage_hourly only, last) the cache's saving."""
    hour = int(row[_AT["created_at"]] / 3600) * 3600
    sums = [
        1,
        int(row[_AT["status"]] >= 400),
        row[_AT["tokens_prompt"]],
        row[_AT["tokens_completion"]],
        row[_AT["tokens_cached"]],
        row[_AT["cost_pico"]],
        row[_AT["latency_ms"]],
        row[_AT["cache_saved_pico"]],
    ]
    return hour, sums


def _hourly_group(row: Row) -> tuple[Any, ...]:
    model = row[_AT["model"]]
    if model is None:
        model = row[_AT["model_requested"]]
    return (
        row[_AT["key_id"]],
        _or_empty(row[_AT["team_id"]]),
        _or_empty(model),
        _or_empty(row[_AT["provider"]]),
        _or_empty(row[_AT["app"]]),
    )


def _labels_of(row: Row) -> list[tuple[str, Any]]:
    found = [("tag", tag) for tag in dict.fromkeys(_tags(row[_AT["tags"]]))]
    for kind, column in (("user", "end_user"), ("session", "session_id")):
        if row[_AT[column]] is not None:
            found.append((kind, row[_AT[column]]))
    return found


def _scopes(key_id: str, team_id: str | None, tags: str, end_user: str | None) -> list[tuple[str, str]]:
    scopes = [("key", key_id)]
    if team_id is not None:
        scopes.append(("team", team_id))
    scopes += [("tag", tag) for tag in dict.fromkeys(_tags(tags))]
    if end_user is not None:
        scopes += [("user", end_user), ("key_user", key_id + _SEP + end_user)]
        if team_id is not None:
            scopes.append(("team_user", team_id + _SEP + end_user))
    return scopes


def _tags(text: str | None) -> list[Any]:
    if not text or text == "[]":
        return []
    tags = json.loads(text)
    return tags if isinstance(tags, list) else []


def _add(groups: dict[tuple[Any, ...], list[Any]], group: tuple[Any, ...], sums: list[Any]) -> None:
    found = groups.get(group)
    if found is None:
        groups[group] = list(sums)
    else:
        for index, value in enumerate(sums):
            found[index] += value


def _or_empty(value: Any) -> Any:
    return "" if value is None else value


def _bindable(value: Any) -> Any:
    """A sum past 64 bits becomes a float, as SQLite's own integer addition makes it."""
    if isinstance(value, int) and not -_INT64 <= value < _INT64:
        return float(value)
    return value
