"""Keys, teams, limits and records built in memory for the limit tests."""

from __future__ import annotations

from decimal import Decimal

from olga_cli.gateway.snapshot import KeyState, Snapshot
from olga_cli.records import Attempt, GenerationRecord
from olga_cli.store.keys import KeyRow, TeamRow
from olga_cli.store.limits import LimitRow


def key(
    key_id: str = "key_1",
    *,
    name: str | None = None,
    team_id: str | None = None,
    rpm: int | None = None,
    tpm: int | None = None,
) -> KeyState:
    return KeyState(
        KeyRow(
            id=key_id,
            name=name or key_id.replace("key_", "k"),
            hash=f"hash-{key_id}",
            prefix="sk-olga-xxxx",
            user_id=None,
            team_id=team_id,
            credits_enabled=False,
            rpm=rpm,
            tpm=tpm,
            models=None,
            rate_multiplier=Decimal(1),
            expires_at=None,
            zdr=False,
            disabled=False,
            created_at=0.0,
            updated_at=0.0,
            deleted_at=None,
        )
    )


def team(team_id: str = "team_1", name: str = "research") -> TeamRow:
    return TeamRow(
        id=team_id, name=name, models=None, rate_multiplier=Decimal(1), created_at=0.0, deleted_at=None
    )


def limit(
    limit_id: int, scope_id: str, metric: str, window: str, threshold: int, *, alerts: tuple[int, ...] = ()
) -> LimitRow:
    scope = "team" if scope_id.startswith("team_") else "key"
    return LimitRow(
        id=limit_id,
        scope=scope,
        scope_id=scope_id,
        metric=metric,
        window=window,  # type: ignore[arg-type]
        threshold=threshold,
        alerts=alerts,
        created_at=0.0,
    )


def snapshot(keys: list[KeyState], teams: list[TeamRow] = (), limits: list[LimitRow] = ()) -> Snapshot:  # type: ignore[assignment]
    snap = Snapshot()
    snap.by_id = {k.row.id: k for k in keys}
    snap.by_hash = {k.row.hash: k for k in keys}
    snap.teams = {t.id: t for t in teams}
    for row in limits:
        snap.limits[(row.scope, row.scope_id)] = (*snap.limits.get((row.scope, row.scope_id), ()), row)
    return snap


def record(
    state: KeyState,
    at: float,
    *,
    cost: int = 0,
    prompt: int = 0,
    completion: int = 0,
    reached: bool = True,
    gen_id: str = "gen-1",
) -> GenerationRecord:
    rec = GenerationRecord(
        id=gen_id,
        created_at=at,
        key_id=state.row.id,
        key_name=state.row.name,
        endpoint="/v1/chat/completions",
        model_requested="openai/gpt-4o-mini",
        team_id=state.row.team_id,
    )
    rec.cost_pico, rec.tokens_prompt, rec.tokens_completion = cost, prompt, completion
    rec.status = 200 if reached else 422
    if reached:
        rec.attempts.append(Attempt("openai", "gpt-4o-mini", 200, 1.0))
    return rec
