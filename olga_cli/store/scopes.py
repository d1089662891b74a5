"""Rows that belong to a key or a team (limits, guardrails) live only as long as their owner does."""

from __future__ import annotations


def live_scope(alias: str, *, with_global: bool = False) -> str:
    """SQL true for a row of table ``alias`` that is not deleted and whose key or team is not either.

    Limits on each end user of a key or team (``key_each_user``, ``team_each_user``) go with that key
    or team; limits on a tag or an end user have no owner and live until removed.
    """
    owners = [
        (
            f"({alias}.scope IN ('key', 'key_each_user') AND EXISTS"
            f" (SELECT 1 FROM keys k WHERE k.id = {alias}.scope_id AND k.deleted_at IS NULL))"
        ),
        (
            f"({alias}.scope IN ('team', 'team_each_user') AND EXISTS"
            f" (SELECT 1 FROM teams t WHERE t.id = {alias}.scope_id AND t.deleted_at IS NULL))"
        ),
        f"{alias}.scope IN ('tag', 'user')",
    ]
    if with_global:
        owners.insert(0, f"{alias}.scope = 'global'")
    return f"{alias}.deleted_at IS NULL AND ({' OR '.join(owners)})"
