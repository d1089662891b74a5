"""One key's or team's usage counters: settled per UTC day, and held per day by requests in flight."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from olga_cli.gateway.admission.windows import first_day
from olga_cli.store.limits import DayUsage


@dataclass(slots=True)
class Amounts:
    cost: int = 0
    requests: int = 0
    tokens: int = 0

    def of(self, metric: str) -> int:
        return self.cost if metric == "cost" else self.requests if metric == "requests" else self.tokens

    def add(self, other: Amounts, sign: int = 1) -> None:
        self.cost += sign * other.cost
        self.requests += sign * other.requests
        self.tokens += sign * other.tokens


class ScopeUsage:
    """One key's or team's usage: settled per UTC day, and held per day by requests in flight."""

    __slots__ = ("days", "held", "total", "total_held")

    def __init__(self) -> None:
        self.days: dict[int, Amounts] = {}
        self.held: dict[int, Amounts] = {}
        self.total = Amounts()
        self.total_held = Amounts()

    @classmethod
    def from_days(cls, days: Mapping[int, DayUsage]) -> ScopeUsage:
        usage = cls()
        for day, row in days.items():
            usage.settle(day, Amounts(row.cost, row.requests, row.tokens))
        return usage

    def used(self, window: str, day: int, metric: str, *, held: bool = True) -> int:
        if window == "all-time":
            return self.total.of(metric) + (self.total_held.of(metric) if held else 0)
        total = 0
        for d in range(first_day(window, day), day + 1):
            amounts = self.days.get(d)
            if amounts is not None:
                total += amounts.of(metric)
            if held:
                amounts = self.held.get(d)
                if amounts is not None:
                    total += amounts.of(metric)
        return total

    def hold(self, day: int, amounts: Amounts, sign: int = 1) -> None:
        self.held.setdefault(day, Amounts()).add(amounts, sign)
        self.total_held.add(amounts, sign)

    def settle(self, day: int, amounts: Amounts) -> None:
        self.days.setdefault(day, Amounts()).add(amounts)
        self.total.add(amounts)
