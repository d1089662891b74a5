"""Run the real olga app in-process on 127.0.0.1 for tests, with the same code path as `olga serve`."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aiohttp import web

from olga_cli.config import ConfigFile, load_config
from olga_cli.gateway.state import Gateway
from olga_cli.server.app import create_app
from olga_cli.server.app_keys import gateway_of
from olga_cli.server.runner import OlgaRunner
from olga_cli.store.db import open_store
from olga_cli.store.keys import KeyRow


@dataclass
class RunningGateway:
    url: str
    home: Path
    app: web.Application
    runner: web.AppRunner

    @property
    def gateway(self) -> Gateway:
        return gateway_of(self.app)

    @property
    def v1(self) -> str:
        return self.url + "/v1"

    async def close(self) -> None:
        await self.runner.cleanup()

    async def refresh(self) -> None:
        """Pick up keys and credits written by another connection now, without waiting for the watcher.

        Under the gateway's own lock, as its watcher refreshes: a watcher's refresh that read the keys
        before a new one was committed must not finish after this one and put the old list back."""
        async with self.gateway._store_lock:
            await self.gateway.snapshot.refresh(self.gateway.db)


def configure(home: Path, **tables: Any) -> None:
    """Merge tables into config.toml, e.g. ``providers={"openai": {"base_url": ...}}``."""
    file = ConfigFile(home / "config.toml")
    for name, value in tables.items():
        if isinstance(value, dict):
            table = file.table(name)
            for key, sub in value.items():
                if isinstance(sub, dict) and isinstance(table.get(key), dict):
                    table[key].update(sub)
                else:
                    table[key] = sub
        else:
            file.data[name] = value
    file.save()


def point_openai_at(home: Path, fake_url: str, **extra: Any) -> None:
    configure(
        home, providers={"openai": {"base_url": fake_url + "/v1", "api_key": "sk-upstream-test-key", **extra}}
    )


def point_anthropic_at(home: Path, fake_url: str, **extra: Any) -> None:
    configure(
        home, providers={"anthropic": {"base_url": fake_url, "api_key": "sk-ant-upstream-test-key", **extra}}
    )


async def start_gateway(home: Path) -> RunningGateway:
    app = create_app(load_config(home))
    runner = OlgaRunner(app, access_log=None, shutdown_timeout=5)  # the runner `olga serve` uses
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    return RunningGateway(f"http://127.0.0.1:{port}", home, app, runner)


async def mint_key(
    home: Path, *, name: str = "test", credits_usd: str | None = None, **fields: Any
) -> tuple[KeyRow, str]:
    from olga_cli.money import usd_to_pico

    db = await open_store(home / "olga.db")
    try:
        return await db.keys.create_key(
            name=name,
            credits_pico=usd_to_pico(credits_usd) if credits_usd is not None else None,
            **fields,
        )
    finally:
        await db.close()


async def store_totals(home: Path, key_id: str) -> tuple[int, int]:
    db = await open_store(home / "olga.db")
    try:
        return await db.ledger.key_totals(key_id)
    finally:
        await db.close()
