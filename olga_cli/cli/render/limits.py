"""Limits, usage per window and alerts, as ``Listing``s: ``olga limits list`` and the report under
``olga keys show`` / ``olga teams show``. Each builder takes the command's JSON rows."""

from __future__ import annotations

from typing import Any

from rich.text import Text

from olga_cli.cli.render.table import Cell, Column, Listing


def short_time(ts: str | None) -> str:
    """``2026-11-23T00:00:00Z`` -> ``2026-11-23 00:00Z`` (windows reset on whole minutes)."""
    return "never" if ts is None else ts[:10] + " " + ts[11:16] + "Z"


def scope_label(scope: str) -> str:
    """``key_each_user`` -> ``each end user of key``; ``user`` -> ``end user``."""
    if scope.endswith("_each_user"):
        return "each end user of " + scope.removesuffix("_each_user")
    return "end user" if scope == "user" else scope


# Narrow terminals lose the alert percentages first, then the reset time; usage and amounts stay.
LIMIT_COLUMNS = (
    Column("id", "whole"),
    Column("for"),
    Column("limit", "whole"),
    Column("usage", "number"),
    Column("threshold", "number"),
    Column("used", "number"),
    Column("resets", "whole", drop=1),
    Column("alerts", "whole", drop=2),
)


def limits_listing(rows: list[dict[str, Any]], *, title: str = "limits") -> Listing:
    cells: list[list[Cell]] = []
    for row in rows:
        money = "$" if row["metric"] == "cost" else ""
        used = f"{row['percent']:g}%"
        cells.append(
            [
                str(row["id"]),
                f"{scope_label(row['scope'])} {row['scope_name']}",
                f"{row['window']} {row['metric']}",
                f"{money}{row['usage']}",
                f"{money}{row['threshold']}",
                Text(used, style="red") if row["reached"] else used,
                short_time(row["resets_at"]),
                "/".join(str(a) for a in row["alerts"]) + "%" if row["alerts"] else "-",
            ]
        )
    return Listing(LIMIT_COLUMNS, cells, title=title)


USAGE_COLUMNS = (
    Column("window", "whole"),
    Column("spend", "number"),
    Column("requests", "number"),
    Column("tokens", "number"),
    Column("resets", "whole", drop=1),
)


def window_usage_listing(usage: dict[str, dict[str, Any]]) -> Listing:
    cells: list[list[Cell]] = [
        [window, f"${row['spend']}", str(row["requests"]), str(row["tokens"]), short_time(row["resets_at"])]
        for window, row in usage.items()
    ]
    return Listing(USAGE_COLUMNS, cells, title="usage")


ALERT_COLUMNS = (
    Column("when", "whole"),
    Column("limit", "whole"),
    Column("for"),
    Column("reached", "number"),
    Column("usage", "number"),
)


def alerts_listing(alerts: list[dict[str, Any]]) -> Listing:
    cells: list[list[Cell]] = []
    for alert in alerts:
        money = alert["metric"] == "cost"
        cells.append(
            [
                short_time(alert["created_at"]),
                f"{alert['limit_id']} ({alert['window']} {alert['metric']})",
                f"{alert['scope']} {alert['scope_name']}",
                f"{alert['percent']}%",
                f"${alert['usage']}" if money else str(alert["usage"]),
            ]
        )
    return Listing(ALERT_COLUMNS, cells, title="alerts")


def report_listings(data: dict[str, Any]) -> list[Listing]:
    """Usage per window, limits and recent alerts of a key or team (`olga keys show`, `teams show`)."""
    listings = [window_usage_listing(data["usage"])]
    if data["limits"]:
        listings.append(limits_listing(data["limits"]))
    if data["alerts"]:
        listings.append(alerts_listing(data["alerts"]))
    return listings
