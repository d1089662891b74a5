"""Configuration, resolved once into frozen objects: flag > environment > config.toml > default.

``<home>/config.toml`` is optional. The CLI edits it as a TOML document (``ConfigFile``) and the server
re-reads it when it changes, so provider and route changes apply on the next request. Built-in
providers (``mock``, ``openai``, ``anthropic``, ``ollama``) exist without any file; a ``[providers.X]``
table overrides or adds to them field by field.

Every table is read here, once per load, into the frozen ``Config``; nothing else reads the TOML.
``[resilience]`` and ``[retention]`` tune a running server rather than say what it serves, so a bad
value there does not stop it: olga logs an error naming the setting and keeps that setting's default.
"""

from __future__ import annotations

import logging
import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from olga_cli.errors import UserError
from olga_cli.files import write_private
from olga_cli.locations import resolve_database_url, resolve_redis_url
from olga_cli.presets import builtin_providers

ProviderKind = Literal["openai", "anthropic", "openai-compatible", "gemini", "azure", "mock"]
AuthStyle = Literal["bearer", "x-api-key", "api-key", "x-goog-api-key", "none"]
ApiFormat = Literal["openai", "anthropic", "gemini"]
PROVIDER_KINDS: tuple[str, ...] = ("openai", "anthropic", "openai-compatible", "gemini", "azure")
AUTH_STYLES: tuple[str, ...] = ("bearer", "x-api-key", "api-key", "x-goog-api-key")
_DEFAULT_AUTH: dict[str, AuthStyle] = {
    "anthropic": "x-api-key",
    "mock": "none",
    "gemini": "x-goog-api-key",
    "azure": "api-key",
}

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8000
DEFAULT_MAX_BODY_BYTES = 32 * 1024 * 1024

log = logging.getLogger("olga.config")


@dataclass(frozen=True, slots=True)
class KeySource:
    """Where one provider API key comes from: an environment variable or a value in the config."""

    label: str  # shown in lists and records instead of the key
    env: str | None = None
    value: str | None = None

    def resolve(self, environ: Mapping[str, str]) -> str | None:
        if self.value:
            return self.value
        if self.env:
            return environ.get(self.env) or None
        return None


@dataclass(frozen=True, slots=True)
class ProviderConfig:
    name: str
    kind: ProviderKind
    base_url: str
    keys: tuple[KeySource, ...] = ()
    auth: AuthStyle = "bearer"
    needs_key: bool = True
    connect_timeout: float = 10.0
    first_byte_timeout: float = 120.0
    idle_timeout: float = 120.0  # between events (keep-alive comments and pings do not count)
    total_timeout: float = 900.0  # from the request's arrival to the answer's last byte, retries included
    # What olga takes from the provider, decompressed: a whole answer (or stream), one SSE event, one line.
    max_response_mb: float = 128.0
    max_event_mb: float = 32.0
    max_line_mb: float = 16.0
    max_retries: int = 2
    retry_on: tuple[int, ...] = ()  # statuses beyond the always-safe ones (e.g. 500, 502, 504)
    paused: bool = False
    builtin: bool = False
    preset: str | None = None
    local: bool = False  # a server on this machine: its models are listed live from its /models
    api_version: str | None = None  # Azure's ?api-version=
    deployments: Mapping[str, str] = field(default_factory=dict)  # Azure: model -> deployment name

    @property
    def api_format(self) -> ApiFormat:
        """The wire API the provider speaks (Azure speaks OpenAI's, at its own URLs)."""
        if self.kind == "anthropic":
            return "anthropic"
        return "gemini" if self.kind == "gemini" else "openai"


@dataclass(frozen=True, slots=True)
class RouteRule:
    id: str
    provider: str
    format: Literal["openai", "anthropic"] | None = None
    model: str | None = None
    to_model: str | None = None

    def matches(self, api_format: str, model: str) -> bool:
        if self.format is not None and self.format != api_format:
            return False
        return self.model is None or self.model == model


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """``[resilience]`` in config.toml; every field optional."""

    deadline: float = 300.0  # seconds after the request's arrival past which no attempt starts
    backoff_base: float = 0.5  # first retry waits about this long, doubling each time...
    backoff_max: float = 8.0  # ...up to this
    max_wait: float = 10.0  # the longest retry-after olga sits out inside one request
    breaker_threshold: int = 5  # consecutive provider failures that open its circuit
    breaker_cooldown: float = 30.0  # seconds a provider with an open circuit is skipped before a probe
    key_rest: float = 1.0  # a key's first rest after a 429 without retry-after; doubles per strike
    key_rest_max: float = 60.0


@dataclass(frozen=True, slots=True)
class Retention:
    """``[retention]`` in config.toml: how many days records, and their bodies, are kept (None: always)."""

    days: int | None = None
    bodies_days: int | None = None

    @property
    def active(self) -> bool:
        return self.days is not None or self.bodies_days is not None


@dataclass(frozen=True, slots=True)
class CachingConfig:
    """``[caching]``: automatic Anthropic prompt caching, on unless turned off (per key by name or id)."""

    auto: bool = True
    off_for_keys: tuple[str, ...] = ()


def _caching(data: Mapping[str, Any]) -> CachingConfig:
    table = data.get("caching")
    if table is None:
        return CachingConfig()
    if not isinstance(table, dict):
        raise UserError("config.toml: [caching] must be a table")
    auto = table.get("auto", True)
    keys = table.get("off_for_keys", [])
    if not isinstance(auto, bool):
        raise UserError("config.toml: [caching] auto must be true or false")
    if not isinstance(keys, list) or not all(isinstance(k, str) for k in keys):
        raise UserError('config.toml: [caching] off_for_keys must be a list of key names or ids, e.g. ["ci"]')
    return CachingConfig(auto=auto, off_for_keys=tuple(keys))


@dataclass(frozen=True, slots=True)
class Config:
    home: Path
    host: str = DEFAULT_HOST
    port: int = DEFAULT_PORT
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES
    providers: Mapping[str, ProviderConfig] = field(default_factory=dict)
    routes: tuple[RouteRule, ...] = ()
    fallbacks: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    webhook_url: str | None = None
    store_bodies: bool = True
    overhead_header: bool = True  # x-olga-overhead-ms on every response
    resilience: RetryPolicy = RetryPolicy()
    retention: Retention = Retention()
    caching: CachingConfig = field(default_factory=CachingConfig)
    raw: Mapping[str, Any] = field(default_factory=dict)
    # Team mode: the shared store (postgresql://...) and, optionally, Redis; None: SQLite in the home.
    database_url: str | None = None
    redis_url: str | None = None

    @property
    def db_path(self) -> Path:
        return self.home / "olga.db"

    @property
    def store_location(self) -> Path | str:
        """What ``open_store`` opens: the PostgreSQL URL in team mode, else the SQLite file."""
        return self.database_url or self.db_path

    @property
    def config_path(self) -> Path:
        return self.home / "config.toml"


class ConfigFile:
    """``config.toml`` as an editable document; written back with mode 0600 (it may hold API keys)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.data: dict[str, Any] = {}
        if path.is_file():
            try:
                self.data = tomllib.loads(path.read_text("utf-8"))
            except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
                raise UserError(f"{path} is not valid TOML ({exc}); fix or remove it") from None

    def table(self, *names: str) -> dict[str, Any]:
        node = self.data
        for name in names:
            child = node.setdefault(name, {})
            if not isinstance(child, dict):
                raise UserError(f"{self.path}: [{'.'.join(names)}] must be a table")
            node = child
        return node

    def save(self) -> None:
        import tomli_w  # only to write: reading the config is every command's, writing a few's

        write_private(self.path, tomli_w.dumps(self.data).encode())


def _provider(name: str, raw: Mapping[str, Any], builtin: bool) -> ProviderConfig:
    where = f"config.toml [providers.{name}]"
    kind = raw.get("kind", "openai-compatible")
    if kind not in (*PROVIDER_KINDS, "mock"):
        raise UserError(f"{where}: kind must be one of {', '.join(PROVIDER_KINDS)}")
    base_url = str(raw.get("base_url", "")).rstrip("/")
    if not base_url:
        raise UserError(f"{where}: base_url is required")
    keys: list[KeySource] = []
    if raw.get("api_key_env"):
        keys.append(KeySource(label=f"env:{raw['api_key_env']}", env=str(raw["api_key_env"])))
    if raw.get("api_key"):
        keys.append(KeySource(label="key-1", value=str(raw["api_key"])))
    for index, extra in enumerate(raw.get("api_keys", []) or [], start=len(keys) + 1):
        if isinstance(extra, str):
            keys.append(KeySource(label=f"key-{index}", value=extra))
        elif isinstance(extra, dict) and extra.get("env"):
            keys.append(
                KeySource(label=str(extra.get("label") or f"env:{extra['env']}"), env=str(extra["env"]))
            )
        elif isinstance(extra, dict) and extra.get("value"):
            keys.append(KeySource(label=str(extra.get("label") or f"key-{index}"), value=str(extra["value"])))
    auth = raw.get("auth", _DEFAULT_AUTH.get(kind, "bearer"))
    if auth not in (*AUTH_STYLES, "none"):
        raise UserError(f"{where}: auth must be one of {', '.join(AUTH_STYLES)}")

    def number(key: str, default: float) -> float:
        value = raw.get(key, default)
        if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
            raise UserError(f"{where}: {key} must be a positive number of seconds")
        return float(value)

    def megabytes(key: str, default: float) -> float:
        value = raw.get(key, default)
        if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
            raise UserError(f"{where}: {key} must be a positive number of MiB")
        return float(value)

    max_retries = raw.get("max_retries", 2)
    if isinstance(max_retries, bool) or not isinstance(max_retries, int) or max_retries < 0:
        raise UserError(f"{where}: max_retries must be a whole number >= 0")
    return ProviderConfig(
        name=name,
        kind=kind,
        base_url=base_url,
        keys=tuple(keys),
        auth=auth,
        needs_key=bool(raw.get("needs_key", kind != "mock")),
        connect_timeout=number("connect_timeout", 10.0),
        first_byte_timeout=number("first_byte_timeout", 120.0),
        idle_timeout=number("idle_timeout", 120.0),
        total_timeout=number("total_timeout", 900.0),
        max_response_mb=megabytes("max_response_mb", 128.0),
        max_event_mb=megabytes("max_event_mb", 32.0),
        max_line_mb=megabytes("max_line_mb", 16.0),
        max_retries=max_retries,
        retry_on=tuple(int(s) for s in raw.get("retry_on", []) or []),
        paused=bool(raw.get("paused", False)),
        builtin=builtin,
        preset=str(raw["preset"]) if raw.get("preset") else None,
        local=bool(raw.get("local", False)),
        api_version=str(raw["api_version"]) if raw.get("api_version") else None,
        deployments=_deployments(raw.get("deployments"), where),
    )


def _deployments(raw: Any, where: str) -> dict[str, str]:
    if raw is None:
        return {}
    if not isinstance(raw, dict) or not all(isinstance(v, str) and v for v in raw.values()):
        raise UserError(
            f'{where}: deployments must map model names to deployment names, e.g. {{"gpt-4o" = "prod-4o"}}'
        )
    return {str(k): v for k, v in raw.items()}


def _port(value: object, where: str) -> int:
    """A TCP port from a flag, OLGA_PORT or config.toml, as one line naming where it came from."""
    text = str(value).strip()
    if isinstance(value, bool) or not text.isdigit() or not 1 <= int(text) <= 65535:
        raise UserError(f"{where} must be a port number from 1 to 65535, not {value!r}")
    return int(text)


def _bad_setting(table: str, name: str, value: Any, wanted: str, default: Any) -> None:
    log.error(
        "config.toml [%s] %s = %r: must be %s; the default (%s) is used", table, name, value, wanted, default
    )


def resilience_of(data: Mapping[str, Any]) -> RetryPolicy:
    """``[resilience]`` of a config.toml document."""
    table = data.get("resilience")
    if not isinstance(table, dict):
        return RetryPolicy()
    values: dict[str, Any] = {}
    defaults = RetryPolicy()
    for name in RetryPolicy.__dataclass_fields__:
        value = table.get(name)
        if value is None:
            continue
        if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
            _bad_setting("resilience", name, value, "a number > 0", getattr(defaults, name))
            continue
        values[name] = int(value) if isinstance(getattr(defaults, name), int) else float(value)
    return RetryPolicy(**values)


def retention_of(data: Mapping[str, Any]) -> Retention:
    """``[retention]`` of a config.toml document."""
    table = data.get("retention")
    if not isinstance(table, dict):
        return Retention()

    def days(name: str) -> int | None:
        value: Any = table.get(name)
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
            _bad_setting("retention", name, value, "a whole number of days > 0", "keep them all")
            return None
        return value

    return Retention(days=days("days"), bodies_days=days("bodies_days"))


def load_config(
    home: Path,
    *,
    host: str | None = None,
    port: int | None = None,
    environ: Mapping[str, str] | None = None,
    database_url: str | None = None,
    redis_url: str | None = None,
) -> Config:
    env = os.environ if environ is None else environ
    data = ConfigFile(home / "config.toml").data
    server = data.get("server", {}) if isinstance(data.get("server"), dict) else {}

    providers_raw = builtin_providers()
    builtin_names = set(providers_raw)
    for name, table in (data.get("providers") or {}).items():
        if not isinstance(table, dict):
            raise UserError(f"config.toml: [providers.{name}] must be a table")
        providers_raw[name] = {**providers_raw.get(name, {}), **table} if not table.get("removed") else table
    providers = {
        name: _provider(name, raw, name in builtin_names)
        for name, raw in providers_raw.items()
        if not raw.get("removed")
    }

    routes = []
    for index, raw in enumerate(data.get("routes") or []):
        if not isinstance(raw, dict) or not raw.get("provider"):
            raise UserError(f"config.toml: routes[{index}] needs a provider")
        routes.append(
            RouteRule(
                id=str(raw.get("id", index + 1)),
                provider=str(raw["provider"]),
                format=raw.get("format"),
                model=raw.get("model"),
                to_model=raw.get("to_model"),
            )
        )
    fallbacks = {
        str(model): tuple(str(m) for m in targets)
        for model, targets in (data.get("fallbacks") or {}).items()
        if isinstance(targets, list)
    }

    if port is not None:
        resolved_port = _port(port, "--port")
    elif env.get("OLGA_PORT"):
        resolved_port = _port(env["OLGA_PORT"], "OLGA_PORT")
    else:
        resolved_port = _port(server.get("port", DEFAULT_PORT), "config.toml [server] port")
    max_body_mb = server.get("max_body_mb")
    if max_body_mb is not None and (
        isinstance(max_body_mb, bool) or not isinstance(max_body_mb, int | float) or max_body_mb <= 0
    ):
        raise UserError(f"config.toml [server] max_body_mb must be a positive number, not {max_body_mb!r}")
    host_value = host or env.get("OLGA_HOST") or server.get("host", DEFAULT_HOST)
    if not isinstance(host_value, str) or not host_value.strip():
        raise UserError(f"config.toml [server] host must be an address such as 127.0.0.1, not {host_value!r}")
    database_url = resolve_database_url(database_url, env)
    redis_url = resolve_redis_url(redis_url, env)
    return Config(
        home=home,
        database_url=database_url,
        redis_url=redis_url,
        host=host_value,
        port=resolved_port,
        max_body_bytes=int(max_body_mb * 1024 * 1024) if max_body_mb else DEFAULT_MAX_BODY_BYTES,
        providers=providers,
        routes=tuple(routes),
        fallbacks=fallbacks,
        webhook_url=(data.get("alerts") or {}).get("webhook_url")
        if isinstance(data.get("alerts"), dict)
        else None,
        store_bodies=bool(server.get("store_bodies", True)),
        overhead_header=server.get("overhead_header", True) is not False,
        resilience=resilience_of(data),
        retention=retention_of(data),
        caching=_caching(data),
        raw=data,
    )
