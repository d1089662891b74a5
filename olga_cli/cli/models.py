"""``olga models``: the catalog with its prices (``list``), kept current (``update``) and checked
against what olga routes to (``verify``)."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from olga_cli import catalog_archive as archive
from olga_cli import catalog_update, local_models, pricing_check
from olga_cli.catalog import Catalog, ModelEntry, load_catalog
from olga_cli.cli.common import (
    Env,
    JsonOption,
    console,
    env_of,
    error_console,
    fail,
    print_json,
    run,
    store,
)
from olga_cli.cli.render.models import models_listing, price_changes_listing, verify_listing
from olga_cli.cli.render.table import emit
from olga_cli.config import load_config
from olga_cli.errors import CatalogError, UserError
from olga_cli.files import write_private

app = typer.Typer(
    help="Models olga knows and what they cost. Example: olga models list --provider openai",
    no_args_is_help=True,
)


@app.command("list")
def list_models(
    ctx: typer.Context,
    provider: Annotated[str | None, typer.Option("--provider", help="Only this provider's models.")] = None,
    json_out: JsonOption = False,
) -> None:
    """Models by provider, with aliases, prices (USD per million tokens) and context windows.

    On a narrow terminal aliases go first, then max output, context and cached price; names and prices
    are never cut. Piped, tab-separated lines under a header.
    Example: olga models list --provider anthropic
    """
    try:
        catalog = load_catalog(env_of(ctx).home)
    except CatalogError as exc:
        raise fail(str(exc)) from None
    entries = [e for e in catalog.entries() if provider is None or e.provider == provider]
    live, notes = _live_models(env_of(ctx), catalog, provider)
    entries += live
    # A provider priced by a wildcard (every local server: free) shows it as `NAME/*`, so its prices
    # are there to read even while the server is not running.
    for name in catalog.wildcard_providers():
        wildcard = catalog.resolve_for_provider(name, "*") if provider in (None, name) else None
        if wildcard is not None:
            entries.append(wildcard)
    if json_out:
        print_json([e.to_json() for e in entries])
        return
    for note in notes:
        error_console().print(escape(note))
    if not entries:
        raise fail(f"no models for provider '{provider}'" if provider else "the catalog is empty")
    entries.sort(key=lambda e: (e.provider, e.id))
    out = console()
    emit(out, models_listing(entries, version=catalog.version))
    if not out.is_terminal:
        return
    multiplied = any(e.multiplier != 1 for e in entries)
    out.print(
        "Prices in USD per million tokens"
        + ("; × is a model's cost multiplier" if multiplied else "")
        + ". Name a model as provider/name or by an alias."
    )


def _live_models(env: Env, catalog: Catalog, only: str | None) -> tuple[list[ModelEntry], list[str]]:
    """Local servers' models as they are now (priced by their provider's wildcard entry)."""
    found: list[ModelEntry] = []
    notes: list[str] = []
    for provider in load_config(env.home).providers.values():
        if not provider.local or (only is not None and provider.name != only):
            continue
        ids = local_models.fetch_model_ids(provider)
        if isinstance(ids, str):
            if only is None and provider.builtin:
                continue  # the built-in ollama entry is there for whoever runs Ollama; no news otherwise
            notes.append(f"{provider.name}: {ids}; its models are listed when it runs.")
            continue
        for name in ids:
            entry = catalog.resolve_for_provider(provider.name, name)
            if entry is not None and entry.provider == provider.name:
                found.append(entry)
    return found, notes


# -- keeping prices current ----------------------------------------------------------------------

_MAX_SOURCE_BYTES = 64 * 1024 * 1024


def _fetch(source: str) -> str:
    """The price map's text, from a URL (http or https) or a file."""
    if source.startswith(("http://", "https://")):
        try:
            with urllib.request.urlopen(source, timeout=30) as response:
                data = bytes(response.read(_MAX_SOURCE_BYTES + 1))
        except (urllib.error.URLError, TimeoutError, OSError) as exc:
            raise UserError(f"could not fetch {source}: {exc}; try again, or pass --from FILE") from None
        if len(data) > _MAX_SOURCE_BYTES:
            raise UserError(f"{source} is larger than {_MAX_SOURCE_BYTES // 2**20} MB; is it a price map?")
        return data.decode("utf-8", "replace")
    path = Path(source).expanduser()
    if not path.is_file():
        raise UserError(f"no file {source}; pass --from with a URL (https://...) or a JSON file")
    return path.read_text("utf-8", "replace")


@app.command("update")
def update(
    ctx: typer.Context,
    source: Annotated[
        str | None,
        typer.Option("--from", help="A URL or file in LiteLLM's price map format (default: LiteLLM's own)."),
    ] = None,
    provider: Annotated[str | None, typer.Option("--provider", help="Only this provider's models.")] = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Show the changes; write nothing.")] = False,
    json_out: JsonOption = False,
) -> None:
    """Pull current prices, show what changed, and write them to <home>/model_catalog.json.

    Example: olga models update --from ./model_prices_and_context_window.json --dry-run
    """
    home = env_of(ctx).home
    where = source or catalog_update.DEFAULT_SOURCE
    try:
        catalog = load_catalog(home)
        text = _fetch(where)
        incoming = catalog_update.parse_price_map(text, where)
    except CatalogError as exc:
        raise fail(str(exc)) from None
    if provider is not None:
        incoming = {k: v for k, v in incoming.items() if v["provider"] == provider}
    found = catalog_update.diff(catalog, incoming)
    version = catalog_update.new_version(text)
    written = bool(found.overlay) and not dry_run
    if written:
        archive.save_version(home, catalog)  # the prices records made so far were charged at
        overlay_path = home / "model_catalog.json"
        existing = json.loads(overlay_path.read_text("utf-8")) if overlay_path.is_file() else {}
        document = catalog_update.merged_overlay(existing, found, version=version, source=where)
        write_private(overlay_path, (json.dumps(document, indent=1) + "\n").encode())
        archive.save_version(home, load_catalog(home))
    if json_out:
        print_json(
            {**found.to_json(), "version": version if written else catalog.version, "written": written}
        )
        return
    _print_diff(found, catalog.version, version if written else None, dry_run)


def _print_diff(found: catalog_update.Diff, old_version: str, new_version: str | None, dry_run: bool) -> None:
    out = console()
    if found.new_models:
        shown = found.new_models[:40]
        out.print(f"[green]{len(found.new_models)} new model(s)[/]: " + escape(", ".join(shown)))
        if len(found.new_models) > len(shown):
            out.print(f"  ... and {len(found.new_models) - len(shown)} more (--json lists them all)")
    if found.changes:
        emit(out, price_changes_listing(found.changes))
    out.print(f"{found.unchanged} model(s) unchanged.")
    if new_version:
        out.print(f"Catalog {old_version} -> {new_version}: written to model_catalog.json.")
    elif dry_run and found.overlay:
        out.print("Dry run: nothing written.")
    else:
        out.print(f"Catalog {old_version} is current: nothing to write.")


@app.command("verify")
def verify(ctx: typer.Context, json_out: JsonOption = False) -> None:
    """Check that every model olga may route to has a price (routes, fallbacks, allow-lists).

    Example: olga models verify
    """
    env = env_of(ctx)
    try:
        catalog = load_catalog(env.home)
    except CatalogError as exc:
        raise fail(str(exc)) from None
    config = load_config(env.home)
    checks = pricing_check.check(config, catalog, allow_lists=_allow_lists(env))
    missing = [c for c in checks if c.priced_by is None]
    if json_out:
        print_json(
            {"ok": not missing, "catalog_version": catalog.version, "models": [c.to_json() for c in checks]}
        )
    else:
        emit(console(), verify_listing(checks, version=catalog.version))
    if missing:
        names = ", ".join(c.model for c in missing)
        raise fail(
            f"{len(missing)} routed model(s) have no price ({names}): run `olga models update`, "
            "or price them in <home>/model_catalog.json"
        )
    if not json_out:
        console().print(f"Every routed model has a price ({len(checks)} checked).")


def _allow_lists(env: Env) -> dict[str, tuple[str, ...]]:
    """Each key's and team's --models, by "key NAME" / "team NAME" (none when there is no store yet)."""
    if not env.has_store():
        return {}

    async def read() -> dict[str, tuple[str, ...]]:
        async with store(env) as db:
            lists = {f"key {k.name}": k.models for k in await db.keys.list_keys() if k.models}
            lists.update({f"team {t.name}": t.models for t in await db.keys.list_teams() if t.models})
            return lists

    found: dict[str, tuple[str, ...]] = run(read())
    return found
