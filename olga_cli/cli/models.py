"""``olga models list``: the catalog, with prices per million tokens and context windows."""

from __future__ import annotations

from typing import Annotated, Optional

import typer
from rich import box
from rich.markup import escape
from rich.table import Table

from olga_cli.catalog import CatalogError, load_catalog
from olga_cli.cli.common import JsonOption, console, env_of, fail, print_json

app = typer.Typer(help="Models olga knows and what they cost. Example: olga models list --provider openai",
                  no_args_is_help=True)


@app.command("list")
def list_models(
    ctx: typer.Context,
    provider: Annotated[Optional[str], typer.Option("--provider", help="Only this provider's models.")] = None,
    json_out: JsonOption = False,
) -> None:
    """Models by provider, with aliases, prices (USD per million tokens) and context windows.

    Example: olga models list --provider anthropic
    """
    try:
        catalog = load_catalog(env_of(ctx).home)
    except CatalogError as exc:
        raise fail(str(exc)) from None
    entries = [e for e in catalog.entries() if provider is None or e.provider == provider]
    if json_out:
        print_json([e.to_json() for e in entries])
        return
    if not entries:
        raise fail(f"no models for provider '{provider}'" if provider else "the catalog is empty")
    entries.sort(key=lambda e: (e.provider, e.id))
    table = Table(title=f"models (catalog {catalog.version})", title_justify="left", box=box.SIMPLE_HEAD,
                  pad_edge=False, show_edge=False)
    for column, justify in (("provider", "left"), ("name", "left"), ("aliases", "left"), ("input", "right"),
                            ("cached", "right"), ("output", "right"), ("×", "right"), ("context", "right"),
                            ("max out", "right")):
        table.add_column(column, justify=justify, overflow="fold", no_wrap=justify == "right")  # type: ignore[arg-type]
    for e in entries:
        name = e.id.split("/", 1)[1] if e.id.startswith(e.provider + "/") else e.id
        table.add_row(
            escape(e.provider),
            escape(name),
            escape(", ".join(a for a in e.aliases if a not in (e.upstream, name))) or "-",
            f"${e.input_per_mtok}",
            "-" if e.cached_input_per_mtok is None else f"${e.cached_input_per_mtok}",
            f"${e.output_per_mtok}",
            "" if e.multiplier == 1 else str(e.multiplier),
            f"{e.context_window:,}" if e.context_window else "-",
            f"{e.max_output_tokens:,}" if e.max_output_tokens else "-",
        )
    out = console()
    out.print(table)
    out.print("Prices in USD per million tokens; × is a model's cost multiplier. "
              "Name a model as provider/name or by an alias.")
