"""Circuit breakers, one per provider: stop sending requests to a provider that keeps failing.

    closed ──(threshold failures in a row)──> open ──(cool-down passed)──> half-open
      ^                                        ^                              │
      └────────────(probe succeeds)────────────┼──────(probe fails)───────────┘

While open, the provider is skipped (its targets fall over to the next, or the caller gets 503 with
``Retry-After``). After the cool-down one request goes through as a probe; others keep skipping until
it answers. Rate limits (429) and rejected keys are neither failures nor successes here: they are
about a key, not the provider. Times are monotonic seconds, passed in by the caller.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

State = Literal["closed", "open", "half_open"]
Admission = Literal["pass", "probe", "skip"]


@dataclass(slots=True)
class Circuit:
    failures: int = 0  # consecutive
    opened_at: float | None = None
    probing: bool = False

    def state(self, now: float, cooldown: float) -> State:
        if self.opened_at is None:
            return "closed"
        return "open" if now - self.opened_at < cooldown else "half_open"


class Breakers:
    """All providers' circuits; state lives in this object (held by the gateway), never in a global."""

    def __init__(self) -> None:
        self._circuits: dict[str, Circuit] = {}

    def _circuit(self, provider: str) -> Circuit:
        return self._circuits.setdefault(provider, Circuit())

    def state(self, provider: str, *, now: float, cooldown: float) -> State:
        circuit = self._circuits.get(provider)
        return circuit.state(now, cooldown) if circuit is not None else "closed"

    def admit(self, provider: str, *, now: float, cooldown: float) -> Admission:
        """Whether a request may go to ``provider`` now: "pass", "skip", or "probe" (the one request let
        through half-open; its owner must end it with ``success``, ``failure`` or ``release``)."""
        circuit = self._circuits.get(provider)
        if circuit is None:
            return "pass"
        state = circuit.state(now, cooldown)
        if state == "closed":
            return "pass"
        if state == "open" or circuit.probing:
            return "skip"
        circuit.probing = True
        return "probe"

    def retry_in(self, provider: str, *, now: float, cooldown: float) -> float:
        """Seconds until ``provider`` will be probed again (0 when it may be tried now)."""
        circuit = self._circuits.get(provider)
        if circuit is None or circuit.opened_at is None:
            return 0.0
        return max(circuit.opened_at + cooldown - now, 0.0)

    def success(self, provider: str) -> None:
        circuit = self._circuit(provider)
        circuit.failures, circuit.opened_at, circuit.probing = 0, None, False

    def failure(self, provider: str, *, now: float, threshold: int) -> None:
        circuit = self._circuit(provider)
        circuit.failures += 1
        if circuit.probing or circuit.failures >= threshold:
            circuit.opened_at, circuit.probing = now, False

    def release(self, provider: str) -> None:
        """A probe ended without a verdict (a 429, a rejected key, a caller who left): let another probe."""
        circuit = self._circuits.get(provider)
        if circuit is not None:
            circuit.probing = False
