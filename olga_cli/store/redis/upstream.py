"""Provider key rests and circuit breakers in Redis, shared by every instance.

A rest is one string per key, ``fingerprint|since``, that expires when the rest ends: checking the
candidates and finding the first not resting is one script, so once an instance has marked a key
no instance sends with it. A circuit is a hash: ``f`` failures in a row, ``o`` when it opened,
``p`` when its half-open probe began; the shared circuit of a provider has beside it the set of
callers whose failures it counts. Breaker times are Redis's own clock (``TIME``), one for all.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from olga_cli.store.hot import CircuitAnswer, RestAnswer
from olga_cli.store.redis.link import Link

KEEP = 86_400  # seconds a circuit outlives its last change

# The first of the rest keys KEYS[first..] whose mark (ARGV[fp..], in the same order) does not hold
# it back; rests older than ``reset`` do not count. {its number from 1, ''} or {0, ms until one is back}.
_FIRST_USABLE_FUNCTION = """
local function first_usable(first, fp, reset)
    local back = nil
    for i = first, #KEYS do
        local mark = redis.call('GET', KEYS[i])
        local resting = false
        if mark then
            local sep = string.find(mark, '|', 1, true)
            resting = string.sub(mark, 1, sep - 1) == ARGV[fp + i - first]
                and tonumber(string.sub(mark, sep + 1)) > reset
        end
        if not resting then return {i - first + 1, ''} end
        local left = redis.call('PTTL', KEYS[i])
        if left >= 0 and (back == nil or left < back) then back = left end
    end
    return {0, tostring(back or '')}
end
"""
# KEYS: the candidates' rest keys, in turn. ARGV: their fingerprints, then the provider's reset time.
_FIRST_USABLE = _FIRST_USABLE_FUNCTION + "return first_usable(1, 1, tonumber(ARGV[#ARGV]))"
_NOW = "local t = redis.call('TIME') local now = tonumber(t[1]) + tonumber(t[2]) / 1e6\n"
# KEYS: shared circuit, the caller's own (if any), then candidate keys' rests (if any).
# ARGV: cooldown, probe lease, how many circuits, the candidates' fingerprints, the reset time.
_ADMIT = (
    _NOW
    + _FIRST_USABLE_FUNCTION
    + """
local cooldown, lease, circuits = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local wait, half, dirty = -1, {}, 0
local function admitted(admission)
    if #KEYS == circuits then return {admission, '0', dirty, -1, ''} end
    local usable = first_usable(circuits + 1, 4, tonumber(ARGV[#ARGV]))
    return {admission, '0', dirty, usable[1], usable[2]}
end
for c = 1, circuits do
    local key = KEYS[c]
    local opened = tonumber(redis.call('HGET', key, 'o') or '')
    if opened and now - opened < cooldown then
        wait = math.max(wait, opened + cooldown - now)
    elseif opened then
        table.insert(half, key)
    end
    if redis.call('HEXISTS', key, 'f') == 1 then dirty = 1 end
end
if wait >= 0 then return {'skip', tostring(wait), dirty, -1, ''} end
if #half == 0 then return admitted('pass') end
for _, key in ipairs(half) do
    local probe = tonumber(redis.call('HGET', key, 'p') or '')
    if probe and now - probe < lease then return {'skip', '0', dirty, -1, ''} end
end
for _, key in ipairs(half) do redis.call('HSET', key, 'p', tostring(now)) end
return admitted('probe')
"""
)
# KEYS: shared circuit, its callers, then the caller's own (if any). ARGV: threshold, caller, keep.
_FAILURE = (
    _NOW
    + """
local threshold = tonumber(ARGV[1])
local failures = redis.call('HINCRBY', KEYS[1], 'f', 1)
redis.call('SADD', KEYS[2], ARGV[2])
local enough = failures >= threshold and (#KEYS < 3 or redis.call('SCARD', KEYS[2]) >= 2)
if enough or redis.call('HEXISTS', KEYS[1], 'p') == 1 then
    redis.call('HSET', KEYS[1], 'o', tostring(now))
    redis.call('HDEL', KEYS[1], 'p')
end
if #KEYS == 3 then
    local own = redis.call('HINCRBY', KEYS[3], 'f', 1)
    if own >= threshold or redis.call('HEXISTS', KEYS[3], 'p') == 1 then
        redis.call('HSET', KEYS[3], 'o', tostring(now))
        redis.call('HDEL', KEYS[3], 'p')
    end
end
for _, key in ipairs(KEYS) do redis.call('EXPIRE', key, tonumber(ARGV[3])) end
"""
)
# KEYS: the circuits (and callers) a probe ends on. ARGV: none.
_RELEASE = "for _, key in ipairs(KEYS) do redis.call('HDEL', key, 'p') end"


def rest_key(link: Link, provider: str, label: str) -> str:
    return link.key("rest", provider, label)


def _number(value: float) -> str:
    return repr(value) if math.isfinite(value) else "-1e308"


def _rest_answer(index: object, back: object) -> RestAnswer:
    if int(str(index)):
        return RestAnswer(int(str(index)) - 1, None)
    return RestAnswer(None, int(str(back)) / 1000 if back else None)


class RedisRests:
    def __init__(self, link: Link) -> None:
        self._link = link
        self._first_usable = link.script(_FIRST_USABLE)

    async def first_usable(
        self, provider: str, candidates: Sequence[tuple[str, str]], *, reset_at: float
    ) -> RestAnswer:
        keys = [rest_key(self._link, provider, label) for label, _ in candidates]
        index, back = await self._first_usable(keys, [*(f for _, f in candidates), _number(reset_at)])
        return _rest_answer(index, back)

    async def rest(
        self, provider: str, label: str, fingerprint: str, *, since: float, seconds: float
    ) -> None:
        millis = max(int(seconds * 1000), 1)
        key, mark = rest_key(self._link, provider, label), f"{fingerprint}|{since!r}"
        await self._link.run(lambda: self._link.client.set(key, mark, px=millis))


class RedisCircuits:
    def __init__(self, link: Link) -> None:
        self._link = link
        self._admit = link.script(_ADMIT)
        self._failure = link.script(_FAILURE)
        self._release = link.script(_RELEASE)

    def _circuits(self, provider: str, caller: str | None) -> list[str]:
        shared = [self._link.key("circuit", provider)]
        return shared if caller is None else [*shared, self._link.key("circuit", provider, "caller", caller)]

    async def admit(
        self,
        provider: str,
        caller: str | None,
        *,
        cooldown: float,
        lease: float,
        keys: Sequence[tuple[str, str]] = (),
        reset_at: float = float("-inf"),
    ) -> CircuitAnswer:
        circuits = self._circuits(provider, caller)
        rests = [rest_key(self._link, provider, label) for label, _ in keys]
        args = [cooldown, lease, len(circuits), *(f for _, f in keys), _number(reset_at)]
        admission, wait, dirty, index, back = await self._admit([*circuits, *rests], args)
        rest = _rest_answer(index, back) if int(index) >= 0 else None
        return CircuitAnswer(admission, float(wait), bool(int(dirty)), rest)

    async def failure(self, provider: str, caller: str | None, *, threshold: int) -> None:
        circuits = self._circuits(provider, caller)
        keys = [circuits[0], self._link.key("circuit-callers", provider), *circuits[1:]]
        await self._failure(keys, [threshold, caller or "", KEEP])

    async def success(self, provider: str, caller: str | None) -> None:
        keys = [*self._circuits(provider, caller), self._link.key("circuit-callers", provider)]
        await self._link.run(lambda: self._link.client.delete(*keys))

    async def release(self, provider: str, caller: str | None) -> None:
        await self._release(self._circuits(provider, caller), [])
