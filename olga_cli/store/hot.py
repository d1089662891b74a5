"""Team mode's hot shared state: what every instance consults on every request and forgets within
minutes. It lives in Redis when ``--redis-url`` is given (``store/redis/``); money never does.

    rates     the sliding minute of each key's requests and tokens (--rpm, --tpm)
    rests     provider keys resting after a 429, checked before a key is used
    circuits  circuit breakers per provider and per caller (``gateway/upstream/breaker.py``)

Every call raises ``HotUnavailable`` when Redis does not answer; the gateway then falls back to
what it has without Redis (``gateway/admission/shared.py``, ``gateway/upstream/shared.py`` say what).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal, Protocol

from olga_cli.errors import HotUnavailable

__all__ = ["HotUnavailable"]  # raised by every call of the protocols below

RateAnswer = Literal["ok", "unknown", "rpm", "tpm"]
Admission = Literal["pass", "probe", "skip"]


@dataclass(frozen=True, slots=True)
class RestAnswer:
    usable: int | None  # the index of the first candidate not resting; None when all rest
    back_in: float | None  # all rest: seconds until the first comes back


@dataclass(frozen=True, slots=True)
class CircuitAnswer:
    admission: Admission
    retry_in: float  # skip: seconds until the provider is probed again
    dirty: bool  # pass: some failures are counted, so a success has something to reset
    rest: RestAnswer | None = None  # admitted with candidate keys: the first not resting


class RateCounters(Protocol):
    async def take(
        self, key_id: str, hold_id: str, *, at: float, rpm: int | None, tpm: int | None, tokens: int
    ) -> RateAnswer:
        """Count the request in its key's minute unless the key is at a limit ("rpm", "tpm"); "unknown"
        (counted, but the minute may miss requests: Redis has counted for less than a minute)."""

    async def settle(self, key_id: str, hold_id: str, tokens: int) -> None:
        """Replace the request's token estimate with what it used."""

    async def release(self, key_id: str, hold_id: str) -> None:
        """The request leaves no record: it stops counting."""


class KeyRests(Protocol):
    async def first_usable(
        self, provider: str, candidates: Sequence[tuple[str, str]], *, reset_at: float
    ) -> RestAnswer:
        """The first (label, fingerprint) not resting; rests older than ``reset_at`` do not count."""

    async def rest(
        self, provider: str, label: str, fingerprint: str, *, since: float, seconds: float
    ) -> None:
        """The key rests ``seconds`` for every instance."""


class Circuits(Protocol):
    async def admit(
        self,
        provider: str,
        caller: str | None,
        *,
        cooldown: float,
        lease: float,
        keys: Sequence[tuple[str, str]] = (),
        reset_at: float = float("-inf"),
    ) -> CircuitAnswer:
        """As ``Breakers.admit``; a probe not ended within ``lease`` seconds lets another through.
        Given candidate ``keys`` (as ``KeyRests.first_usable``), an admitted request also learns which
        to send with, in the same round trip."""

    async def failure(self, provider: str, caller: str | None, *, threshold: int) -> None: ...

    async def success(self, provider: str, caller: str | None) -> None: ...

    async def release(self, provider: str, caller: str | None) -> None: ...


class HotState(Protocol):
    rates: RateCounters
    rests: KeyRests
    circuits: Circuits
    where: str  # the server, without its password, and the key prefix

    @property
    def up(self) -> bool:
        """Whether the last word from Redis was an answer."""

    async def ping(self) -> bool:
        """Ask Redis now; True once it answers again after an outage."""

    async def close(self) -> None: ...
