"""Team mode's hot state on one Redis connection (``store/hot.py`` says what is kept there)."""

from __future__ import annotations

from olga_cli.store.hot import Circuits, KeyRests, RateCounters
from olga_cli.store.redis.link import Link
from olga_cli.store.redis.rates import RedisRates
from olga_cli.store.redis.upstream import RedisCircuits, RedisRests


class RedisState:
    def __init__(self, link: Link) -> None:
        self._link = link
        self.rates: RateCounters = RedisRates(link)
        self.rests: KeyRests = RedisRests(link)
        self.circuits: Circuits = RedisCircuits(link)
        self.where = link.where

    @property
    def up(self) -> bool:
        return self._link.up

    async def ping(self) -> bool:
        return await self._link.ping()

    async def close(self) -> None:
        await self._link.close()


def open_redis(url: str) -> RedisState:
    return RedisState(Link(url))
