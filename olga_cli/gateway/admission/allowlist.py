"""Model allow-lists on keys and teams: a model is allowed when every list that exists names it."""

from __future__ import annotations

from collections.abc import Iterable

from olga_cli.catalog import ModelEntry
from olga_cli.errors import ModelNotAllowed
from olga_cli.gateway.snapshot import KeyState, Snapshot


def _names(entry: ModelEntry, model_id: str) -> set[str]:
    return {
        model_id,
        entry.id,
        entry.upstream,
        *entry.aliases,
        f"{entry.provider}/*",
        model_id.split("/", 1)[0] + "/*",
    }


def _allows(allowed: Iterable[str] | None, names: set[str]) -> bool:
    return allowed is None or any(name in names for name in allowed)


def is_allowed(snapshot: Snapshot, key: KeyState, entry: ModelEntry, model_id: str) -> bool:
    names = _names(entry, model_id)
    if not _allows(key.row.models, names):
        return False
    team = snapshot.teams.get(key.row.team_id) if key.row.team_id else None
    return team is None or _allows(team.models, names)


def check_allowed(snapshot: Snapshot, key: KeyState, entry: ModelEntry, model_id: str) -> None:
    if not is_allowed(snapshot, key, entry, model_id):
        scope = "key" if not _allows(key.row.models, _names(entry, model_id)) else "team"
        team = snapshot.teams.get(key.row.team_id) if key.row.team_id else None
        command = (
            f"keys update {key.row.name}" if scope == "key" or team is None else f"teams update {team.name}"
        )
        raise ModelNotAllowed(
            f"Model '{model_id}' is not allowed for this {scope}. "
            f"Use one of the models listed by GET /v1/models, or widen the allow-list with "
            f"`olga {command} --models ...`."
        )
