"""Keys, teams, balances and usage-limit definitions in memory, so no request waits on the store.

The snapshot is built from the store at start-up and refreshed when another process (the CLI)
commits: key, team and limit rows and credit totals are re-read, while spend and reservations,
which only this process changes, are kept. A key's balance is ``credits - spent - reserved``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from olga_cli.gateway.relay.guardrail_set import GuardrailSet
from olga_cli.store.base import Store
from olga_cli.store.keys import KeyRow, TeamRow
from olga_cli.store.limits import LimitRow


@dataclass(slots=True)
class KeyState:
    row: KeyRow
    credits: int = 0
    spent: int = 0
    reserved: int = 0
    in_flight: int = 0

    @property
    def capped(self) -> bool:
        return self.row.credits_enabled

    @property
    def balance(self) -> int | None:
        """What the key can still spend, reservations of requests in flight deducted."""
        return self.credits - self.spent - self.reserved if self.capped else None

    @property
    def settled_balance(self) -> int | None:
        return self.credits - self.spent if self.capped else None


@dataclass(slots=True)
class Snapshot:
    by_hash: dict[str, KeyState] = field(default_factory=dict)
    by_id: dict[str, KeyState] = field(default_factory=dict)
    teams: dict[str, TeamRow] = field(default_factory=dict)
    # Usage limits by (scope, key or team id), as defined with `olga limits add`.
    limits: dict[tuple[str, str], tuple[LimitRow, ...]] = field(default_factory=dict)
    # Guardrails in force (`olga guardrails add`), with each key's screens cached until the next refresh.
    guardrails: GuardrailSet = field(default_factory=GuardrailSet)

    async def load(self, db: Store) -> None:
        spent = await db.ledger.spend_totals()
        await self.refresh(db)
        for key_id, state in self.by_id.items():
            state.spent = spent.get(key_id, 0)

    async def refresh(self, db: Store) -> None:
        rows = await db.keys.list_keys(include_deleted=True)
        credits = await db.ledger.credit_totals()
        teams = await db.keys.list_teams()
        by_id: dict[str, KeyState] = {}
        for row in rows:
            state = self.by_id.get(row.id)
            if state is None:
                state = KeyState(row)
            else:
                state.row = row
            state.credits = credits.get(row.id, 0)
            by_id[row.id] = state
        self.by_id = by_id
        self.by_hash = {state.row.hash: state for state in by_id.values()}
        self.teams = {team.id: team for team in teams}
        limits: dict[tuple[str, str], tuple[LimitRow, ...]] = {}
        for limit in await db.limits.list_limits():
            limits[(limit.scope, limit.scope_id)] = (*limits.get((limit.scope, limit.scope_id), ()), limit)
        self.limits = limits
        self.guardrails = await GuardrailSet.load(db, detectors=self.guardrails.detectors)
