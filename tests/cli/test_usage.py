"""`olga usage`: totals, breakdowns with bars, --json and --csv, exact money."""

from __future__ import annotations

import asyncio
import csv
import io
import json
import time
from pathlib import Path

from tests.cli.seed import make_record, seed_now
from tests.cli.terminal import olga, olga_tty
from tests.fakes.gateway import mint_key


def _seed(home: Path) -> tuple[str, str]:
    laptop, _ = asyncio.run(mint_key(home, name="laptop"))
    ci, _ = asyncio.run(mint_key(home, name="ci-bot"))
    now = time.time()
    seed_now(
        home,
        [
            make_record(
                created_at=now - 60,
                key_id=laptop.id,
                cost_pico=1_950_000,
                tokens_prompt=100,
                tokens_completion=50,
            ),
            make_record(
                created_at=now - 120,
                key_id=laptop.id,
                cost_pico=50_000,
                tokens_prompt=10,
                tokens_completion=5,
            ),
            make_record(
                created_at=now - 180,
                key_id=ci.id,
                cost_pico=3,
                model="mock/echo",
                provider="mock",
                app="ci",
                status=500,
                error="upstream_error",
            ),
            make_record(
                created_at=now - 86400 * 3, key_id=ci.id, cost_pico=10**12, model="mock/echo", provider="mock"
            ),
        ],
    )
    return laptop.id, ci.id


def test_json_totals_and_rows_are_exact_and_windowed(home: Path) -> None:
    laptop_id, ci_id = _seed(home)
    result = olga("usage", "--since", "24h", "--by", "key", "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["by"] == "key" and data["since"] and data["until"]
    assert data["totals"]["requests"] == 3 and data["totals"]["errors"] == 1
    assert data["totals"]["cost"] == "0.000002000003"
    rows = {row["key"]: row for row in data["rows"]}
    assert rows[laptop_id]["name"] == "laptop" and rows[laptop_id]["cost"] == "0.000002"
    assert rows[laptop_id]["tokens_prompt"] == 110 and rows[laptop_id]["tokens_completion"] == 55
    assert rows[ci_id]["errors"] == 1
    week = json.loads(olga("usage", "--since", "7d", "--json").stdout)
    assert week["by"] == "model" and week["totals"]["cost"] == "1.000002000003"
    assert week["rows"][0]["model"] == "mock/echo"  # dearest first


def test_table_has_bars_and_formatted_totals(home: Path) -> None:
    _seed(home)
    result, out = olga_tty("usage", "--since", "7d", "--by", "provider", width=160)
    assert result.exit_code == 0, result.output
    assert "4 requests" in out and "(1 errors)" in out and "$1.000002" in out
    header = next(
        line for line in out.splitlines() if "requests" in line and "cost" in line and "provider" in line
    )
    assert "tokens in/out" in header and "avg latency" in header
    mock_line = next(line for line in out.splitlines() if line.lstrip().startswith("mock"))
    openai_line = next(line for line in out.splitlines() if line.lstrip().startswith("openai"))
    # The dearest group has the full cost bar; the cheaper one a sliver at most.
    assert mock_line.count("█") > openai_line.count("█")


def test_at_80_columns_bars_go_first_and_piped_rows_are_tab_separated(home: Path) -> None:
    laptop_id, _ = _seed(home)
    _, screen = olga_tty("usage", "--since", "7d", "--by", "key", width=80)
    lines = screen.splitlines()
    assert all(len(line) <= 80 for line in lines)
    assert any(f"laptop  {laptop_id}" in line and "$0.000002" in line for line in lines)  # id whole
    piped = olga("usage", "--since", "7d", "--by", "key").stdout.splitlines()
    assert piped[0].split("\t") == ["key", "id", "requests", "tokens in/out", "cost", "errors", "avg latency"]
    assert "█" not in "".join(piped) and len(piped) == 3
    assert f"laptop\t{laptop_id}\t2\t110/55\t$0.000002\t-\t412 ms" in piped


def test_by_day_and_app_and_team(home: Path) -> None:
    _seed(home)
    days = json.loads(olga("usage", "--since", "7d", "--by", "day", "--json").stdout)["rows"]
    assert len(days) in (2, 3) and days == sorted(days, key=lambda r: r["day"])
    apps = {
        r["app"]: r["requests"] for r in json.loads(olga("usage", "--by", "app", "--json").stdout)["rows"]
    }
    assert apps == {None: 2, "ci": 1}
    teams = json.loads(olga("usage", "--by", "team", "--json").stdout)["rows"]
    assert teams[0]["team"] is None and teams[0]["requests"] == 3


def test_csv_for_spreadsheets(home: Path) -> None:
    _seed(home)
    result = olga("usage", "--since", "30d", "--by", "key", "--csv")
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    assert set(rows[0]) == {
        "key",
        "name",
        "requests",
        "errors",
        "tokens_prompt",
        "tokens_completion",
        "tokens_cached",
        "cost",
        "cache_saved",
        "avg_latency_ms",
    }
    assert sorted(r["name"] for r in rows) == ["ci-bot", "laptop"]
    assert sum(int(r["requests"]) for r in rows) == 4


def test_empty_window_bad_flags_and_help(home: Path) -> None:
    result, screen = olga_tty("usage")
    assert result.exit_code == 0 and "no requests in this window" in screen
    assert olga("usage", "--by", "colour").exit_code == 1
    assert olga("usage", "--since", "soon").exit_code == 1
    assert "Example" in olga("usage", "--help").stdout
