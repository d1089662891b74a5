"""The lists of ``olga keys``, ``teams``, ``providers`` and ``routes``, as ``Listing``s (see ``table``).

Each builder takes the command's JSON rows (what ``--json`` prints) so the table and the document
never disagree. On a narrow terminal the columns marked ``drop`` go first, highest first.
"""

from __future__ import annotations

import time
from typing import Any

from rich.text import Text

from olga_cli.cli.render.table import Cell, Column, Listing

KEY_COLUMNS = (
    Column("name", "whole"),
    Column("id", "whole"),
    Column("status", "whole"),
    Column("balance", "number"),
    Column("spent", "number"),
    Column("team", drop=2),
    Column("limits", drop=3),
    Column("expires", drop=4),
    Column("prefix", drop=5),
)


def keys_listing(rows: list[dict[str, Any]]) -> Listing:
    cells: list[list[Cell]] = []
    for k in rows:
        rates = [f"{k['rpm']} rpm" if k["rpm"] else "", f"{k['tpm']} tpm" if k["tpm"] else ""]
        status = k["status"]
        cells.append(
            [
                k["name"],
                k["id"],
                status if status == "active" else Text(status, style="red"),
                "uncapped" if k["balance"] is None else f"${k['balance']}",
                f"${k['spent']}",
                k["team"] or "-",
                ", ".join(r for r in rates if r) or "-",
                (k["expires_at"] or "never").replace("T", " ").replace("Z", ""),
                k["prefix"] + "…",
            ]
        )
    return Listing(KEY_COLUMNS, cells, title="olga keys")


TEAM_COLUMNS = (
    Column("name", "whole"),
    Column("id", "whole"),
    Column("spent today", "number"),
    Column("keys"),
    Column("models", drop=2),
    Column("multiplier", "number", drop=3),
    Column("limits", "number", drop=4),
)


def teams_listing(rows: list[dict[str, Any]]) -> Listing:
    cells: list[list[Cell]] = [
        [
            team["name"],
            team["id"],
            f"${team['usage']['daily']['spend']}",
            ", ".join(team["keys"]) or "-",
            ", ".join(team["models"]) if team["models"] is not None else "any",
            team["rate_multiplier"],
            str(len(team["limits"])),
        ]
        for team in rows
    ]
    return Listing(TEAM_COLUMNS, cells, title="olga teams")


PROVIDER_COLUMNS = (
    Column("name", "whole"),
    Column("status", "whole"),
    Column("reachable", "whole"),
    Column("base url", "whole", drop=1),
    Column("keys", drop=3),
    Column("kind", "whole", drop=2),
)
_STATUS_COLOURS = {"ready": "green", "paused": "yellow", "no key": "red"}
_REACH_COLOURS = {"reachable": "green", "unreachable": "red"}


def key_note(key: dict[str, Any]) -> str:
    if key.get("state") == "invalid":
        return f" (invalid: rejected with {key.get('status')})"
    if key.get("state") == "rate_limited":
        return f" (rate-limited for {max(key['until'] - time.time(), 0):.0f}s)"
    return "" if key["usable"] else " (unset)"


def providers_listing(rows: list[dict[str, Any]]) -> Listing:
    cells: list[list[Cell]] = []
    for row in rows:
        reach = row.get("reachability") or "-"
        cells.append(
            [
                row["name"],
                Text(row["status"], style=_STATUS_COLOURS.get(row["status"], "")),
                Text(reach, style=_REACH_COLOURS.get(reach, "dim")),
                row["base_url"],
                ", ".join(k["label"] + key_note(k) for k in row["keys"]) or "-",
                row["kind"],
            ]
        )
    return Listing(PROVIDER_COLUMNS, cells, title="providers")


ROUTE_COLUMNS = (
    Column("id", "whole"),
    Column("format", "whole"),
    Column("model", "whole"),
    Column("provider", "whole"),
    Column("to model", "whole"),
)


def routes_listing(rows: list[dict[str, Any]]) -> Listing:
    cells: list[list[Cell]] = [
        [
            row["id"],
            row["format"] or "any",
            row["model"] or "any",
            row["provider"] + (f" ({row['provider_kind']})" if row["provider_kind"] else " (not connected)"),
            row["to_model"] or "same",
        ]
        for row in rows
    ]
    return Listing(ROUTE_COLUMNS, cells, title="routes (first match wins)")
