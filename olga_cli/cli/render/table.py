"""Every list olga prints, laid out one way.

On a terminal: a table that fits its width. Money, ids, numbers and times are never cut or wrapped;
when the terminal is too narrow, the columns of least value go first (``Column.drop``: the highest
goes first), then free text folds. Off a terminal (a pipe, a file): tab-separated lines under a header,
every value whole, no colour, whatever the width (gh's convention), so ``cut -f`` and ``awk -F'\\t'``
work on any list. Cells are plain text or ``Text``: never read as markup, so a key named ``[red]``
prints as it is.

This is the only module that draws a ``rich.table.Table`` (tests/cli/test_layout.py checks it): every
list, every "field value" block of a ``show`` command and every section of ``olga generation`` goes
through here, so they all adapt to the width and pipe the same way.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from rich.text import Text

if TYPE_CHECKING:  # drawn on a terminal only: piped lists never load them
    from rich.console import Console
    from rich.table import Table

Kind = Literal["text", "whole", "number", "bar"]
Cell = str | Text
PADDING = 2  # between columns
FOLD_AT = 24  # free text longer than this folds rather than costing another column its place


@dataclass(frozen=True, slots=True)
class Column:
    header: str
    # "whole": ids, money, times, names to copy (never cut); "number": right-aligned, never cut;
    # "bar": a chart drawn from the column before it, on a terminal only (never in piped output)
    kind: Kind = "text"
    drop: int = 0  # 0: always shown; otherwise dropped in decreasing order when the width runs short


@dataclass(frozen=True, slots=True)
class Listing:
    columns: Sequence[Column]
    rows: Sequence[Sequence[Cell]]
    styles: Sequence[str | None] = ()  # one per row, or none
    title: str | None = None
    show_header: bool = True  # False for "field value" blocks (the header still heads piped output)


def fields_listing(pairs: Sequence[tuple[str, Cell]], *, title: str | None = None) -> Listing:
    """A ``show`` command's "field  value" block: values are whole (ids, money), long text folds."""
    return Listing(
        (Column("field", "whole"), Column("value")),
        [[Text(label, style="bold"), value] for label, value in pairs],
        title=title,
        show_header=False,
    )


def plain(cell: Cell) -> str:
    return cell.plain if isinstance(cell, Text) else cell


def tsv_lines(listing: Listing) -> list[str]:
    """The header, then one line per row; tabs and newlines inside values become spaces."""

    def clean(text: str) -> str:
        return text.replace("\t", " ").replace("\n", " ")

    keep = [i for i, c in enumerate(listing.columns) if c.kind != "bar"]
    lines = ["\t".join(clean(listing.columns[i].header) for i in keep)]
    lines += ["\t".join(clean(plain(row[i])) for i in keep) for row in listing.rows]
    return lines


def _widest(listing: Listing) -> list[int]:
    return [
        max([len(column.header), *(len(plain(row[i])) for row in listing.rows)])
        for i, column in enumerate(listing.columns)
    ]


def _needed(listing: Listing, indexes: list[int], widest: list[int]) -> int:
    # Free text may fold, but a name of up to FOLD_AT cells is worth more than a low-value column:
    # those go first. Everything else needs its whole width.
    total = sum(min(widest[i], FOLD_AT) if listing.columns[i].kind == "text" else widest[i] for i in indexes)
    return total + PADDING * max(len(indexes) - 1, 0)


def visible(listing: Listing, width: int) -> list[int]:
    """Indexes of the columns that fit ``width``, dropping droppable ones (highest ``drop`` first)."""
    keep = list(range(len(listing.columns)))
    widest = _widest(listing)
    droppable = sorted((c.drop, i) for i, c in enumerate(listing.columns) if c.drop)
    while _needed(listing, keep, widest) > width and droppable:
        _, index = droppable.pop()
        keep.remove(index)
    return keep


def dropped_for(listing: Listing, width: int) -> list[str]:
    keep = set(visible(listing, width))
    return [c.header for i, c in enumerate(listing.columns) if i not in keep]


def table_of(listing: Listing, width: int) -> Table:
    from rich import box
    from rich.table import Table

    keep = visible(listing, width)
    table = Table(
        title=listing.title,
        title_justify="left",
        title_style="bold",
        show_header=listing.show_header,
        box=box.SIMPLE_HEAD,
        pad_edge=False,
        show_edge=False,
        padding=(0, 1),
        collapse_padding=True,
    )
    widest = _widest(listing)
    roomy = _needed(listing, keep, widest) <= width  # then text folds no narrower than FOLD_AT
    for i in keep:
        column = listing.columns[i]
        whole = column.kind != "text"
        table.add_column(
            column.header,
            justify="right" if column.kind == "number" else "left",
            no_wrap=whole,
            min_width=widest[i] if whole else min(widest[i], FOLD_AT) if roomy else None,
            overflow="fold",
        )
    styles = list(listing.styles) or [None] * len(listing.rows)
    for row, style in zip(listing.rows, styles):
        table.add_row(*(_text(row[i]) for i in keep), style=style)
    return table


def _text(cell: Cell) -> Text:
    return cell if isinstance(cell, Text) else Text(cell)


def emit(out: Console, listing: Listing) -> None:
    """Print ``listing`` as a table on a terminal, as tab-separated lines elsewhere."""
    emit_all(out, [listing])


def emit_all(out: Console, listings: Sequence[Listing]) -> None:
    """Several listings (a ``show`` command's fields, usage, limits...): tables one under another on a
    terminal; piped, one tab-separated block each (header included), blocks apart by an empty line."""
    if not out.is_terminal:
        out.file.write("\n\n".join("\n".join(tsv_lines(listing)) for listing in listings) + "\n")
        out.file.flush()
        return
    for listing in listings:
        out.print(table_of(listing, out.width))
