"""``olga doctor``: check the setup, one line per check, each failure with what to do about it.

Reads only: the store is opened read-only (no migration, no file created), the config and catalog are
parsed, the port is probed. Exit status 0 when nothing failed (warnings allowed), 1 otherwise.
"""

from __future__ import annotations

import json
import os
import socket
import sqlite3
import stat
import urllib.error
import urllib.request
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Literal

import typer
from rich.markup import escape

from olga_cli import __version__
from olga_cli.catalog import Catalog, load_catalog
from olga_cli.cli.common import JsonOption, console, env_of, print_json
from olga_cli.cli.env import gateway_url
from olga_cli.cli.reach import probe_all, provider_status
from olga_cli.config import Config, load_config
from olga_cli.errors import CatalogError, GatewayError, UserError
from olga_cli.gateway.upstream.routing import target_for
from olga_cli.store.sqlite.inspect import (
    KNOWN_MIGRATIONS,
    applied_migrations,
    integrity_check,
    open_readonly,
)

Status = Literal["pass", "warn", "fail"]
_MARK = {"pass": "[green]✓[/green]", "warn": "[yellow]![/yellow]", "fail": "[red]✗[/red]"}


@dataclass(frozen=True, slots=True)
class Check:
    name: str
    status: Status
    detail: str
    fix: str | None = None


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def check_files(home: Path) -> Iterable[Check]:
    if not home.exists():
        yield Check("home", "pass", f"{home} does not exist yet; olga creates it (mode 0700) on first use")
        return
    if _mode(home) & 0o077:
        yield Check(
            "home", "warn", f"{home} is mode {_mode(home):04o}; others can list it", f"chmod 700 {home}"
        )
    else:
        yield Check("home", "pass", f"{home} (mode {_mode(home):04o})")
    # Only files that hold secrets (keys' hashes, API keys) must be private; the catalog holds prices.
    for name in ("olga.db", "olga.db-wal", "olga.db-shm", "config.toml"):
        path = home / name
        if not path.exists():
            continue
        mode = _mode(path)
        if mode & 0o077:
            yield Check(
                f"mode {name}",
                "fail",
                f"{path} is mode {mode:04o}: it holds keys' hashes or API keys",
                f"chmod 600 {path}",
            )
        else:
            yield Check(f"mode {name}", "pass", f"{name} is mode {mode:04o}")


def check_store(path: Path) -> Iterable[Check]:
    if not path.exists():
        yield Check("store", "pass", "no store yet; it is created on first use")
        return
    try:
        db = open_readonly(path)
    except sqlite3.Error as exc:
        yield Check(
            "store", "fail", f"{path} cannot be opened ({exc})", "check the file's owner and permissions"
        )
        return
    try:
        try:
            result = integrity_check(db)
        except sqlite3.DatabaseError as exc:
            yield Check(
                "store integrity",
                "fail",
                f"{path} is not a readable SQLite database ({exc})",
                f"move {path} aside (olga starts a new one) or restore it from a backup",
            )
            return
        if result == ["ok"]:
            yield Check("store integrity", "pass", "PRAGMA integrity_check: ok")
        else:
            yield Check(
                "store integrity",
                "fail",
                "; ".join(result[:3]),
                f"stop olga, back up {path}, then try `sqlite3 {path} .recover`",
            )
        yield from _schema_checks(applied_migrations(db), list(KNOWN_MIGRATIONS))
    finally:
        db.close()


def check_team_store(url: str) -> Iterable[Check]:
    """Team mode: the PostgreSQL store answers, and its schema is this olga's."""
    try:
        from olga_cli.store.postgres.inspect import KNOWN_MIGRATIONS, applied_migrations, redact
    except ImportError:
        yield Check(
            "store", "fail", "OLGA_DATABASE_URL is set but the driver is missing", "pip install 'olga[team]'"
        )
        return
    try:
        applied = applied_migrations(url)
    except Exception as exc:  # any driver or network error: the check fails, never the command
        yield Check(
            "store",
            "fail",
            f"cannot reach the PostgreSQL store at {redact(url)} ({type(exc).__name__}: {exc})",
            "check --database-url / OLGA_DATABASE_URL and that the server accepts this machine",
        )
        return
    yield Check("store", "pass", f"PostgreSQL at {redact(url)} answers")
    yield from _schema_checks(applied, list(KNOWN_MIGRATIONS))


def check_redis(url: str, *, team: bool) -> Iterable[Check]:
    """Team mode's Redis answers (olga serves without it, from PostgreSQL: a warning, not a failure)."""
    if not team:
        yield Check(
            "redis",
            "fail",
            "OLGA_REDIS_URL is set without OLGA_DATABASE_URL",
            "Redis keeps hot state beside a shared PostgreSQL store: set OLGA_DATABASE_URL too, or unset it",
        )
        return
    try:
        from olga_cli.store.redis.inspect import redact, server_version, split_url
    except ImportError:
        yield Check(
            "redis", "fail", "OLGA_REDIS_URL is set but the client is missing", "pip install 'olga[team]'"
        )
        return
    client_url, prefix = split_url(url)
    try:
        version = server_version(url)
    except Exception as exc:  # any client or network error: the check warns, never the command fails
        yield Check(
            "redis",
            "warn",
            f"cannot reach Redis at {redact(client_url)} ({type(exc).__name__}); olga serves meanwhile "
            "from PostgreSQL alone (rate limits there, breakers and key rests per instance)",
            "check --redis-url / OLGA_REDIS_URL and that the server accepts this machine",
        )
        return
    yield Check("redis", "pass", f"Redis {version} at {redact(client_url)} answers (keys {prefix}*)")


def _schema_checks(applied: set[str], known: list[str]) -> Iterable[Check]:
    newer = sorted(applied - set(known))
    pending = [name for name in known if name not in applied]
    if newer:
        yield Check(
            "schema", "fail", f"written by a newer olga (migrations {', '.join(newer)})", "upgrade olga"
        )
    elif pending:
        yield Check(
            "schema",
            "warn",
            f"{len(pending)} migration(s) pending: {', '.join(pending)}",
            "they are applied by the next olga command or `olga serve`",
        )
    else:
        yield Check("schema", "pass", f"up to date ({len(known)} migrations, the newest {known[-1]})")


def check_config(home: Path) -> tuple[list[Check], Config | None, Catalog | None]:
    checks: list[Check] = []
    config = catalog = None
    try:
        config = load_config(home)
        where = "config.toml parses" if config.config_path.exists() else "no config.toml: defaults apply"
        checks.append(Check("config", "pass", where))
    except UserError as exc:
        checks.append(Check("config", "fail", exc.message, f"fix or move aside {home / 'config.toml'}"))
    try:
        catalog = load_catalog(home)
        checks.append(Check("catalog", "pass", f"{len(catalog)} models (catalog {catalog.version})"))
    except CatalogError as exc:
        checks.append(Check("catalog", "fail", str(exc), f"fix or move aside {home / 'model_catalog.json'}"))
    return checks, config, catalog


def _used_providers(config: Config) -> set[str]:
    """Providers someone chose: configured in config.toml or named by a route."""
    raw = config.raw.get("providers")
    named = set(raw) if isinstance(raw, dict) else set()
    return named | {rule.provider for rule in config.routes}


def check_providers(config: Config, environ: dict[str, str]) -> Iterable[Check]:
    used = _used_providers(config)
    reach = probe_all(config.providers.values(), environ)
    for provider in config.providers.values():
        status, hint = provider_status(provider, environ)
        if status == "ready" and reach[provider.name] == "unreachable":
            # Nothing listening is normal for an untouched local built-in (ollama not started).
            level_down: Status = "fail" if provider.name in used else "warn"
            yield Check(
                f"provider {provider.name}",
                level_down,
                f"unreachable: nothing answers at {provider.base_url}",
                f"start it, or fix its URL: olga providers add {provider.name} --base-url URL",
            )
        elif status == "ready":
            where = (
                "built in, answers offline"
                if provider.kind == "mock"
                else f"reachable: {provider.kind} at {provider.base_url}"
            )
            yield Check(f"provider {provider.name}", "pass", where)
        elif status == "paused":
            yield Check(f"provider {provider.name}", "warn", "paused by its operator", hint)
        else:
            # An untouched built-in without a key is normal; one you configured or route to is not.
            level: Status = "fail" if provider.name in used else "warn"
            yield Check(f"provider {provider.name}", level, "no API key available", hint)


def check_pricing(config: Config, catalog: Catalog) -> Iterable[Check]:
    checked = 0
    for rule in config.routes:
        model = rule.to_model or rule.model
        if model is None:
            continue
        checked += 1
        try:
            target = target_for(
                config, catalog, api_format=rule.format or "openai", model=rule.model or model
            )
        except GatewayError as exc:
            yield Check(
                f"route {rule.id}",
                "fail",
                exc.message,
                "price the model in <home>/model_catalog.json or change the route (`olga routes`)",
            )
            continue
        yield Check(f"route {rule.id}", "pass", f"{rule.model or '*'} → {target.model_id} is priced")
    for model, targets in config.fallbacks.items():
        for name in (model, *targets):
            checked += 1
            try:
                target_for(config, catalog, api_format="openai", model=name)
            except GatewayError as exc:
                yield Check(f"fallback {name}", "fail", exc.message, "price it in <home>/model_catalog.json")
    if not checked:
        yield Check("routing", "pass", "no routes or fallbacks: each model goes to its catalog provider")


def check_port(config: Config, *, timeout: float = 1.0) -> Check:
    base = gateway_url(config)
    host = base.split("//", 1)[1].rsplit(":", 1)[0].strip("[]")
    try:
        with socket.create_connection((host, config.port), timeout=timeout):
            pass
    except OSError:
        from olga_cli.serving import running_url

        running = running_url(config.home)
        if running is not None and running != base:  # started with another --port
            return Check("server", "pass", f"`olga serve` runs for this home at {running}")
        return Check("port", "pass", f"{config.host}:{config.port} is free; `olga serve` will listen there")
    try:
        with urllib.request.urlopen(f"{base}/health", timeout=2) as reply:
            health = json.loads(reply.read())
    except (urllib.error.URLError, ValueError, OSError):
        health = None
    if not isinstance(health, dict) or health.get("status") != "ok":
        return Check(
            "port",
            "fail",
            f"{config.host}:{config.port} is taken by another program",
            "stop it, or give olga another port: `olga serve --port 8001` or [server] port in config.toml",
        )
    version = health.get("version")
    if version != __version__:
        return Check(
            "server",
            "warn",
            f"olga {version} is running on {base}; this is olga {__version__}",
            "restart `olga serve` to run this version",
        )
    return Check("server", "pass", f"olga {version} is running and healthy on {base}")


def run_checks(home: Path, environ: dict[str, str]) -> list[Check]:
    checks = list(check_files(home))
    database_url = environ.get("OLGA_DATABASE_URL")
    checks += check_team_store(database_url) if database_url else check_store(home / "olga.db")
    redis_url = environ.get("OLGA_REDIS_URL")
    if redis_url:
        checks += check_redis(redis_url, team=bool(database_url))
    config_checks, config, catalog = check_config(home)
    checks += config_checks
    if config is not None:
        checks += check_providers(config, environ)
        if catalog is not None:
            checks += check_pricing(config, catalog)
        checks.append(check_port(config))
    return checks


def doctor(ctx: typer.Context, json_out: JsonOption = False) -> None:
    """Check home and file modes, the store, the config, provider keys, pricing and the port.

    Exit status 1 if any check failed. Example: olga doctor
    """
    env = env_of(ctx)
    environ = dict(os.environ)
    if env.database_url:  # olga --database-url URL doctor
        environ["OLGA_DATABASE_URL"] = env.database_url
    if env.redis_url:
        environ["OLGA_REDIS_URL"] = env.redis_url
    checks = run_checks(env.home, environ)
    failed = sum(c.status == "fail" for c in checks)
    if json_out:
        print_json({"ok": not failed, "checks": [asdict(c) for c in checks]})
    else:
        out = console()
        width = max(len(c.name) for c in checks)
        for check in checks:
            out.print(f"{_MARK[check.status]} {escape(check.name):<{width}}  {escape(check.detail)}")
            if check.fix and check.status != "pass":
                out.print(f"  {'':<{width}}  [dim]→ {escape(check.fix)}[/dim]")
        warned = sum(c.status == "warn" for c in checks)
        passed = len(checks) - failed - warned
        verdict = "[red]problems found[/red]" if failed else "[green]all good[/green]"
        out.print(f"\n{verdict}: {passed} ok, {warned} warning(s), {failed} failure(s)")
    if failed:
        raise typer.Exit(1)
