"""``olga models list``: the catalog, with prices per million tokens and context windows."""

from __future__ import annotations

from typing import Annotated

import typer
from rich import box
from rich.markup import escape
from rich.table import Table

from olga_cli.catalog import CatalogError, ModelEntry, load_catalog
from olga_cli.cli.common import JsonOption, console, env_of, fail, print_json

app = typer.Typer(
    help="Models olga knows and what they cost. Example: olga models list --provider openai",
    no_args_is_help=True,
)


def _size(n: int | None) -> str:
    """128000 -> 128k, 1047576 -> 1.05M: context windows at a glance (--json has them exact)."""
    if not n:
        return "-"
    if n >= 1_000_000:
        return f"{n / 1_000_000:.2f}".rstrip("0").rstrip(".") + "M"
    if n % 1000 == 0:
        return f"{n // 1000}k"
    return f"{n / 1000:.1f}k" if n >= 1000 else str(n)


def _cells(e: ModelEntry, multiplied: bool) -> list[str]:
    name = e.id.split("/", 1)[1] if e.id.startswith(e.provider + "/") else e.id
    cells = [
        escape(e.provider),
        escape(name),
        escape(", ".join(a for a in e.aliases if a not in (e.upstream, name))) or "-",
        f"${e.input_per_mtok}",
        "-" if e.cached_input_per_mtok is None else f"${e.cached_input_per_mtok}",
        f"${e.output_per_mtok}",
    ]
    if multiplied:
        cells.append("" if e.multiplier == 1 else str(e.multiplier))
    return cells + [_size(e.context_window), _size(e.max_output_tokens)]


@app.command("list")
def list_models(
    ctx: typer.Context,
    provider: Annotated[str | None, typer.Option("--provider", help="Only this provider's models.")] = None,
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
    table = Table(
        title=f"models (catalog {catalog.version})",
        title_justify="left",
        box=box.SIMPLE_HEAD,
        pad_edge=False,
        show_edge=False,
        padding=(0, 1),
        collapse_padding=True,
    )
    # The multiplier column only when some model has one; names never wrap, so they can be copied whole.
    multiplied = any(e.multiplier != 1 for e in entries)
    columns = (
        ("provider", "name", "aliases", "input", "cached", "output")
        + (("×",) if multiplied else ())
        + ("context", "max out")
    )
    rows = [_cells(e, multiplied) for e in entries]
    for index, column in enumerate(columns):
        # Prices and sizes are never cut short: each keeps the width of its longest value.
        widest = max(len(column), *(len(row[index]) for row in rows))
        table.add_column(
            column,
            justify="left" if column in ("provider", "name", "aliases") else "right",
            overflow="fold",
            no_wrap=column != "aliases",
            min_width=None if column in ("name", "aliases") else widest,
        )
    for row in rows:
        table.add_row(*row)
    out = console()
    out.print(table)
    out.print(
        "Prices in USD per million tokens"
        + ("; × is a model's cost multiplier" if multiplied else "")
        + ". Name a model as provider/name or by an alias."
    )
