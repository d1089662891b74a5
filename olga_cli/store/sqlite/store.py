"""The SQLite backend: one connection shared by every concern, opened and migrated at once."""

from __future__ import annotations

from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING

import aiosqlite

from olga_cli.store.sqlite import connection

if TYPE_CHECKING:
    from olga_cli.store.circuits import CircuitStore
    from olga_cli.store.generations import RecordStore
    from olga_cli.store.guardrails import GuardrailStore
    from olga_cli.store.holds import HoldStore
    from olga_cli.store.keys import KeyStore
    from olga_cli.store.ledger import LedgerStore
    from olga_cli.store.limits import AlertStore, LimitStore
    from olga_cli.store.provider_health import HealthStore
    from olga_cli.store.reports import ReportStore


class SqliteStore:
    """Every concern of the store on one aiosqlite connection (``conn``, for SQLite-only tooling).

    Each concern is opened on first use: a command pays at start only for the modules it uses.
    """

    def __init__(self, conn: aiosqlite.Connection, path: Path | None = None) -> None:
        self.conn = conn
        self._path = path  # the file, for the records' checkpoints on a connection of their own
        self.holds: HoldStore | None = None  # one process: its reservations in memory are exact
        self.circuits: CircuitStore | None = None  # and its breakers in memory are the only ones

    @cached_property
    def keys(self) -> KeyStore:
        from olga_cli.store.sqlite.keys import SqliteKeys

        return SqliteKeys(self.conn)

    @cached_property
    def ledger(self) -> LedgerStore:
        from olga_cli.store.sqlite.ledger import SqliteLedger

        return SqliteLedger(self.conn)

    @cached_property
    def records(self) -> RecordStore:
        from olga_cli.store.sqlite.records import SqliteRecords

        return SqliteRecords(self.conn, self._path)

    @cached_property
    def limits(self) -> LimitStore:
        from olga_cli.store.sqlite.limits import SqliteLimits

        return SqliteLimits(self.conn)

    @cached_property
    def alerts(self) -> AlertStore:
        from olga_cli.store.sqlite.limits import SqliteAlerts

        return SqliteAlerts(self.conn)

    @cached_property
    def guardrails(self) -> GuardrailStore:
        from olga_cli.store.sqlite.guardrails import SqliteGuardrails

        return SqliteGuardrails(self.conn)

    @cached_property
    def health(self) -> HealthStore:
        from olga_cli.store.sqlite.health import SqliteHealth

        return SqliteHealth(self.conn)

    @cached_property
    def reports(self) -> ReportStore:
        from olga_cli.store.sqlite.reports import SqliteReports

        return SqliteReports(self.conn)

    async def data_version(self) -> int:
        return await connection.data_version(self.conn)

    async def schema_version(self) -> list[str]:
        return await connection.applied_migrations(self.conn)

    async def close(self) -> None:
        records = self.__dict__.get("records")  # opened only if used
        if records is not None:
            await records.close()
        await self.conn.close()


async def open_sqlite(path: Path) -> SqliteStore:
    return SqliteStore(await connection.connect(path), path)
