"""The connection to Redis, and how an outage is noticed and left.

Every command goes through ``Link.run`` (the scripts of every request on olga's own pipelined
connection, ``lean.py``; the rest through redis-py): a Redis that does not answer within a second
(no retries) raises ``HotUnavailable`` and is taken for down for the next second, so requests in
that second fall back at once instead of each waiting on a dead server. ``ping`` (the gateway calls
it twice a second) notices the way back.
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import redis.asyncio as redis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import RedisError

from olga_cli.store.hot import HotUnavailable
from olga_cli.store.redis.lean import LeanScripts, usable

T = TypeVar("T")
log = logging.getLogger("olga.redis")
DEFAULT_PREFIX = "olga:"
TIMEOUT = 1.0  # seconds: a Redis slower than this (on a busy event loop too) is treated as down
DOWN_FOR = 1.0  # seconds a failure marks Redis down before a request tries it again
POOL = 64  # connections to Redis at most; more requests at once wait for one


def split_url(url: str) -> tuple[str, str]:
    """(the URL redis-py takes, the key prefix): ``?prefix=team-a:`` is olga's, not redis-py's."""
    parts = urlsplit(url)
    query = parse_qsl(parts.query, keep_blank_values=True)
    prefix = next((value for name, value in query if name == "prefix"), DEFAULT_PREFIX)
    rest = urlencode([(name, value) for name, value in query if name != "prefix"])
    return urlunsplit(parts._replace(query=rest)), prefix


def redact(url: str) -> str:
    parts = urlsplit(url)
    host = parts.hostname or ""
    where = f"{host}:{parts.port}" if parts.port else host
    return f"{parts.scheme}://{where}{parts.path}"


class Link:
    def __init__(self, url: str) -> None:
        client_url, self.prefix = split_url(url)
        self.where = f"{redact(client_url)} (keys {self.prefix}*)"
        # A burst waits (up to TIMEOUT) for one of POOL connections: redis-py's own pool refuses past
        # 100 in use (MaxConnectionsError), which a busy instance would take for Redis being down.
        pool = redis.BlockingConnectionPool.from_url(
            client_url,
            max_connections=POOL,
            timeout=TIMEOUT,
            socket_timeout=TIMEOUT,
            socket_connect_timeout=TIMEOUT,
            retry=Retry(NoBackoff(), 0),
            decode_responses=True,
        )
        self.client: Any = redis.Redis.from_pool(pool)
        # The scripts of every request (rate limits, circuits, key rests) on olga's own pipelined
        # connection, where it can speak to the server; the rest (rare) through redis-py.
        self._lean = LeanScripts(client_url, timeout=TIMEOUT) if usable(client_url) else None
        self._down_until = 0.0
        self.up = True
        self._returned = False  # back from an outage, not yet told to ``ping``'s caller

    def key(self, *parts: str) -> str:
        return self.prefix + ":".join(parts)

    def script(self, lua: str) -> Callable[[list[str], list[Any]], Awaitable[Any]]:
        """A Lua script run by its hash (loaded again by itself after Redis restarts)."""
        lean = self._lean
        if lean is not None:

            async def run_lean(keys: list[str], args: list[Any]) -> Any:
                return await self.run(lambda: lean.run(lua, keys, args))

            return run_lean
        registered = self.client.register_script(lua)

        async def run(keys: list[str], args: list[Any]) -> Any:
            return await self.run(lambda: registered(keys=keys, args=args))

        return run

    async def run(self, command: Callable[[], Awaitable[T]]) -> T:
        if not self.up and time.monotonic() < self._down_until:
            raise HotUnavailable("Redis was found down a moment ago")
        try:
            answer = await command()
        except (RedisError, OSError) as exc:
            if self.up:
                log.warning(
                    "Redis at %s stopped answering (%s); serving from PostgreSQL and this instance's "
                    "own breakers and key rests until it is back",
                    self.where,
                    type(exc).__name__,
                )
            self.up, self._down_until = False, time.monotonic() + DOWN_FOR
            raise HotUnavailable(f"Redis did not answer ({type(exc).__name__}: {exc})") from None
        if not self.up:
            log.warning("Redis at %s answers again", self.where)
            self._returned = True
        self.up = True
        return answer

    async def ping(self) -> bool:
        """Ask Redis now; True once after each outage, when it answers again (whoever noticed)."""
        self._down_until = 0.0
        with contextlib.suppress(HotUnavailable):
            await self.run(self.client.ping)
        returned, self._returned = self._returned, False
        return returned

    async def close(self) -> None:
        if self._lean is not None:
            await self._lean.close()
        await self.client.aclose()
