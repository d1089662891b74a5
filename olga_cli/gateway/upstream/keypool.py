"""Provider API keys in use: which key the next request to a provider goes out with, and key health.

Each provider's keys are used in turn. A key the provider rate-limits (429) rests for the provider's
``retry-after`` (or a backoff that doubles with each strike) while the others carry on; a key the
provider rejects (401/403) is set aside until its value changes or the operator runs
`olga providers resume NAME`. When no key is usable the request gets 503 ``provider_unavailable``.

Health lives here in memory, so picking a key never waits on the store; each change is also returned
as a store statement (``Extra``) that the request commits with its record, so `olga providers list`
can show it. A key's strikes (429s in a row, which double its rest) go with its mark, and a key that
answers again after strikes writes that it did: in team mode every instance counts on from the
strikes another one saw, as one instance does. Times are wall-clock seconds passed in by the caller.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

from olga_cli.config import ProviderConfig
from olga_cli.errors import NoActiveKeys
from olga_cli.gateway.upstream.client import ProviderKey
from olga_cli.store import provider_health
from olga_cli.store.base import Store
from olga_cli.store.generations import Extra
from olga_cli.store.provider_health import HealthState, KeyHealthRow, fingerprint


@dataclass(slots=True)
class KeyMark:
    state: HealthState
    fingerprint: str
    since: float
    until: float | None  # rate_limited only
    status: int | None
    reason: str

    def blocks(self, secret_fingerprint: str, now: float) -> bool:
        if self.fingerprint != secret_fingerprint:
            return False  # the key behind this label has changed since
        return self.state == "invalid" or (self.until is not None and now < self.until)


class KeyPools:
    """Round-robin over each provider's healthy keys."""

    def __init__(self, environ: Mapping[str, str]) -> None:
        self._environ = environ
        self._turn: dict[str, int] = {}
        self._marks: dict[tuple[str, str], KeyMark] = {}
        self._strikes: dict[tuple[str, str], int] = {}  # 429s in a row, for the rest's backoff
        self._resets: dict[str, float] = {}

    def set_environ(self, environ: Mapping[str, str]) -> None:
        self._environ = environ

    def usable(self, provider: ProviderConfig) -> list[ProviderKey]:
        """Keys whose value resolves (set env var, or a value in the config), healthy or not."""
        keys = []
        for source in provider.keys:
            value = source.resolve(self._environ)
            if value:
                keys.append(ProviderKey(source.label, value))
        return keys

    def _blocked(self, provider: str, key: ProviderKey, now: float) -> KeyMark | None:
        mark = self._marks.get((provider, key.label))
        if mark is not None and key.value and mark.blocks(fingerprint(key.value), now):
            return mark
        return None

    def healthy(self, provider: ProviderConfig, *, now: float) -> list[ProviderKey]:
        return [k for k in self.usable(provider) if self._blocked(provider.name, k, now) is None]

    def pick(self, provider: ProviderConfig, *, now: float) -> ProviderKey | None:
        """The next healthy key in turn; None for a provider that needs none; ``NoActiveKeys`` if none is left."""
        if not provider.needs_key:
            keys = self.usable(provider)
            return keys[0] if keys else None
        return self.candidates(provider, now=now)[0]

    def candidates(self, provider: ProviderConfig, *, now: float) -> list[ProviderKey]:
        """The healthy keys, starting with the one whose turn it is (the turn moves on by one)."""
        keys = self.usable(provider)
        if not keys:
            raise NoActiveKeys(_no_key_message(provider))
        healthy = [k for k in keys if self._blocked(provider.name, k, now) is None]
        if not healthy:
            back = self.earliest_return(provider, now=now)
            raise NoActiveKeys(self._all_blocked_message(provider, keys, now), retry_after=back)
        turn = self._turn.get(provider.name, 0)
        self._turn[provider.name] = turn + 1
        start = turn % len(healthy)
        return healthy[start:] + healthy[:start]

    def reset_at(self, provider: str) -> float:
        """When `olga providers resume` last cleared the provider's keys (marks before it do not count)."""
        return self._resets.get(provider, float("-inf"))

    def earliest_return(self, provider: ProviderConfig, *, now: float) -> float | None:
        """Seconds until the first resting key may be used again (None if no key is merely resting)."""
        waits = []
        for key in self.usable(provider):
            mark = self._blocked(provider.name, key, now)
            if mark is not None and mark.state == "rate_limited" and mark.until is not None:
                waits.append(mark.until - now)
        return min(waits) if waits else None

    # -- what the provider said about a key ------------------------------------------------------

    def rate_limited(
        self, provider: str, key: ProviderKey, *, now: float, rest: float, reason: str
    ) -> Extra | None:
        """The key rests ``rest`` seconds; the statement recording it (None for a keyless request)."""
        if not key.value:
            return None
        ident = (provider, key.label)
        self._strikes[ident] = self._strikes.get(ident, 0) + 1
        mark = KeyMark("rate_limited", fingerprint(key.value), now, now + rest, 429, reason)
        self._marks[ident] = mark
        return self._extra(provider, key.label, mark, strikes=self._strikes[ident])

    def rejected(
        self, provider: str, key: ProviderKey, *, now: float, status: int, reason: str
    ) -> Extra | None:
        if not key.value:
            return None
        mark = KeyMark("invalid", fingerprint(key.value), now, None, status, reason)
        self._marks[(provider, key.label)] = mark
        return self._extra(provider, key.label, mark)

    def worked(self, provider: str, key: ProviderKey | None, *, clock: Callable[[], float]) -> Extra | None:
        """The key answered: its strikes are over; the statement saying so when it had any (so that
        no instance counts on from them), else None, the common case, which writes nothing."""
        if key is None or not self._strikes.pop((provider, key.label), 0) or not key.value:
            return None
        now = clock()
        mark = KeyMark("rate_limited", fingerprint(key.value), now, now, None, "answered again")
        self._marks[(provider, key.label)] = mark
        return self._extra(provider, key.label, mark)

    def strikes(self, provider: str, key: ProviderKey) -> int:
        return self._strikes.get((provider, key.label), 0)

    def _extra(self, provider: str, label: str, mark: KeyMark, *, strikes: int = 0) -> Extra:
        row = KeyHealthRow(
            provider,
            label,
            mark.fingerprint,
            mark.state,
            mark.status,
            mark.reason[:300],
            mark.until,
            mark.since,
            strikes,
        )
        return provider_health.mark(row)

    # -- the store's copy ------------------------------------------------------------------------

    async def load_health(self, db: Store) -> None:
        """Take marks from the store (at start-up) and apply resets written by the CLI since."""
        rows, resets = await db.health.load()
        self._resets = resets
        for ident, mark in list(self._marks.items()):
            if mark.since <= resets.get(ident[0], float("-inf")):
                del self._marks[ident]
                self._strikes.pop(ident, None)
        for row in rows:
            ident = (row.provider, row.key_label)
            current = self._marks.get(ident)
            if row.state not in ("rate_limited", "invalid") or (
                current is not None and current.since >= row.updated_at
            ):
                continue
            state: HealthState = "invalid" if row.state == "invalid" else "rate_limited"
            self._marks[ident] = KeyMark(
                state, row.fingerprint, row.updated_at, row.until, row.status, row.reason or ""
            )
            if row.strikes:  # another instance's 429s in a row (or this one's before a restart)
                self._strikes[ident] = row.strikes
            else:
                self._strikes.pop(ident, None)

    def _all_blocked_message(self, provider: ProviderConfig, keys: list[ProviderKey], now: float) -> str:
        parts = []
        for key in keys:
            mark = self._blocked(provider.name, key, now)
            if mark is None:
                continue
            if mark.state == "invalid":
                parts.append(f"{key.label} rejected by the provider ({mark.status})")
            else:
                parts.append(f"{key.label} rate-limited for {max((mark.until or now) - now, 0):.0f}s more")
        return (
            f"No active API keys for provider '{provider.name}': {'; '.join(parts)}. Retry later, add a key with "
            f"`olga providers add-key {provider.name} --api-key-env VAR`, or run "
            f"`olga providers resume {provider.name}` once a rejected key works again."
        )


def _no_key_message(provider: ProviderConfig) -> str:
    envs = [s.env for s in provider.keys if s.env]
    hint = f"set {' or '.join(envs)} before `olga serve`, or run " if envs else "run "
    return (
        f"No active API keys for provider '{provider.name}': {hint}"
        f"`olga providers add-key {provider.name} --api-key-env VAR`."
    )
