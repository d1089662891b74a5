"""Everything one running gateway holds, passed explicitly to the pipeline (no module globals)."""

from __future__ import annotations

import asyncio
import logging
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from olga_cli.catalog import Catalog, load_catalog
from olga_cli.config import Config, load_config
from olga_cli.errors import CatalogError, UserError
from olga_cli.gateway.admission.shared import SharedAdmission
from olga_cli.gateway.admission.usage_limits import Limits
from olga_cli.gateway.recorder import Recorder
from olga_cli.gateway.snapshot import Snapshot
from olga_cli.gateway.upstream.client import Upstreams
from olga_cli.gateway.upstream.disconnect import CallerWatch
from olga_cli.gateway.upstream.failover import ProviderAccess
from olga_cli.gateway.upstream.keypool import KeyPools
from olga_cli.gateway.upstream.local_models import LocalModels
from olga_cli.gateway.upstream.retry import Resilience
from olga_cli.records import GenerationRecord
from olga_cli.store.base import Store
from olga_cli.store.hot import HotState

log = logging.getLogger("olga.gateway")

Observer = Callable[[GenerationRecord], None]


@dataclass(eq=False)
class Gateway:
    config: Config
    catalog: Catalog
    db: Store
    snapshot: Snapshot
    recorder: Recorder
    upstreams: Upstreams
    keypools: KeyPools
    clock: Callable[[], float] = time.time
    # Called with each record once it is committed (metrics, access log, live views).
    observers: list[Observer] = field(default_factory=list)
    # Usage and rate limits: counters per key and team, sliding minutes, alerts for the webhook.
    limits: Limits = field(default_factory=Limits)
    # Team mode: the admission all instances agree on (None on SQLite, where this process is alone).
    shared: SharedAdmission | None = None
    # Team mode with Redis: rate-limit minutes, key rests and circuits shared by every instance.
    hot: HotState | None = None
    # Circuit breakers and the (injectable) sleep, clock and dice of retrying.
    resilience: Resilience = field(default_factory=Resilience)
    # Callers who leave while olga waits on a provider: one timer looks at all of them.
    callers: CallerWatch = field(default_factory=CallerWatch)
    # Local servers' model lists, asked for live by GET /v1/models and kept a few seconds.
    local_models: LocalModels = field(default_factory=LocalModels)
    # Traces: each record carries its span ids when on; contents only when the user opted in too.
    tracing: bool = False
    trace_content: bool = False
    # Connections of their own for looking at the store (the watcher, a refusal's second look) and
    # for reads a request makes (/v1/generation), each used by one coroutine at a time: a statement
    # one coroutine leaves open on a shared connection (a cursor between two fetches) holds that
    # connection's read snapshot, so a look made meanwhile could miss a key minted a moment ago, a
    # read could miss a record just committed, and the recorder's next BEGIN IMMEDIATE would fail.
    # None: ``db`` does all (tests that build a gateway by hand).
    looks: Store | None = None
    reads: Store | None = None
    _reads_lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    _config_stamp: tuple[float, float] = (0.0, 0.0)
    # The store's data_version last seen, and when (perf_counter) the last look at it began.
    _store_version: int = -1
    _store_looked: float = float("-inf")
    _store_changed: float = float("-inf")  # when a look last brought a change in (perf_counter)
    _store_lock: asyncio.Lock = field(default_factory=asyncio.Lock)

    def provider_access(self) -> ProviderAccess:
        """What failover uses of this gateway, with the retry policy of the current config."""
        resilience = self.resilience
        return ProviderAccess(
            self.upstreams,
            self.keypools,
            resilience.breakers,
            resilience.timing,
            self.clock,
            self.config.resilience,
            hot=self.hot,
            circuits=self.db.circuits if self.hot is None else None,
        )

    def notify(self, record: GenerationRecord) -> None:
        for observer in self.observers:
            try:
                observer(record)
            except Exception:
                log.exception("observer failed")

    # -- live changes made by the CLI -----------------------------------------------------------

    def _stamp(self) -> tuple[float, float]:
        stamps = []
        for path in (self.config.config_path, self.config.home / "model_catalog.json"):
            try:
                stamps.append(path.stat().st_mtime_ns / 1e9)
            except FileNotFoundError:
                stamps.append(0.0)
        return stamps[0], stamps[1]

    def reload_files_if_changed(self) -> bool:
        """Re-read config.toml and the catalog overlay when either changed; keep the old ones if broken."""
        stamp = self._stamp()
        if stamp == self._config_stamp:
            return False
        self._config_stamp = stamp
        try:
            config = load_config(self.config.home, host=self.config.host, port=self.config.port)
            catalog = load_catalog(self.config.home)
        except (UserError, CatalogError) as exc:
            log.error("kept the previous configuration: %s", exc)
            return False
        self.config, self.catalog = config, catalog
        self.keypools.set_environ(dict(os.environ))
        return True

    async def refresh_store_if_changed(self, *, unless_since: float | None = None) -> bool:
        """Reload keys, teams and credits when another connection (the CLI) has committed; True if it had.

        With ``unless_since`` (a perf_counter time), nothing is done if a look at the store began after
        it: that look already saw every commit made before then, and True is returned all the same, as
        it may have changed what the caller saw (the watcher's tick can land between a refusal and its
        second look). A look that began before it but brought a change in after it is not enough (it
        may have read the keys before a commit the caller needs), so the look is made; but True is
        returned even if it finds nothing new, as the caller's view changed meanwhile (the watcher,
        mid-look when a key minted a moment ago was refused, brings the key in; the refusal's own look
        then finds nothing newer). Looks never overlap.
        """
        async with self._store_lock:
            if unless_since is not None and self._store_looked > unless_since:
                return True
            changed_meanwhile = unless_since is not None and self._store_changed > unless_since
            self._store_looked = time.perf_counter()
            store = self.looks or self.db
            version = await store.data_version()
            if version == self._store_version:
                return changed_meanwhile
            await self.snapshot.refresh(store)
            await self.keypools.load_health(store)  # `olga providers resume` clears key marks
            await self.adopt_circuits(store)
            # Only once both are in: a look that failed half-way is made again at the next tick.
            self._store_version = version
            self._store_changed = time.perf_counter()
            return True

    async def adopt_circuits(self, store: Store) -> None:
        """Team mode without Redis: the circuits every instance sent to the store, into the breakers."""
        if self.hot is None and store.circuits is not None:
            rows = await store.circuits.load()
            self.resilience.breakers.adopt(rows, now=self.resilience.timing.monotonic(), wall=self.clock())

    def store_looked_after(self, since: float) -> bool:
        """Whether a look at the store began after ``since`` (perf_counter)."""
        return self._store_looked > since

    async def generation(self, ref: str, *, key_id: str) -> GenerationRecord | None:
        """One of ``key_id``'s records, as committed (see ``reads``)."""
        async with self._reads_lock:
            return await (self.reads or self.db).records.get_generation(ref, key_id=key_id)

    async def catch_up(self, since: float) -> bool:
        """Before refusing a request a CLI change of a moment ago may allow (a key just minted or
        enabled, credits just topped up), look at the store now rather than at the watcher's next tick.

        Only refusals pay for it, never an admitted request; and however many refusals arrive at once,
        one look serves all that came before it began.
        """
        return await self.refresh_store_if_changed(unless_since=since)


async def open_gateway(
    config: Config,
    *,
    db: Store,
    catalog: Catalog | None = None,
    looks: Store | None = None,
    reads: Store | None = None,
    hot: HotState | None = None,
) -> Gateway:
    snapshot = Snapshot()
    await snapshot.load(db)
    gateway = Gateway(
        config=config,
        catalog=catalog or load_catalog(config.home),
        db=db,
        snapshot=snapshot,
        recorder=Recorder(db),
        upstreams=Upstreams(),
        keypools=KeyPools(dict(os.environ)),
        looks=looks,
        reads=reads,
        hot=hot,
    )
    gateway._config_stamp = gateway._stamp()
    await gateway.keypools.load_health(db)
    await gateway.adopt_circuits(db)
    await gateway.limits.load(db)
    if db.holds is not None:
        gateway.shared = SharedAdmission(db.holds, hot)
    return gateway


def home_of(gateway: Gateway) -> Path:
    return gateway.config.home
