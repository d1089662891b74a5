"""The guardrails in force, held in memory by the snapshot, and the screens each key gets from them.

Loaded from the store at start-up and again on every refresh (the CLI committed: `olga guardrails
add/remove` take effect on the next request). A key is screened by the global guardrails, its team's
and its own. The `Screen` for a (key, team, stage) is built on first use and kept until the next
refresh replaces the whole set, so a request pays one dict lookup per stage, and a gateway without
guardrails pays one attribute test.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Mapping

from olga_cli.guardrails import (
    Detector,
    GuardrailSpec,
    GuardrailType,
    Screen,
    Stage,
    advice_apart,
    default_detectors,
)
from olga_cli.store.base import Store
from olga_cli.store.guardrails import GuardrailRow


class GuardrailSet:
    """Guardrail specs by scope, with the screens built from them cached per key and stage."""

    __slots__ = ("_by_key", "_by_team", "_detectors", "_global", "_screens")

    def __init__(
        self, rows: Iterable[GuardrailRow] = (), *, detectors: Mapping[GuardrailType, Detector] | None = None
    ) -> None:
        self._global: list[GuardrailSpec] = []
        self._by_key: dict[str, list[GuardrailSpec]] = {}
        self._by_team: dict[str, list[GuardrailSpec]] = {}
        for row in rows:
            spec = row.spec()
            if row.scope == "global":
                self._global.append(spec)
            elif row.scope == "key" and row.scope_id:
                self._by_key.setdefault(row.scope_id, []).append(spec)
            elif row.scope == "team" and row.scope_id:
                self._by_team.setdefault(row.scope_id, []).append(spec)
        self._screens: dict[tuple[str, str | None, Stage], Screen | None] = {}
        # Detectors are stateless: one set serves every screen of this gateway.
        self._detectors = detectors

    @classmethod
    async def load(
        cls, db: Store, *, detectors: Mapping[GuardrailType, Detector] | None = None
    ) -> GuardrailSet:
        loaded = cls(await db.guardrails.list_guardrails(), detectors=detectors)
        specs = [
            *loaded._global,
            *(s for group in (*loaded._by_key.values(), *loaded._by_team.values()) for s in group),
        ]
        if {spec.type for spec in specs} - (loaded._detectors or {}).keys():
            # Built now, in a thread: the classifier takes a moment to load, which neither the loop
            # nor the first request that needs it should wait for.
            await asyncio.to_thread(loaded._detectors_for, specs)
        return loaded

    @property
    def empty(self) -> bool:
        return not (self._global or self._by_key or self._by_team)

    @property
    def detectors(self) -> Mapping[GuardrailType, Detector] | None:
        return self._detectors

    def _detectors_for(self, specs: Iterable[GuardrailSpec]) -> Mapping[GuardrailType, Detector]:
        """The shared detectors, built on first need for each type: a gateway whose guardrails are all
        PII never loads the prompt-injection classifier."""
        if self._detectors is None:
            self._detectors = {}
        missing = {spec.type for spec in specs} - self._detectors.keys()
        if missing and isinstance(self._detectors, dict):
            self._detectors.update(default_detectors(missing))
        return self._detectors

    def specs_for(self, key_id: str, team_id: str | None) -> list[GuardrailSpec]:
        """Global guardrails first, then the team's, then the key's own."""
        team = self._by_team.get(team_id, []) if team_id else []
        return [*self._global, *team, *self._by_key.get(key_id, [])]

    def screen(self, key_id: str, team_id: str | None, stage: Stage) -> Screen | None:
        """The screen of `stage` for a key, or None when no guardrail applies there."""
        if self.empty:
            return None
        cache_key = (key_id, team_id, stage)
        try:
            return self._screens[cache_key]
        except KeyError:
            pass
        specs = self.specs_for(key_id, team_id)
        # A model that only advises runs beside the upstream call (`Screen.advisory`), not before it.
        screen: Screen | None = advice_apart(specs, stage, self._detectors_for(specs))
        if screen is not None and not screen.active:
            screen = None
        self._screens[cache_key] = screen
        return screen
