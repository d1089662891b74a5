"""`olga logs`: the table, its filters, --json lines, colours, and `olga logs prune`."""

from __future__ import annotations

import asyncio
import json
import sqlite3
import time
from pathlib import Path

import pytest

from tests.cli.seed import make_record, seed_now
from tests.cli.terminal import json_array, olga, olga_tty
from tests.fakes.gateway import mint_key

RED, MAGENTA = "\x1b[31m", "\x1b[35m"


def _seed_mix(home: Path) -> str:
    row, _ = asyncio.run(mint_key(home, name="laptop"))
    now = time.time()
    seed_now(
        home,
        [
            make_record(
                created_at=now - 50,
                key_id=row.id,
                key_name="laptop",
                status=200,
                app="notes-app",
                ttft_ms=180.0,
                streamed=True,
            ),
            make_record(
                created_at=now - 40,
                key_id="key_other",
                key_name="ci-bot",
                status=502,
                error="upstream_error",
                cost_pico=0,
                tokens_prompt=0,
                tokens_completion=0,
            ),
            make_record(
                created_at=now - 30,
                key_id=row.id,
                key_name="laptop",
                status=422,
                error="guardrail_blocked",
                cost_pico=0,
                model="mock/echo",
                model_requested="mock/echo",
                provider="mock",
                guardrails=[{"guardrail": "g1", "stage": "input", "entity": "email", "action": "block"}],
            ),
            make_record(
                created_at=now - 20,
                key_id=row.id,
                key_name="laptop",
                status=200,
                tokens_prompt=1234,
                tokens_completion=5678,
                cost_pico=2_500_000_000_000,
                latency_ms=2345.0,
            ),
        ],
    )
    return row.id


def test_piped_logs_are_tab_separated_with_every_column_whole(home: Path) -> None:
    _seed_mix(home)
    result = olga("logs", "--limit", "3")
    assert result.exit_code == 0, result.output
    header, *body = result.stdout.splitlines()
    columns = header.split("\t")
    assert columns == [
        "time", "key", "model", "status", "tokens", "cost", "latency", "error", "ttft", "app", "provider"
    ]  # fmt: skip
    assert len(body) == 3  # --limit 3: the oldest record is left out
    rows = [dict(zip(columns, line.split("\t"))) for line in body]
    assert rows[0]["key"] == "ci-bot" and rows[0]["status"] == "502"
    assert rows[1]["status"] == "422 ⚑"
    assert rows[2]["tokens"] == "1,234→5,678" and rows[2]["cost"] == "$2.500000"
    assert rows[2]["latency"] == "2.35 s"
    assert "notes-app" not in result.stdout


@pytest.mark.parametrize("width", [80, 160])
def test_terminal_table_fits_and_never_cuts_money_ids_or_models(home: Path, width: int) -> None:
    _seed_mix(home)
    result, screen = olga_tty("logs", "-w", width=width)
    assert result.exit_code == 0
    lines = screen.splitlines()
    assert all(len(line.rstrip()) <= width for line in lines)
    for whole in ("$2.500000", "openai/gpt-4o-mini", "test0000"):
        assert any(whole in line for line in lines), whole
    # On a terminal the short id (what `olga generation` takes back), whole, never folded.
    ids = [word for line in lines for word in line.split() if word.startswith("test0000")]
    assert ids and all(len(i) == len("test00000000") for i in ids)
    header = next(line for line in lines if line.startswith("time"))
    if width == 160:
        assert "provider" in header and "error" in header and "ttft" in header
        assert "upstream_error" in screen
    else:
        assert "provider" not in header and "ttft" not in header  # the least useful go first


def test_filters_by_key_status_model_and_since(home: Path) -> None:
    _seed_mix(home)
    by_key = json_array(olga("logs", "--key", "laptop", "--json").stdout)
    assert [r["status"] for r in by_key] == [200, 422, 200]
    assert {r["status"] for r in json_array(olga("logs", "--status", "5xx", "--json").stdout)} == {502}
    assert [r["status"] for r in json_array(olga("logs", "--status", "error", "--json").stdout)] == [502, 422]
    # A bare catalog alias matches records of the model it resolves to.
    assert len(json_array(olga("logs", "--model", "openai/gpt-4o-mini", "--json").stdout)) == 3
    assert [r["model"] for r in json_array(olga("logs", "--model", "mock/echo", "--json").stdout)] == [
        "mock/echo"
    ]
    assert len(json_array(olga("logs", "--since", "35s", "--json").stdout)) == 2


def test_json_carries_the_generation_record_shape(home: Path) -> None:
    _seed_mix(home)
    records = json_array(olga("logs", "--json", "--limit", "1").stdout)
    assert len(records) == 1
    record = records[0]
    for field in (
        "id",
        "created_at",
        "key_id",
        "key_name",
        "app",
        "model",
        "provider",
        "status",
        "tokens_prompt",
        "tokens_completion",
        "cost",
        "latency_ms",
        "ttft_ms",
        "attempts",
        "guardrails",
    ):
        assert field in record
    assert record["cost"] == "2.5" and record["tokens_completion"] == 5678
    assert "request_body" not in record


def test_errors_and_guardrail_blocks_in_colour_only_on_a_terminal_without_no_color(home: Path) -> None:
    _seed_mix(home)
    plain = olga("logs").stdout
    assert "\x1b[" not in plain  # not a terminal: no escape codes at all
    coloured = olga("logs", env={"FORCE_COLOR": "1"}).stdout
    error_line = next(line for line in coloured.splitlines() if "502" in line)
    blocked_line = next(line for line in coloured.splitlines() if "422" in line)
    assert RED in error_line and MAGENTA in blocked_line
    muted = olga("logs", env={"FORCE_COLOR": "1", "NO_COLOR": "1"}).stdout
    assert RED not in muted and MAGENTA not in muted and "422 ⚑" in muted


def test_wide_adds_ids_and_errors(home: Path) -> None:
    _seed_mix(home)
    out = olga("logs", "--wide").stdout
    assert "gen-test" in out and "upstream_error" in out


def test_empty_store_and_bad_flags(home: Path) -> None:
    result = olga("logs")
    assert result.exit_code == 0 and "No requests recorded yet" in result.stdout
    bad = olga("logs", "--status", "teapot")
    assert bad.exit_code == 1 and "--status takes a code" in bad.stderr and "Traceback" not in bad.output
    assert olga("logs", "--key", "nobody").exit_code == 1
    assert olga("logs", "--since", "yesterday").exit_code == 1


def test_help_has_an_example() -> None:
    for args in (("logs", "--help"), ("logs", "prune", "--help")):
        result = olga(*args)
        assert result.exit_code == 0 and "Example" in result.stdout


def test_prune_removes_old_records_or_bodies_and_leaves_the_ledger(home: Path) -> None:
    now = time.time()
    seed_now(
        home,
        [make_record(created_at=now - 86400 * 45, request_body="{}", response_body="old") for _ in range(3)]
        + [make_record(created_at=now - 60, request_body="{}", response_body="new")],
    )
    dry = olga("logs", "prune", "--older-than", "30d", "--dry-run", "--json")
    assert dry.exit_code == 0 and json.loads(dry.stdout) == {
        "pruned": 0,
        "would_prune": 3,
        "bodies_only": False,
        "before": json.loads(dry.stdout)["before"],
    }
    bodies = olga("logs", "prune", "--older-than", "30d", "--bodies-only")
    assert bodies.exit_code == 0 and "Removed 3" in bodies.stdout
    records = json_array(olga("logs", "--json").stdout)
    assert len(records) == 4
    gone = olga("logs", "prune", "--older-than", "30d")
    assert "Removed 3 records" in gone.stdout
    assert len(json_array(olga("logs", "--json").stdout)) == 1
    with sqlite3.connect(home / "olga.db") as db:
        assert db.execute("SELECT COUNT(*), SUM(amount_pico) FROM ledger").fetchone() == (4, 24_000_000)
        assert [row[0] for row in db.execute("SELECT response_body FROM generations")] == ["new"]


def _record_alert(home: Path, *, scope_id: str, percent: int, created_at: float) -> None:
    with sqlite3.connect(home / "olga.db") as db:
        db.execute(
            "INSERT INTO limit_alerts (limit_id, scope, scope_id, metric, time_window, period_day, percent, threshold,"
            " usage, generation_id, created_at) VALUES (1, 'key', ?, 'cost', 'daily', ?, ?, ?, ?, NULL, ?)",
            (scope_id, int(created_at // 86400), percent, 10_000_000_000, percent * 100_000_000, created_at),
        )


def test_usage_limit_alerts_show_after_the_table(home: Path) -> None:
    key_id = _seed_mix(home)
    _record_alert(home, scope_id=key_id, percent=80, created_at=time.time() - 25)
    result = olga("logs")
    assert result.exit_code == 0, result.output
    line = next(line for line in result.stdout.splitlines() if "alert:" in line)
    assert "key 'laptop' reached 80% of its daily cost limit ($0.008 of $0.01)" in line
    # JSON lines stay one record per line, with no alert mixed in.
    assert all("tokens_prompt" in r for r in json_array(olga("logs", "--json").stdout))
