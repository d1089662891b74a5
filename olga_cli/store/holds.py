"""Holds: what requests in flight take from credits and limits, agreed on by every instance.

One process on SQLite keeps its reservations in memory (``gateway/admission``): nothing else spends.
Several instances on PostgreSQL must agree, so in team mode each admitted request also takes a hold
in the store, checked and taken in one atomic step against the key's balance, its and its team's
usage limits and its rate limits, counting every instance's holds. A hold ends with the record that
settles it (in the same transaction as the charge) or, if its instance dies, when the instance's
lease runs out: the money comes back by itself.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, Protocol

from olga_cli.store.extras import Extra
from olga_cli.store.limits import DayUsage


@dataclass(frozen=True, slots=True)
class LimitCheck:
    """One usage limit to hold the request to: ``used >= threshold`` since ``first_day`` refuses."""

    limit_id: int
    scope: str  # the usage scope counted, as in usage_daily
    scope_id: str
    metric: str  # cost | requests | tokens
    first_day: int
    threshold: int


@dataclass(frozen=True, slots=True)
class HoldRequest:
    id: str  # the generation id
    instance: str
    key_id: str
    team_id: str | None
    at: float
    capped: bool  # the key's credits are enforced
    credits: int  # the worst case reserved against the balance
    cost: int  # held against cost limits
    tokens: int  # held against token limits
    rate_tokens: int  # held against --tpm
    rpm: int | None
    tpm: int | None
    limits: tuple[LimitCheck, ...] = ()
    # The tags and end users the hold counts for, as "scope:id" of their usage ("tag:checkout").
    labels: tuple[str, ...] = ()
    # How --rpm/--tpm were checked: "pg" (here), "redis" (already, in Redis), "lost" (Redis did not
    # answer: here, and every instance checks them here too for the next minute).
    rate_mode: Literal["pg", "redis", "lost"] = "pg"


@dataclass(frozen=True, slots=True)
class Refusal:
    reason: Literal["credits", "limit", "rpm", "tpm"]
    balance: int = 0  # credits: what the key could still spend
    limit_id: int = 0  # limit: which one


@dataclass(frozen=True, slots=True)
class KeyFigures:
    """A key's and its team's usage as every instance has it, for ``GET /v1/key``."""

    # Settled, per (scope, id) per UTC day (usage_daily); held by requests in flight on any instance,
    # per day of their admission (requests: how many).
    settled: dict[tuple[str, str], dict[int, DayUsage]]
    held: dict[tuple[str, str], dict[int, DayUsage]]
    # The key's sliding minute: (admitted at, tokens) of its requests, recorded or in flight.
    minute: list[tuple[float, int]]


def hold_settle(hold_id: str) -> Extra:
    """End a hold in the batch that commits its record and charge."""
    return Extra("hold_settle", (hold_id,))


def slice_draw(slice_id: str, credits: int) -> Extra:
    """Take what a request admitted against a slice cost off the slice, in the batch of its charge."""
    return Extra("slice_draw", (slice_id, credits))


class HoldStore(Protocol):
    async def take(self, request: HoldRequest) -> Refusal | None:
        """Check and take, atomically across instances; the refusal says why when it cannot."""

    async def release(self, hold_id: str) -> None:
        """End a hold whose request leaves no record."""

    async def take_slice(
        self, slice_id: str, instance: str, key_id: str, at: float, credits: int, floor: int
    ) -> bool:
        """Reserve ``credits`` of the key's balance for the instance to admit against (migration 019),
        if what is left free after it still covers ``floor``; False (nothing taken) if not."""

    async def return_slice(self, slice_id: str) -> None:
        """Give back what a slice still reserves; nothing if it is gone already."""

    async def beat(self, instance: str, now: float) -> None:
        """Renew the instance's lease on its holds."""

    async def sweep(self, now: float, lease: float) -> int:
        """End the holds of instances silent for longer than ``lease``; returns how many."""

    async def leave(self, instance: str) -> None:
        """A clean shutdown: the instance's holds (none should be left) and lease go."""

    async def balance(self, key_id: str) -> tuple[int, int, int] | None:
        """(credits, spent, reserved) of the key as every instance has them; None for a key never
        topped up nor charged."""

    async def key_figures(self, key_id: str, team_id: str | None, now: float) -> KeyFigures:
        """The key's and its team's usage and the key's minute, counting every instance, in one read.

        The minute is read here even with Redis: every request is in ``holds`` from its admission and
        in ``admissions`` from the commit of its record (the same transaction ends its hold), so this
        store has every instance's requests, including those admitted while Redis was away."""

    async def distrust_rates(self, at: float) -> None:
        """Redis came back from an outage (its minutes may miss what was admitted meanwhile): every
        instance checks the rate limits here too for the next minute."""
