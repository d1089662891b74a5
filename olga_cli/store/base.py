"""The store as the rest of olga sees it: one interface per concern, one object holding them all.

Code outside ``store/`` holds a ``Store`` and asks its parts (``store.keys.get_key(ref)``,
``store.records.write_batch(...)``); it never sees a connection or a line of SQL, so the SQLite
backend (``store/sqlite/``) can be joined by others behind the same interfaces.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:  # a command loads only the concerns it asks for (`olga keys list` never the records')
    from olga_cli.store.circuits import CircuitStore
    from olga_cli.store.generations import RecordStore
    from olga_cli.store.guardrails import GuardrailStore
    from olga_cli.store.holds import HoldStore
    from olga_cli.store.keys import KeyStore
    from olga_cli.store.ledger import LedgerStore
    from olga_cli.store.limits import AlertStore, LimitStore
    from olga_cli.store.provider_health import HealthStore
    from olga_cli.store.reports import ReportStore


class Store(Protocol):
    # Read-only, so that a backend may open a concern on first use.
    @property
    def keys(self) -> KeyStore: ...
    @property
    def ledger(self) -> LedgerStore: ...
    @property
    def records(self) -> RecordStore: ...
    @property
    def limits(self) -> LimitStore: ...
    @property
    def alerts(self) -> AlertStore: ...
    @property
    def guardrails(self) -> GuardrailStore: ...
    @property
    def health(self) -> HealthStore: ...
    @property
    def reports(self) -> ReportStore: ...
    @property
    def holds(self) -> HoldStore | None:
        """Team mode's shared admission; None where one process is the only spender (SQLite)."""

    @property
    def circuits(self) -> CircuitStore | None:
        """Team mode's circuit breakers, for instances without Redis; None on SQLite."""

    async def data_version(self) -> int:
        """A number that changes whenever another connection (the CLI, another process) commits."""

    async def schema_version(self) -> list[str]:
        """The names of the migrations applied, in order."""

    async def close(self) -> None: ...
