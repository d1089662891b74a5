"""The PostgreSQL backend: a connection pool shared by every concern, opened and migrated at once."""

from __future__ import annotations

import asyncpg

from olga_cli.store.circuits import CircuitStore
from olga_cli.store.generations import RecordStore
from olga_cli.store.guardrails import GuardrailStore
from olga_cli.store.holds import HoldStore
from olga_cli.store.keys import KeyStore
from olga_cli.store.ledger import LedgerStore
from olga_cli.store.limits import AlertStore, LimitStore
from olga_cli.store.postgres import connection
from olga_cli.store.postgres.circuits import PostgresCircuits
from olga_cli.store.postgres.guardrails import PostgresGuardrails
from olga_cli.store.postgres.health import PostgresHealth
from olga_cli.store.postgres.holds import PostgresHolds
from olga_cli.store.postgres.keys import PostgresKeys
from olga_cli.store.postgres.lanes import Lanes
from olga_cli.store.postgres.ledger import PostgresLedger
from olga_cli.store.postgres.limits import PostgresAlerts, PostgresLimits
from olga_cli.store.postgres.records import PostgresRecords
from olga_cli.store.postgres.reports import PostgresReports
from olga_cli.store.provider_health import HealthStore
from olga_cli.store.reports import ReportStore

# Of the pool's connections, how many at most are kept aside for requests' holds and batches (``lanes.py``).
LANES = 4


class PostgresStore:
    def __init__(self, pool: asyncpg.Pool, url: str) -> None:
        self.pool = pool
        self.url = url
        self._lanes = Lanes(pool, size=min(LANES, pool.get_max_size() // 2))
        self.keys: KeyStore = PostgresKeys(pool)
        self.ledger: LedgerStore = PostgresLedger(pool)
        self.records: RecordStore = PostgresRecords(pool, self._lanes)
        self.limits: LimitStore = PostgresLimits(pool)
        self.alerts: AlertStore = PostgresAlerts(pool)
        self.guardrails: GuardrailStore = PostgresGuardrails(pool)
        self.health: HealthStore = PostgresHealth(pool)
        self.reports: ReportStore = PostgresReports(pool)
        self.holds: HoldStore | None = PostgresHolds(pool, self._lanes)
        self.circuits: CircuitStore | None = PostgresCircuits(pool)
        self._changes = connection.Changes(pool, url)

    async def data_version(self) -> int:
        return await self._changes.version()

    async def schema_version(self) -> list[str]:
        return await connection.applied_migrations(self.pool)

    async def close(self) -> None:
        await self._changes.close()
        await self._lanes.close()
        await self.pool.close()


async def open_postgres(url: str) -> PostgresStore:
    return PostgresStore(await connection.connect(url), url)
