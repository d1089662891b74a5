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
    Column("name"),  # a long name folds: the balance beside it must not be cut
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
    Column("name"),
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


# Narrow terminals lose the threshold first, then the entities; the id, scope and action stay.
GUARDRAIL_COLUMNS = (
    Column("id", "whole"),
    Column("name"),
    Column("for"),
    Column("type", "whole"),
    Column("stage", "whole"),
    Column("action", "whole"),
    Column("entities", drop=1),
    Column("threshold", "number", drop=2),
)


def guardrails_listing(rows: list[dict[str, Any]]) -> Listing:
    cells: list[list[Cell]] = []
    for row in rows:
        scope = "global" if row["scope"] == "global" else f"{row['scope']} {row['scope_name']}"
        action = row["action"]
        cells.append(
            [
                str(row["id"]),
                row["name"],
                scope,
                row["type"],
                row["stage"],
                Text(action, style="magenta") if action == "block" else action,
                ",".join(row["entities"]) or "all",
                f"{row['threshold']:g}",
            ]
        )
    return Listing(GUARDRAIL_COLUMNS, cells, title="guardrails")


CREDIT_COLUMNS = (Column("when", "whole"), Column("amount", "number"), Column("note"))


def credit_history_listing(data: dict[str, Any]) -> Listing:
    """Each top-up, then one line for what the key has spent, so the amounts add up to the balance."""
    cells: list[list[Cell]] = [
        [entry["created_at"].replace("T", " ").replace("Z", ""), f"+${entry['amount']}", entry["note"] or ""]
        for entry in data["topups"]
    ]
    cells.append(["spent", f"-${data['spent']}", f"{data['charged_requests']} charged requests"])
    return Listing(CREDIT_COLUMNS, cells, title=f"credits of '{data['key_name']}'")


PRESET_COLUMNS = (
    Column("preset", "whole"),
    Column("api", "whole"),
    Column("base url", "whole"),
    Column("key variable", "whole", drop=1),
    Column("auth", "whole", drop=2),
)


def presets_listing(rows: list[dict[str, Any]]) -> Listing:
    cells: list[list[Cell]] = [
        [
            p["name"],
            p["kind"],
            p["base_url"] or f"(yours) {p['example_url']}",
            p["api_key_env"] or "none: local",
            p["auth"],
        ]
        for p in rows
    ]
    return Listing(PRESET_COLUMNS, cells, title="provider presets")
