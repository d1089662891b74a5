"""Credits on the hot path: reserve a request's worst case before the call, settle on real usage after.

All of it is arithmetic on in-memory integers with no ``await`` between check and reserve, so
concurrent requests can never jointly spend more than a key's balance.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from olga_cli.catalog import DEFAULT_MAX_OUTPUT, ModelEntry
from olga_cli.errors import InsufficientCredits
from olga_cli.gateway.snapshot import KeyState
from olga_cli.money import pico_to_usd
from olga_cli.providers.usage import Usage


def requested_output(body: dict[str, Any]) -> int | None:
    """``max_tokens`` in any API's spelling, if the request sets one."""
    for name in ("max_completion_tokens", "max_tokens", "max_output_tokens"):
        value = body.get(name)
        if isinstance(value, int) and not isinstance(value, bool) and value > 0:
            return value
    return None


def requested_max_output(body: dict[str, Any], entry: ModelEntry) -> int:
    """``max_tokens`` (any API's spelling) within the model's max output, else the model's max output.
    A model never writes more than its maximum, so nothing beyond it is reserved."""
    requested = requested_output(body)
    most = entry.max_output_tokens or DEFAULT_MAX_OUTPUT
    return most if requested is None else min(requested, most) if entry.max_output_tokens else requested


def input_token_bound(raw_body: bytes) -> int:
    """An upper bound on prompt tokens: no tokenizer in use makes a token of less than one byte of text."""
    return len(raw_body)


@dataclass(slots=True)
class Reservation:
    key: KeyState
    amount: int
    settled: bool = False

    def release(self) -> None:
        if not self.settled:
            self.key.reserved -= self.amount
            self.key.in_flight -= 1
            self.settled = True


def rate_multiplier(key: KeyState, team_multiplier: Decimal | None) -> Decimal:
    multiplier = key.row.rate_multiplier
    return multiplier * team_multiplier if team_multiplier is not None else multiplier


def reserve(key: KeyState, worst_case: int, *, max_output: int) -> Reservation:
    balance = key.balance
    if balance is not None and worst_case > balance:
        raise InsufficientCredits(
            f"Insufficient credits: this request may cost up to ${pico_to_usd(worst_case)} "
            f"({max_output} output tokens at most) but the key's balance is ${pico_to_usd(max(balance, 0))}. "
            f"Top up with `olga credits topup {key.row.name} USD` or lower max_tokens."
        )
    key.reserved += worst_case
    key.in_flight += 1
    return Reservation(key, worst_case)


def settle(reservation: Reservation, cost: int) -> None:
    """Replace the reservation by the real cost (which the ledger row written with the record holds)."""
    reservation.release()
    reservation.key.spent += cost


def cost_of(entry: ModelEntry, usage: Usage, multiplier: Decimal) -> int:
    return entry.cost_pico(usage, rate_multiplier=multiplier)
