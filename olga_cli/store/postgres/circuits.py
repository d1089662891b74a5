"""Circuit breakers of instances without Redis, in PostgreSQL (migration 014's table and functions)."""

from __future__ import annotations

import asyncpg

from olga_cli.store.circuits import CircuitRow, ProbeAnswer
from olga_cli.store.postgres.connection import notify, transaction


class PostgresCircuits:
    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool

    async def failure(self, provider: str, caller: str | None, *, threshold: int, now: float) -> None:
        await self._pool.execute(
            "SELECT olga_circuit_failure($1, $2, $3, $4)", provider, caller, threshold, now
        )

    async def success(self, provider: str, caller: str | None) -> None:
        async with transaction(self._pool) as conn:
            await conn.execute(
                "DELETE FROM circuits WHERE provider = $1 AND caller IN ('', $2)", provider, caller or ""
            )
            await notify(conn)

    async def release(self, provider: str, caller: str | None) -> None:
        await self._pool.execute(
            "UPDATE circuits SET probe_at = NULL WHERE provider = $1 AND caller IN ('', $2)",
            provider,
            caller or "",
        )

    async def probe(
        self, provider: str, caller: str | None, *, now: float, cooldown: float, lease: float
    ) -> ProbeAnswer:
        answer = await self._pool.fetchval(
            "SELECT olga_circuit_probe($1, $2, $3, $4, $5)", provider, caller, now, cooldown, lease
        )
        assert answer in ("probe", "skip", "pass"), answer
        return answer  # type: ignore[no-any-return]

    async def load(self) -> list[CircuitRow]:
        rows = await self._pool.fetch(
            "SELECT provider, caller, failures, callers, opened_at, probe_at FROM circuits"
        )
        return [
            CircuitRow(
                r["provider"],
                r["caller"] or None,
                int(r["failures"]),
                tuple(r["callers"]),
                r["opened_at"],
                r["probe_at"],
            )
            for r in rows
        ]
