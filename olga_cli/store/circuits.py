"""Circuit breakers shared through the team's PostgreSQL store when there is no Redis.

Each instance keeps its breakers in memory (``gateway/upstream/breaker.py``) and admits requests from
them alone. What changes a circuit (a failure, a success after failures, a probe's end) is also sent
here, where one statement applies it as ``Breakers`` would and tells every instance; each then takes
the stored circuits into its memory at its next look at the store. The one question asked of the
store on the way of a request is who sends a half-open provider's probe, so that one instance in all
does. SQLite has none of this: one instance is alone with its breakers.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, Protocol

ProbeAnswer = Literal["probe", "skip", "pass"]


@dataclass(frozen=True, slots=True)
class CircuitRow:
    provider: str
    caller: str | None  # None: the provider's shared circuit
    failures: int
    callers: tuple[str, ...]
    opened_at: float | None  # wall clock
    probe_at: float | None


class CircuitStore(Protocol):
    async def failure(self, provider: str, caller: str | None, *, threshold: int, now: float) -> None: ...

    async def success(self, provider: str, caller: str | None) -> None:
        """The provider answered: its circuits (shared, and the caller's) are closed for all."""

    async def release(self, provider: str, caller: str | None) -> None:
        """A probe ended without a verdict: another may be sent."""

    async def probe(
        self, provider: str, caller: str | None, *, now: float, cooldown: float, lease: float
    ) -> ProbeAnswer:
        """Claim the half-open provider's probe: "probe" (this request's), "skip" (open, or another
        probe began less than ``lease`` seconds ago), "pass" (the circuits closed meanwhile)."""

    async def load(self) -> list[CircuitRow]: ...
