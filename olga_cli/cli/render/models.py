"""``olga models``: the catalog with its prices, a price update's changes and the routed models'
check, as ``Listing``s. Prices are never cut; on a narrow terminal the sizes and aliases go first."""

from __future__ import annotations

from collections.abc import Sequence

from rich.text import Text

from olga_cli.catalog import ModelEntry
from olga_cli.catalog_update import Change
from olga_cli.cli.render.table import Cell, Column, Listing
from olga_cli.pricing_check import Check


def size_text(n: int | None) -> str:
    """128000 -> 128k, 1047576 -> 1.05M: context windows at a glance (--json has them exact)."""
    if not n:
        return "-"
    if n >= 1_000_000:
        return f"{n / 1_000_000:.2f}".rstrip("0").rstrip(".") + "M"
    if n % 1000 == 0:
        return f"{n // 1000}k"
    return f"{n / 1000:.1f}k" if n >= 1000 else str(n)


def _model_cells(e: ModelEntry, multiplied: bool) -> list[Cell]:
    name = e.id.split("/", 1)[1] if e.id.startswith(e.provider + "/") else e.id
    cells: list[Cell] = [
        e.provider,
        name,
        ", ".join(a for a in e.aliases if a not in (e.upstream, name)) or "-",
        f"${e.input_per_mtok}",
        "-" if e.cached_input_per_mtok is None else f"${e.cached_input_per_mtok}",
        f"${e.output_per_mtok}",
    ]
    if multiplied:
        cells.append("" if e.multiplier == 1 else str(e.multiplier))
    return cells + [size_text(e.context_window), size_text(e.max_output_tokens)]


def models_listing(entries: Sequence[ModelEntry], *, version: str) -> Listing:
    """The × (multiplier) column only when some model has one."""
    multiplied = any(e.multiplier != 1 for e in entries)
    columns = [
        Column("provider", "whole"),
        Column("name", "whole"),
        Column("aliases", drop=4),
        Column("input", "number"),
        Column("cached", "number", drop=1),
        Column("output", "number"),
    ]
    if multiplied:
        columns.append(Column("×", "number"))
    columns += [Column("context", "number", drop=2), Column("max out", "number", drop=3)]
    rows = [_model_cells(e, multiplied) for e in entries]
    return Listing(columns, rows, title=f"models (catalog {version})")


CHANGE_COLUMNS = (
    Column("model", "whole"),
    Column("price", "whole"),
    Column("was", "number"),
    Column("now", "number"),
)


def price_changes_listing(changes: Sequence[Change]) -> Listing:
    rows: list[list[Cell]] = [[c.model, c.field, c.old or "-", c.new or "-"] for c in changes]
    return Listing(CHANGE_COLUMNS, rows, title="price changes (USD per million tokens)")


VERIFY_COLUMNS = (Column("model", "whole"), Column("used by"), Column("priced by", "whole"))


def verify_listing(checks: Sequence[Check], *, version: str) -> Listing:
    rows: list[list[Cell]] = [
        [c.model, ", ".join(c.used_by), c.priced_by or Text("no price", style="red")] for c in checks
    ]
    return Listing(VERIFY_COLUMNS, rows, title=f"routed models (catalog {version})")
