"""The SQLite backend: one connection shared by every concern, opened and migrated at once."""

from __future__ import annotations

from pathlib import Path

import aiosqlite

from olga_cli.store.generations import RecordStore
from olga_cli.store.guardrails import GuardrailStore
from olga_cli.store.holds import HoldStore
from olga_cli.store.keys import KeyStore
from olga_cli.store.ledger import LedgerStore
from olga_cli.store.limits import AlertStore, LimitStore
from olga_cli.store.provider_health import HealthStore
from olga_cli.store.reports import ReportStore
from olga_cli.store.sqlite import connection
from olga_cli.store.sqlite.guardrails import SqliteGuardrails
from olga_cli.store.sqlite.health import SqliteHealth
from olga_cli.store.sqlite.keys import SqliteKeys
from olga_cli.store.sqlite.ledger import SqliteLedger
from olga_cli.store.sqlite.limits import SqliteAlerts, SqliteLimits
from olga_cli.store.sqlite.records import SqliteRecords
from olga_cli.store.sqlite.reports import SqliteReports


class SqliteStore:
    """Every concern of the store on one aiosqlite connection (``conn``, for SQLite-only tooling)."""

    def __init__(self, conn: aiosqlite.Connection) -> None:
        self.conn = conn
        self.keys: KeyStore = SqliteKeys(conn)
        self.ledger: LedgerStore = SqliteLedger(conn)
        self.records: RecordStore = SqliteRecords(conn)
        self.limits: LimitStore = SqliteLimits(conn)
        self.alerts: AlertStore = SqliteAlerts(conn)
        self.guardrails: GuardrailStore = SqliteGuardrails(conn)
        self.health: HealthStore = SqliteHealth(conn)
        self.reports: ReportStore = SqliteReports(conn)
        self.holds: HoldStore | None = None  # one process: its reservations in memory are exact

    async def data_version(self) -> int:
        return await connection.data_version(self.conn)

    async def schema_version(self) -> list[str]:
        return await connection.applied_migrations(self.conn)

    async def close(self) -> None:
        await self.conn.close()


async def open_sqlite(path: Path) -> SqliteStore:
    return SqliteStore(await connection.connect(path))
