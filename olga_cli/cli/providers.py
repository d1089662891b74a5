"""``olga providers``: connect providers, give them keys, pause and resume them.

Changes go to config.toml (mode 0600); a running server picks them up on the next request.
"""

from __future__ import annotations

import os
import time
from typing import Annotated, Any

import typer
from rich.markup import escape

from olga_cli.cli.common import Env, JsonOption, console, env_of, fail, print_json, run, store
from olga_cli.cli.names import ProviderArg
from olga_cli.cli.reach import probe_all
from olga_cli.cli.render.lists import presets_listing, providers_listing
from olga_cli.cli.render.table import emit, fields_listing
from olga_cli.config import (
    AUTH_STYLES,
    PROVIDER_KINDS,
    Config,
    ConfigFile,
    ProviderConfig,
    load_config,
)
from olga_cli.errors import UserError
from olga_cli.presets import PRESETS, builtin_providers, parse_deployments, preset_fields
from olga_cli.store import provider_health
from olga_cli.store.provider_health import KeyHealthRow

app = typer.Typer(help="Providers olga forwards to, and their API keys.", no_args_is_help=True)

KeyEnvOpt = Annotated[
    str | None, typer.Option("--api-key-env", help="Read the key from this environment variable.")
]
KeyOpt = Annotated[
    str | None, typer.Option("--api-key", help="The key itself (stored in config.toml, mode 0600).")
]


def _config_file(ctx: typer.Context) -> ConfigFile:
    return ConfigFile(env_of(ctx).home / "config.toml")


def provider_json(provider: ProviderConfig, health: list[KeyHealthRow] | None = None) -> dict[str, Any]:
    """A provider as `list --json` shows it. A key the running server found rate-limited or rejected
    carries ``state`` ("rate_limited" until ``until``, or "invalid" with the provider's ``status``)."""
    keys = [_key_json(provider, source, health or [], time.time()) for source in provider.keys]
    usable = [k["label"] for k in keys if k["usable"]]
    if provider.paused:
        status = "paused"
    elif provider.needs_key and not usable:
        status = "no key"
    else:
        status = "ready"
    return {
        "name": provider.name,
        "kind": provider.kind,
        "base_url": provider.base_url,
        "auth": provider.auth,
        "keys": keys,
        "status": status,
        "builtin": provider.builtin,
        "preset": provider.preset,
        "local": provider.local,
        "api_version": provider.api_version,
        "deployments": dict(provider.deployments),
        "connect_timeout": provider.connect_timeout,
        "first_byte_timeout": provider.first_byte_timeout,
        "idle_timeout": provider.idle_timeout,
        "total_timeout": provider.total_timeout,
        "max_response_mb": provider.max_response_mb,
        "max_event_mb": provider.max_event_mb,
        "max_line_mb": provider.max_line_mb,
        "max_retries": provider.max_retries,
    }


def _key_json(
    provider: ProviderConfig, source: Any, health: list[KeyHealthRow], now: float
) -> dict[str, Any]:
    value = source.resolve(os.environ)
    row: dict[str, Any] = {"label": source.label, "usable": bool(value)}
    mark = next((h for h in health if h.provider == provider.name and h.key_label == source.label), None)
    if mark is None or (value and provider_health.fingerprint(value) != mark.fingerprint):
        return row  # no mark, or one about a key that has since been replaced
    if mark.state == "invalid":
        row.update(usable=False, state="invalid", status=mark.status, reason=mark.reason)
    elif mark.state == "rate_limited" and mark.until is not None and mark.until > now:
        row.update(state="rate_limited", until=mark.until, reason=mark.reason)
    return row


def _health(env: Env) -> list[KeyHealthRow]:
    """Key marks written by the server, if a store exists (listing providers never creates one)."""
    if not env.has_store():
        return []

    async def read() -> list[KeyHealthRow]:
        async with store(env) as db:
            marks, _ = await db.health.load()
            return marks

    result: list[KeyHealthRow] = run(read())
    return result


def _provider_config(ctx: typer.Context, name: str) -> Config:
    """The configuration, which must name ``name``; one clear line when it does not."""
    config = load_config(env_of(ctx).home)
    if name not in config.providers:
        raise UserError(f"no provider '{name}'; see `olga providers list`")
    return config


def _saved(ctx: typer.Context, name: str, json_out: bool, message: str) -> None:
    """Print the provider as it now stands, read back from config.toml."""
    if json_out:
        print_json(provider_json(load_config(env_of(ctx).home).providers[name]))
    else:
        console().print(message)


@app.command("list")
def list_providers(ctx: typer.Context, json_out: JsonOption = False) -> None:
    """Providers with their status, whether they answer now, and key labels (never the keys).

    Each provider is sent one GET of its model list (1.5 s at most, all at once): reachable means it
    answered. On a narrow terminal the keys, kind and base url columns go first (never cut short);
    piped, tab-separated lines under a header. Example: olga providers list"""
    config = load_config(env_of(ctx).home)
    health = _health(env_of(ctx))
    reach = probe_all(config.providers.values(), os.environ)
    rows = [{**provider_json(p, health), "reachability": reach[p.name]} for p in config.providers.values()]
    if json_out:
        print_json(rows)
        return
    emit(console(), providers_listing(rows))


@app.command("show")
def show(ctx: typer.Context, name: ProviderArg, json_out: JsonOption = False) -> None:
    """One provider's settings: timeouts, limits on what olga takes from it, keys (labels only).

    Example: olga providers show openai"""
    env = env_of(ctx)
    provider = _provider_config(ctx, name).providers[name]
    data = provider_json(provider, _health(env))
    if json_out:
        print_json(data)
        return
    fields = []
    for field, value in data.items():
        if field == "keys":
            value = ", ".join(k["label"] for k in value) or "-"
        elif field == "deployments":
            value = ", ".join(f"{m}={d}" for m, d in value.items()) or "-"
        fields.append((field, "-" if value is None else str(value)))
    emit(console(), fields_listing(fields, title=f"provider {name}"))


def _check_timeout(value: float | None, flag: str) -> None:
    if value is not None and value <= 0:
        raise fail(f"{flag} must be a positive number of seconds")


def _check_size(value: float | None, flag: str) -> None:
    if value is not None and value <= 0:
        raise fail(f"{flag} must be a positive number of MiB")


PresetOpt = Annotated[
    str | None,
    typer.Option(
        "--preset", help="Fill kind, base URL, auth and key variable; see `olga providers presets`."
    ),
]
DeploymentOpt = Annotated[
    list[str] | None,
    typer.Option("--deployment", help="Azure: MODEL=DEPLOYMENT, once per deployment."),
]


@app.command("add")
def add(
    ctx: typer.Context,
    name: str,
    preset: PresetOpt = None,
    kind: Annotated[
        str | None, typer.Option("--kind", help="openai, anthropic, openai-compatible, gemini or azure.")
    ] = None,
    base_url: Annotated[
        str | None, typer.Option("--base-url", help="The URL an SDK takes (…/v1 for OpenAI kinds).")
    ] = None,
    api_key_env: KeyEnvOpt = None,
    api_key: KeyOpt = None,
    auth: Annotated[
        str | None, typer.Option("--auth", help="bearer, x-api-key, api-key or x-goog-api-key.")
    ] = None,
    api_version: Annotated[
        str | None, typer.Option("--api-version", help="Azure: the api-version to call.")
    ] = None,
    deployment: DeploymentOpt = None,
    connect_timeout: Annotated[float | None, typer.Option("--connect-timeout", help="Seconds.")] = None,
    first_byte_timeout: Annotated[float | None, typer.Option("--first-byte-timeout", help="Seconds.")] = None,
    idle_timeout: Annotated[
        float | None,
        typer.Option("--idle-timeout", help="Seconds between events (comments and pings do not count)."),
    ] = None,
    total_timeout: Annotated[
        float | None,
        typer.Option(
            "--total-timeout", help="Seconds a request may take here, arrival to last byte, retries included."
        ),
    ] = None,
    max_response_mb: Annotated[
        float | None, typer.Option("--max-response-mb", help="MiB of one answer, decompressed.")
    ] = None,
    max_event_mb: Annotated[
        float | None, typer.Option("--max-event-mb", help="MiB of one streamed event.")
    ] = None,
    max_line_mb: Annotated[
        float | None, typer.Option("--max-line-mb", help="MiB of one streamed line.")
    ] = None,
    max_retries: Annotated[
        int | None, typer.Option("--max-retries", help="Extra attempts on safe failures.")
    ] = None,
    json_out: JsonOption = False,
) -> None:
    """Connect a provider, by preset or by hand; on a provider already there, change the settings given.

    Examples: olga providers add groq --preset groq;
    olga providers add vllm --kind openai-compatible --base-url http://127.0.0.1:8001/v1
    """
    if not name.replace("-", "").replace("_", "").replace(".", "").isalnum():
        raise fail("a provider name may hold letters, digits, '-', '_' and '.' only")
    if name == "mock":
        raise fail(
            "'mock' is olga's built-in offline provider and is not replaced; pick another name "
            "(`olga providers reset mock` restores it if it was changed)"
        )
    if preset is None and kind is None and name in PRESETS:
        preset = name  # `olga providers add groq` means the groq preset
    fields = (
        preset_fields(preset, base_url=base_url, given_key=bool(api_key or api_key_env))
        if preset is not None
        else {}
    )
    if preset is not None and kind is not None:
        raise fail("give --preset or --kind, not both")
    if kind is None and preset is None and name not in builtin_providers():
        raise fail(f"--kind or --preset is required: a kind is one of {', '.join(PROVIDER_KINDS)}")
    if kind is not None and kind not in PROVIDER_KINDS:
        raise fail(f"--kind must be one of {', '.join(PROVIDER_KINDS)}, not {kind!r}")
    if auth is not None and auth not in AUTH_STYLES:
        raise fail(f"--auth must be one of {', '.join(AUTH_STYLES)}, not {auth!r}")
    if base_url is None and not fields and name not in builtin_providers():
        raise fail("--base-url is required, e.g. http://127.0.0.1:8001/v1")
    if base_url is not None and not base_url.startswith(("http://", "https://")):
        raise fail("--base-url must start with http:// or https://")
    if api_key_env and api_key:
        raise fail("give --api-key-env or --api-key, not both")
    for value, flag in (
        (connect_timeout, "--connect-timeout"),
        (first_byte_timeout, "--first-byte-timeout"),
        (idle_timeout, "--idle-timeout"),
        (total_timeout, "--total-timeout"),
    ):
        _check_timeout(value, flag)
    for value, flag in (
        (max_response_mb, "--max-response-mb"),
        (max_event_mb, "--max-event-mb"),
        (max_line_mb, "--max-line-mb"),
    ):
        _check_size(value, flag)
    if max_retries is not None and max_retries < 0:
        raise fail("--max-retries must be 0 or more")
    file = _config_file(ctx)
    table = file.table("providers", name)
    table.pop("removed", None)
    flags: dict[str, object] = {
        "kind": kind,
        "base_url": base_url,
        "api_key_env": api_key_env,
        "api_key": api_key,
        "auth": auth,
        "api_version": api_version,
        "connect_timeout": connect_timeout,
        "first_byte_timeout": first_byte_timeout,
        "idle_timeout": idle_timeout,
        "total_timeout": total_timeout,
        "max_response_mb": max_response_mb,
        "max_event_mb": max_event_mb,
        "max_line_mb": max_line_mb,
        "max_retries": max_retries,
    }
    fields.update({field: value for field, value in flags.items() if value is not None})  # flags win
    table.update({field: value for field, value in fields.items() if value is not None})
    if deployment:
        table["deployments"] = {**table.get("deployments", {}), **parse_deployments(deployment)}
    if table.get("kind") == "openai-compatible" and not (api_key or api_key_env or table.get("api_keys")):
        table.setdefault("needs_key", False)
    if api_key or api_key_env:
        table["needs_key"] = True
    file.save()
    provider = load_config(env_of(ctx).home).providers[name]
    how = f"preset {preset}, " if preset else ""
    _saved(
        ctx,
        name,
        json_out,
        f"Provider '{escape(name)}' saved ({how}{provider.kind}, {escape(provider.base_url)})."
        + _key_hint(provider),
    )


def _key_hint(provider: ProviderConfig) -> str:
    if not provider.needs_key or any(source.resolve(os.environ) for source in provider.keys):
        return ""
    env = next((source.env for source in provider.keys if source.env), None)
    return f" Export {env} before `olga serve`." if env else " Give it a key with `olga providers add-key`."


@app.command("presets")
def presets(json_out: JsonOption = False) -> None:
    """Providers olga knows how to connect in one command (piped: tab-separated lines).

    On a narrow terminal the auth column goes first, then the key variable; base URLs are never cut.
    Example: olga providers presets
    """
    rows = [p.to_json() for p in PRESETS.values()]
    if json_out:
        print_json(rows)
        return
    out = console()
    emit(out, presets_listing([{**p.to_json(), "example_url": p.example_url} for p in PRESETS.values()]))
    if not out.is_terminal:
        return
    out.print(
        "Connect one with `olga providers add NAME --preset PRESET`; a local server's models are listed "
        "live from its /models (`olga models list --provider NAME`)."
    )


@app.command("add-key")
def add_key(
    ctx: typer.Context,
    name: str,
    api_key_env: KeyEnvOpt = None,
    api_key: KeyOpt = None,
    json_out: JsonOption = False,
) -> None:
    """Add an API key to a provider's pool. Example: olga providers add-key openai --api-key-env OPENAI_KEY_2"""
    if bool(api_key_env) == bool(api_key):
        raise fail("give exactly one of --api-key-env VAR or --api-key VALUE")
    config = _provider_config(ctx, name)
    file = _config_file(ctx)
    table = file.table("providers", name)
    keys = list(table.get("api_keys", []))
    count = len(config.providers[name].keys) + 1
    keys.append(
        {"env": api_key_env, "label": f"env:{api_key_env}"}
        if api_key_env
        else {"value": api_key, "label": f"key-{count}"}
    )
    table["api_keys"] = keys
    table["needs_key"] = True
    file.save()
    _saved(ctx, name, json_out, f"Provider '{escape(name)}' now has {count} key(s).")


def _set_flag(ctx: typer.Context, name: str, field: str, value: bool, json_out: bool, message: str) -> None:
    _provider_config(ctx, name)
    file = _config_file(ctx)
    file.table("providers", name)[field] = value
    file.save()
    _saved(ctx, name, json_out, message)


@app.command("pause")
def pause(ctx: typer.Context, name: ProviderArg, json_out: JsonOption = False) -> None:
    """Fail its requests fast with 429 until resumed. Example: olga providers pause openai"""
    _set_flag(ctx, name, "paused", True, json_out, f"Provider '{escape(name)}' paused.")


@app.command("resume")
def resume(ctx: typer.Context, name: ProviderArg, json_out: JsonOption = False) -> None:
    """Serve a paused provider again, giving rejected or resting keys another chance.
    Example: olga providers resume openai"""
    env = env_of(ctx)
    if name in load_config(env.home).providers:

        async def reset() -> None:
            async with store(env) as db:
                await db.health.reset(name, now=time.time())

        run(reset())
    _set_flag(ctx, name, "paused", False, json_out, f"Provider '{escape(name)}' resumed.")


@app.command("reset")
def reset(ctx: typer.Context, name: ProviderArg, json_out: JsonOption = False) -> None:
    """Restore a built-in provider as olga ships it (mock, openai, anthropic, ollama).

    Example: olga providers reset mock"""
    if name not in builtin_providers():
        raise fail(f"'{name}' is not a built-in provider; one of {', '.join(builtin_providers())}")
    file = _config_file(ctx)
    file.table("providers").pop(name, None)
    file.save()
    _saved(ctx, name, json_out, f"Provider '{escape(name)}' restored to its built-in settings.")


@app.command("remove")
def remove(ctx: typer.Context, name: ProviderArg, json_out: JsonOption = False) -> None:
    """Disconnect a provider. Example: olga providers remove vllm"""
    _provider_config(ctx, name)
    file = _config_file(ctx)
    providers = file.table("providers")
    if name in builtin_providers():
        providers[name] = {"removed": True}
    else:
        providers.pop(name, None)
    file.save()
    if json_out:
        print_json({"name": name, "removed": True})
    else:
        console().print(f"Provider '{escape(name)}' removed.")
