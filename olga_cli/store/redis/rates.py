"""Each key's sliding minute (--rpm, --tpm) in Redis: a sorted set of its requests by admission time
(member: the generation id) and a hash of their tokens with a running total under "#".

A minute is only whole once Redis has counted for a minute: ``since`` says from when. Redis that
restarted empty (or was flushed) starts counting again, and for that first minute says "unknown":
the request is counted here, and its hold in PostgreSQL checks the rate limits too.
Times are the instances' wall clocks (keep them in sync, as PostgreSQL's holds already need).
"""

from __future__ import annotations

from olga_cli.store.hot import RateAnswer
from olga_cli.store.redis.link import Link

WINDOW = 60
KEEP = 120  # seconds a minute's keys outlive their last request

# KEYS: requests (zset), tokens (hash), since. ARGV: id, at, rpm ('' for none), tpm, tokens.
_EXPIRE = """
local horizon = tonumber(ARGV[2]) - 60
local gone = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', horizon)
for _, member in ipairs(gone) do
    local n = tonumber(redis.call('HGET', KEYS[2], member) or '0')
    redis.call('HINCRBY', KEYS[2], '#', -n)
    redis.call('HDEL', KEYS[2], member)
end
if #gone > 0 then redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', horizon) end
"""
_TAKE = (
    _EXPIRE
    + """
local at = tonumber(ARGV[2])
local counting = redis.call('GET', KEYS[3])
local whole = counting ~= false and at - tonumber(counting) >= 60
if not counting then redis.call('SET', KEYS[3], ARGV[2]) end
if whole then
    local rpm, tpm = tonumber(ARGV[3]), tonumber(ARGV[4])
    if rpm and redis.call('ZCARD', KEYS[1]) >= rpm then return 'rpm' end
    if tpm and tonumber(redis.call('HGET', KEYS[2], '#') or '0') >= tpm then return 'tpm' end
end
local tokens = tonumber(ARGV[5])
redis.call('ZADD', KEYS[1], at, ARGV[1])
redis.call('HSET', KEYS[2], ARGV[1], tokens)
redis.call('HINCRBY', KEYS[2], '#', tokens)
redis.call('EXPIRE', KEYS[1], 120)
redis.call('EXPIRE', KEYS[2], 120)
if whole then return 'ok' end
return 'unknown'
"""
)
# KEYS: requests, tokens. ARGV: id, tokens ('' to stop counting the request).
_SETTLE = """
local old = redis.call('HGET', KEYS[2], ARGV[1])
if not old then return 0 end
if ARGV[2] == '' then
    redis.call('ZREM', KEYS[1], ARGV[1])
    redis.call('HDEL', KEYS[2], ARGV[1])
    redis.call('HINCRBY', KEYS[2], '#', -tonumber(old))
else
    redis.call('HSET', KEYS[2], ARGV[1], ARGV[2])
    redis.call('HINCRBY', KEYS[2], '#', tonumber(ARGV[2]) - tonumber(old))
end
return 1
"""


class RedisRates:
    def __init__(self, link: Link) -> None:
        self._link = link
        self._take = link.script(_TAKE)
        self._settle = link.script(_SETTLE)

    def _keys(self, key_id: str) -> list[str]:
        return [self._link.key("rate", key_id), self._link.key("rate-tokens", key_id)]

    async def take(
        self, key_id: str, hold_id: str, *, at: float, rpm: int | None, tpm: int | None, tokens: int
    ) -> RateAnswer:
        keys = [*self._keys(key_id), self._link.key("rates-since")]
        limit = ["" if rpm is None else rpm, "" if tpm is None else tpm]
        answer = await self._take(keys, [hold_id, repr(at), *limit, tokens])
        assert answer in ("ok", "unknown", "rpm", "tpm"), answer
        return answer  # type: ignore[no-any-return]

    async def settle(self, key_id: str, hold_id: str, tokens: int) -> None:
        await self._settle(self._keys(key_id), [hold_id, tokens])

    async def release(self, key_id: str, hold_id: str) -> None:
        await self._settle(self._keys(key_id), [hold_id, ""])
