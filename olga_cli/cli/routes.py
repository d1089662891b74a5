"""``olga routes``: rules that send requests to a chosen provider, stored as ``[[routes]]`` in config.toml.

A rule matches on the incoming API format (``openai`` for Chat Completions, Responses and Embeddings,
``anthropic`` for Messages) and/or the requested model; it names the provider to use and, optionally,
the model name to ask it for. Rules are evaluated top to bottom and the first match wins; a request
that matches none goes by its model's provider. A running server applies changes on the next request.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

import typer
from rich.markup import escape

from olga_cli.catalog import load_catalog
from olga_cli.cli.common import JsonOption, console, env_of, fail, print_json
from olga_cli.cli.render.lists import routes_listing
from olga_cli.cli.render.table import emit
from olga_cli.config import Config, ConfigFile, RouteRule, load_config
from olga_cli.errors import CatalogError, UserError

app = typer.Typer(
    help="Routing rules: which provider serves which requests, top to bottom.", no_args_is_help=True
)

ApiFormat = Literal["openai", "anthropic"]


def _api_format(value: str | None) -> ApiFormat | None:
    if value is None:
        return None
    if value == "openai":
        return "openai"
    if value == "anthropic":
        return "anthropic"
    raise fail(f"--format must be openai or anthropic, not {value!r}")


def rule_json(rule: RouteRule, config: Config | None = None) -> dict[str, Any]:
    provider = config.providers.get(rule.provider) if config is not None else None
    return {
        "id": rule.id,
        "format": rule.format,
        "model": rule.model,
        "provider": rule.provider,
        "to_model": rule.to_model,
        "provider_kind": provider.kind if provider is not None else None,
    }


def _load(ctx: typer.Context) -> tuple[Config, ConfigFile]:
    home = env_of(ctx).home
    try:
        return load_config(home), ConfigFile(home / "config.toml")
    except UserError as exc:
        raise fail(exc.message) from None


def _stored(file: ConfigFile) -> list[dict[str, Any]]:
    routes = file.data.setdefault("routes", [])
    if not isinstance(routes, list):
        raise fail(f"{file.path}: routes must be a list of [[routes]] tables")
    return routes


def _next_id(config: Config) -> int:
    numbers = [int(rule.id) for rule in config.routes if rule.id.isdigit()]
    return max(numbers, default=0) + 1


@app.command("add")
def add(
    ctx: typer.Context,
    provider: Annotated[str, typer.Option("--provider", help="The provider that serves matching requests.")],
    format_: Annotated[
        str | None, typer.Option("--format", help="Match requests in this API: openai or anthropic.")
    ] = None,
    model: Annotated[str | None, typer.Option("--model", help="Match requests for this model name.")] = None,
    to_model: Annotated[
        str | None, typer.Option("--to-model", help="Ask the provider for this model instead.")
    ] = None,
    json_out: JsonOption = False,
) -> None:
    """Add a rule at the bottom of the list.

    Example: olga routes add --format anthropic --model claude-haiku-4-5 --provider openai --to-model gpt-4o-mini
    """
    api_format = _api_format(format_)
    config, file = _load(ctx)
    if provider not in config.providers:
        raise fail(
            f"no provider '{provider}'; see `olga providers list`, or add one with `olga providers add`"
        )
    name = to_model or model
    if name is not None:
        if name.startswith(provider + "/"):
            name = name[len(provider) + 1 :]
        try:
            catalog = load_catalog(env_of(ctx).home)
        except CatalogError as exc:
            raise fail(str(exc)) from None
        if catalog.resolve_for_provider(provider, name) is None:
            raise fail(
                f"olga has no price for '{name}' at provider '{provider}', so it could not meter these requests; "
                "see `olga models list`, or price the model in <home>/model_catalog.json"
            )
    rule = RouteRule(
        id=str(_next_id(config)), provider=provider, format=api_format, model=model, to_model=to_model
    )
    stored: dict[str, Any] = {"id": int(rule.id), "provider": provider}
    stored.update(
        {k: v for k, v in (("format", api_format), ("model", model), ("to_model", to_model)) if v is not None}
    )
    _stored(file).append(stored)
    file.save()
    if json_out:
        print_json(rule_json(rule, config))
    else:
        console().print(f"Route {rule.id} added: {escape(_describe(rule))}.")


@app.command("list")
def list_routes(ctx: typer.Context, json_out: JsonOption = False) -> None:
    """Rules in the order they are tried. Example: olga routes list"""
    config, _ = _load(ctx)
    rows = [rule_json(rule, config) for rule in config.routes]
    if json_out:
        print_json(rows)
        return
    if not rows:
        console().print(
            "No routes: every request goes to its model's own provider. Add one with `olga routes add`."
        )
        return
    emit(console(), routes_listing(rows))


@app.command("remove")
def remove(
    ctx: typer.Context, route_id: Annotated[str, typer.Argument(metavar="ID")], json_out: JsonOption = False
) -> None:
    """Remove a rule by its id. Example: olga routes remove 2"""
    config, file = _load(ctx)
    index = next((i for i, rule in enumerate(config.routes) if rule.id == route_id), None)
    if index is None:
        known = ", ".join(rule.id for rule in config.routes) or "none"
        raise fail(f"no route '{route_id}' (routes: {known}); see `olga routes list`")
    stored = _stored(file)
    removed = config.routes[index]
    del stored[index]
    # Rules saved without an id are numbered by position: pin the ids of the ones left, so that they keep them.
    for position, raw in enumerate(stored):
        if isinstance(raw, dict) and "id" not in raw:
            kept = config.routes[position if position < index else position + 1]
            raw["id"] = int(kept.id) if kept.id.isdigit() else kept.id
    file.save()
    if json_out:
        print_json({**rule_json(removed, config), "removed": True})
    else:
        console().print(f"Route {escape(route_id)} removed.")


def _describe(rule: RouteRule) -> str:
    where = " ".join(
        part
        for part in (
            f"{rule.format} requests" if rule.format else "requests",
            f"for {rule.model}" if rule.model else "",
        )
        if part
    )
    target = rule.provider + (f" as {rule.to_model}" if rule.to_model else "")
    return f"{where} go to {target}"
