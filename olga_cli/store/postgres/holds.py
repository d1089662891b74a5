"""Team mode's shared admission in PostgreSQL: holds taken by ``olga_take_hold`` (migration 002),
ended by their record's batch, by a release, or by the sweep of instances whose lease ran out."""

from __future__ import annotations

from typing import Any

import asyncpg

from olga_cli.store.holds import HoldRequest, KeyFigures, Refusal
from olga_cli.store.limits import DayUsage
from olga_cli.store.postgres.lanes import Lanes


def _give_back(table: str) -> str:
    """One statement ending a row of ``table`` (a hold, a slice of credit) and giving what it still
    reserves back to its key's balance; nothing if the row is gone already."""
    return f"""
WITH gone AS (DELETE FROM {table} WHERE id = $1 RETURNING key_id, credits)
UPDATE balances SET reserved = balances.reserved - gone.credits FROM gone WHERE balances.key_id = gone.key_id
"""


RELEASE_HOLD = _give_back("holds")
RETURN_SLICE = _give_back("credit_slices")

# A dead instance's holds and slices (migration 019) go back together; it counts the holds freed.
_SWEEP = """
WITH dead AS (DELETE FROM instances WHERE seen_at < $1 RETURNING id),
     h AS (DELETE FROM holds WHERE instance IN (SELECT id FROM dead)
                               OR instance NOT IN (SELECT id FROM instances) RETURNING key_id, credits),
     s AS (DELETE FROM credit_slices WHERE instance IN (SELECT id FROM dead)
                                       OR instance NOT IN (SELECT id FROM instances) RETURNING key_id, credits),
     per_key AS (SELECT key_id, SUM(credits) AS credits, SUM(n) AS n FROM (
                     SELECT key_id, credits, 1 AS n FROM h UNION ALL SELECT key_id, credits, 0 FROM s
                 ) AS freed GROUP BY key_id),
     given AS (UPDATE balances SET reserved = balances.reserved - per_key.credits FROM per_key
               WHERE balances.key_id = per_key.key_id RETURNING per_key.n)
SELECT (SELECT COALESCE(SUM(n), 0) FROM per_key)
"""
# GET /v1/key in one round trip: 's' settled usage per day, 'h' held per day of admission, 'm' the
# key's minute (recorded admissions and holds in flight), as olga_take_hold counts them.
_FIGURES = """
SELECT 's' AS kind, scope, scope_id, day, cost_pico AS cost, requests, tokens, 0::float8 AS at FROM usage_daily
 WHERE (scope = 'key' AND scope_id = $1) OR (scope = 'team' AND scope_id = $2)
UNION ALL
SELECT 'h', 'key', key_id, floor(at / 86400)::bigint, SUM(cost_pico), COUNT(*), SUM(tokens), 0 FROM holds
 WHERE key_id = $1 GROUP BY key_id, 4
UNION ALL
SELECT 'h', 'team', team_id, floor(at / 86400)::bigint, SUM(cost_pico), COUNT(*), SUM(tokens), 0 FROM holds
 WHERE team_id = $2 GROUP BY team_id, 4
UNION ALL
SELECT 'm', 'key', $1, 0, 0, 1, tokens, at FROM admissions WHERE key_id = $1 AND at > $3::float8 - 60
UNION ALL
SELECT 'm', 'key', $1, 0, 0, 1, rate_tokens, at FROM holds WHERE key_id = $1 AND at > $3::float8 - 60
"""
TAKE_SLICE = "SELECT olga_take_slice($1, $2, $3, $4, $5, $6)"
TAKE = (
    "SELECT olga_take_hold($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18,"
    " $19, $20)"
)


def take_args(request: HoldRequest) -> tuple[Any, ...]:
    """``TAKE``'s parameters, in ``olga_take_hold``'s order."""
    limits = request.limits
    return (
        request.id,
        request.instance,
        request.key_id,
        request.team_id,
        request.at,
        request.capped,
        request.credits,
        request.cost,
        request.tokens,
        request.rate_tokens,
        request.rpm,
        request.tpm,
        [c.limit_id for c in limits],
        [c.scope for c in limits],
        [c.scope_id for c in limits],
        [c.metric for c in limits],
        [c.first_day for c in limits],
        [c.threshold for c in limits],
        sorted(request.labels),  # locked in this order by every instance
        request.rate_mode,
    )


class PostgresHolds:
    def __init__(self, pool: asyncpg.Pool, lanes: Lanes) -> None:
        self._pool = pool
        self._lanes = lanes  # the hold: every request's

    async def take(self, request: HoldRequest) -> Refusal | None:
        answer = await self._lanes.fetchval(TAKE, *take_args(request))
        if answer is None:
            return None
        reason, _, value = str(answer).partition(":")
        if reason == "credits":
            return Refusal("credits", balance=int(value))
        if reason == "limit":
            return Refusal("limit", limit_id=int(value))
        return Refusal("rpm" if reason == "rpm" else "tpm")

    async def release(self, hold_id: str) -> None:
        await self._pool.execute(RELEASE_HOLD, hold_id)

    async def take_slice(
        self, slice_id: str, instance: str, key_id: str, at: float, credits: int, floor: int
    ) -> bool:
        taken = await self._lanes.fetchval(TAKE_SLICE, slice_id, instance, key_id, at, credits, floor)
        return bool(taken)

    async def return_slice(self, slice_id: str) -> None:
        await self._pool.execute(RETURN_SLICE, slice_id)

    async def beat(self, instance: str, now: float) -> None:
        await self._pool.execute(
            "INSERT INTO instances (id, seen_at) VALUES ($1, $2)"
            " ON CONFLICT (id) DO UPDATE SET seen_at = excluded.seen_at",
            instance,
            now,
        )

    async def sweep(self, now: float, lease: float) -> int:
        return int(await self._pool.fetchval(_SWEEP, now - lease))

    async def balance(self, key_id: str) -> tuple[int, int, int] | None:
        row = await self._pool.fetchrow(
            "SELECT credits, spent, reserved FROM balances WHERE key_id = $1", key_id
        )
        return None if row is None else (int(row["credits"]), int(row["spent"]), int(row["reserved"]))

    async def key_figures(self, key_id: str, team_id: str | None, now: float) -> KeyFigures:
        figures = KeyFigures({}, {}, [])
        for row in await self._pool.fetch(_FIGURES, key_id, team_id, now):
            if row["kind"] == "m":
                figures.minute.append((float(row["at"]), int(row["tokens"])))
                continue
            days = figures.settled if row["kind"] == "s" else figures.held
            days.setdefault((row["scope"], row["scope_id"]), {})[int(row["day"])] = DayUsage(
                int(row["cost"]), int(row["requests"]), int(row["tokens"])
            )
        figures.minute.sort()
        return figures

    async def distrust_rates(self, at: float) -> None:
        await self._pool.execute("UPDATE rate_fallback SET until = GREATEST(until, $1::float8 + 60)", at)

    async def leave(self, instance: str) -> None:
        await self._pool.execute("UPDATE instances SET seen_at = 0 WHERE id = $1", instance)
        await self.sweep(1.0, 0.0)
