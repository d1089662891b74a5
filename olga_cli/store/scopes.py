"""Rows that belong to a key or a team (limits, guardrails) live only as long as their owner does."""

from __future__ import annotations


def live_scope(alias: str, *, with_global: bool = False) -> str:
    """SQL true for a row of table ``alias`` that is not deleted and whose key or team is not either."""
    owners = [
        (
            f"({alias}.scope = 'key' AND EXISTS"
            f" (SELECT 1 FROM keys k WHERE k.id = {alias}.scope_id AND k.deleted_at IS NULL))"
        ),
        (
            f"({alias}.scope = 'team' AND EXISTS"
            f" (SELECT 1 FROM teams t WHERE t.id = {alias}.scope_id AND t.deleted_at IS NULL))"
        ),
    ]
    if with_global:
        owners.insert(0, f"{alias}.scope = 'global'")
    return f"{alias}.deleted_at IS NULL AND ({' OR '.join(owners)})"
