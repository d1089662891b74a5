"""Circuit breakers: stop sending requests to a provider that keeps failing.

    closed ──(threshold failures in a row)──> open ──(cool-down passed)──> half-open
      ^                                        ^                              │
      └────────────(probe succeeds)────────────┼──────(probe fails)───────────┘

While open, the provider is skipped (its targets fall over to the next, or the caller gets 503 with
``Retry-After``). After the cool-down one request goes through as a probe; others keep skipping until
it answers. Rate limits (429) and rejected keys are neither failures nor successes here: they are
about a key, not the provider. Times are monotonic seconds, passed in by the caller.

Each provider has a shared circuit and, for each caller (an olga key), a circuit of the caller's own.
A provider that answers one caller's requests with 500s may be failing, or may be choking on what that
caller sends: the caller's own circuit opens after ``threshold`` failures in a row, the shared one only
when the failures in a row came from at least two callers. So one key's malformed requests never shut
a provider for everyone, and a provider that is really down is still skipped by all.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Literal

from olga_cli.store.circuits import CircuitRow

State = Literal["closed", "open", "half_open"]
Admission = Literal["pass", "probe", "skip"]


@dataclass(slots=True)
class Circuit:
    failures: int = 0  # consecutive
    opened_at: float | None = None
    probing: bool = False
    callers: set[str] = field(default_factory=set)  # who saw the failures in a row

    def state(self, now: float, cooldown: float) -> State:
        if self.opened_at is None:
            return "closed"
        return "open" if now - self.opened_at < cooldown else "half_open"

    def reset(self) -> None:
        self.failures, self.opened_at, self.probing = 0, None, False
        self.callers.clear()


class Breakers:
    """All providers' circuits; state lives in this object (held by the gateway), never in a global.

    ``caller`` (the olga key's id) is optional everywhere: without it only the shared circuit counts.
    """

    def __init__(self) -> None:
        self._circuits: dict[tuple[str, str | None], Circuit] = {}

    def _both(self, provider: str, caller: str | None) -> list[Circuit]:
        """The circuits that exist for this provider and caller (shared first)."""
        found = [self._circuits.get((provider, None))]
        if caller is not None:
            found.append(self._circuits.get((provider, caller)))
        return [circuit for circuit in found if circuit is not None]

    def state(self, provider: str, *, now: float, cooldown: float, caller: str | None = None) -> State:
        states = [circuit.state(now, cooldown) for circuit in self._both(provider, caller)]
        return "open" if "open" in states else "half_open" if "half_open" in states else "closed"

    def admit(self, provider: str, *, now: float, cooldown: float, caller: str | None = None) -> Admission:
        """Whether a request may go to ``provider`` now: "pass", "skip", or "probe" (the one request let
        through half-open; its owner must end it with ``success``, ``failure`` or ``release``)."""
        circuits = self._both(provider, caller)
        states = [circuit.state(now, cooldown) for circuit in circuits]
        if "open" in states:
            return "skip"
        half_open = [c for c, s in zip(circuits, states, strict=True) if s == "half_open"]
        if not half_open:
            return "pass"
        if any(circuit.probing for circuit in half_open):
            return "skip"
        for circuit in half_open:
            circuit.probing = True
        return "probe"

    def retry_in(self, provider: str, *, now: float, cooldown: float, caller: str | None = None) -> float:
        """Seconds until ``provider`` will be probed again (0 when it may be tried now)."""
        opened = [c.opened_at for c in self._both(provider, caller) if c.opened_at is not None]
        return max((max(at + cooldown - now, 0.0) for at in opened), default=0.0)

    def success(self, provider: str, caller: str | None = None) -> None:
        for circuit in self._both(provider, caller):
            circuit.reset()

    def failure(self, provider: str, *, now: float, threshold: int, caller: str | None = None) -> None:
        shared = self._circuits.setdefault((provider, None), Circuit())
        shared.failures += 1
        shared.callers.add(caller or "")
        # With callers named, a run of failures must span two of them to shut the provider for all.
        enough = shared.failures >= threshold and (caller is None or len(shared.callers) >= 2)
        if shared.probing or enough:
            shared.opened_at, shared.probing = now, False
        if caller is not None:
            own = self._circuits.setdefault((provider, caller), Circuit())
            own.failures += 1
            if own.probing or own.failures >= threshold:
                own.opened_at, own.probing = now, False

    def release(self, provider: str, caller: str | None = None) -> None:
        """A probe ended without a verdict (a 429, a rejected key, a caller who left): let another probe."""
        for circuit in self._both(provider, caller):
            circuit.probing = False

    def dirty(self, provider: str, caller: str | None = None) -> bool:
        """Whether a success has anything to reset (failures counted, or a circuit open)."""
        return any(c.failures or c.opened_at is not None for c in self._both(provider, caller))

    def adopt(self, rows: Iterable[CircuitRow], *, now: float, wall: float) -> None:
        """Take the team's circuits in place of this instance's (team mode without Redis): ``now`` is
        this process's monotonic clock and ``wall`` the wall clock the rows' times are on. A probe in
        flight is not taken: the store says who sends the next one."""
        self._circuits = {
            (row.provider, row.caller): Circuit(
                row.failures,
                None if row.opened_at is None else now - (wall - row.opened_at),
                False,
                set(row.callers),
            )
            for row in rows
        }
