"""Every list olga prints, laid out one way.

On a terminal: a table that fits its width. Money, ids, numbers and times are never cut or wrapped;
when the terminal is too narrow, the columns of least value go first (``Column.drop``: the highest
goes first), then free text folds. Off a terminal (a pipe, a file): tab-separated lines under a header,
every value whole, no colour, whatever the width (gh's convention), so ``cut -f`` and ``awk -F'\\t'``
work on any list. Cells are plain text or ``Text``: never read as markup, so a key named ``[red]``
prints as it is.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from rich import box
from rich.console import Console
from rich.table import Table
from rich.text import Text

Kind = Literal["text", "whole", "number"]
Cell = str | Text
PADDING = 2  # between columns


@dataclass(frozen=True, slots=True)
class Column:
    header: str
    kind: Kind = "text"  # "whole": ids, money, times, names to copy (never cut); "number": right-aligned
    drop: int = 0  # 0: always shown; otherwise dropped in decreasing order when the width runs short


@dataclass(frozen=True, slots=True)
class Listing:
    columns: Sequence[Column]
    rows: Sequence[Sequence[Cell]]
    styles: Sequence[str | None] = ()  # one per row, or none
    title: str | None = None


def plain(cell: Cell) -> str:
    return cell.plain if isinstance(cell, Text) else cell


def tsv_lines(listing: Listing) -> list[str]:
    """The header, then one line per row; tabs and newlines inside values become spaces."""

    def clean(text: str) -> str:
        return text.replace("\t", " ").replace("\n", " ")

    lines = ["\t".join(clean(c.header) for c in listing.columns)]
    lines += ["\t".join(clean(plain(cell)) for cell in row) for row in listing.rows]
    return lines


def visible(listing: Listing, width: int) -> list[int]:
    """Indexes of the columns that fit ``width``, dropping droppable ones (highest ``drop`` first)."""
    keep = list(range(len(listing.columns)))

    def needed(indexes: list[int]) -> int:
        total = 0
        for i in indexes:
            column = listing.columns[i]
            cells = [len(plain(row[i])) for row in listing.rows]
            widest = max([len(column.header), *cells])
            # Free text may fold down to ten cells; everything else needs its whole width.
            total += min(widest, 10) if column.kind == "text" else widest
        return total + PADDING * max(len(indexes) - 1, 0)

    droppable = sorted((c.drop, i) for i, c in enumerate(listing.columns) if c.drop)
    while needed(keep) > width and droppable:
        _, index = droppable.pop()
        keep.remove(index)
    return keep


def dropped_for(listing: Listing, width: int) -> list[str]:
    keep = set(visible(listing, width))
    return [c.header for i, c in enumerate(listing.columns) if i not in keep]


def table_of(listing: Listing, width: int) -> Table:
    keep = visible(listing, width)
    table = Table(
        title=listing.title,
        title_justify="left",
        box=box.SIMPLE_HEAD,
        pad_edge=False,
        show_edge=False,
        padding=(0, 1),
        collapse_padding=True,
    )
    for i in keep:
        column = listing.columns[i]
        whole = column.kind != "text"
        widest = max([len(column.header), *(len(plain(row[i])) for row in listing.rows)])
        table.add_column(
            column.header,
            justify="right" if column.kind == "number" else "left",
            no_wrap=whole,
            min_width=widest if whole else None,
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
    if not out.is_terminal:
        out.file.write("\n".join(tsv_lines(listing)) + "\n")
        return
    out.print(table_of(listing, out.width))
