"""Every table olga prints has one layout: it fits 80 and 160 columns, money and ids are never cut,
the columns of least value go first, and piped it is tab-separated lines under a header."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.cli.seed import make_record, seed_now
from tests.cli.terminal import olga, olga_tty

LONG = "a-rather-long-key-name-for-work"
PACKAGE = Path(__file__).resolve().parents[2] / "olga_cli"


def _setup(home: Path) -> str:
    assert olga("teams", "create", "research-and-development").exit_code == 0
    created = olga(
        "keys", "create", "--name", LONG, "--credits", "1006.93", "--team", "research-and-development", "-q"
    )
    assert created.exit_code == 0, created.output
    assert (
        olga(
            "credits", "topup", LONG, "12.345678", "--note", "a long note about the November top-up"
        ).exit_code
        == 0
    )
    assert (
        olga(
            "limits",
            "add",
            "--key",
            LONG,
            "--metric",
            "cost",
            "--window",
            "monthly",
            "--threshold",
            "1234.56",
            "--alert",
            "50,80,100",
        ).exit_code
        == 0
    )
    assert (
        olga(
            "guardrails",
            "add",
            "--key",
            LONG,
            "--type",
            "pii",
            "--stage",
            "both",
            "--action",
            "redact",
            "--entities",
            "email,phone,credit_card",
            "--threshold",
            "0.7",
            "--name",
            "personal-data-everywhere",
        ).exit_code
        == 0
    )
    key_id = olga("keys", "list").stdout.splitlines()[1].split("\t")[1]
    seed_now(home, [make_record(key_id=key_id, key_name=LONG, cost_pico=1_234_567_890_123)])
    return key_id


# (command, what piped output's header line starts with, a value that must appear whole on a terminal)
COMMANDS = [
    (("limits", "list"), ["id", "for", "limit", "usage", "threshold", "used"], "$1234.56"),
    (("guardrails", "list"), ["id", "name", "for", "type", "stage", "action"], "redact"),
    (
        ("models", "list", "--provider", "openai"),
        ["provider", "name", "aliases", "input", "cached"],
        "gpt-4o-mini",
    ),
    (("credits", "history", LONG), ["when", "amount", "note"], "+$1006.93"),
    (("usage", "--by", "key"), ["key", "id", "requests", "tokens in/out", "cost"], "$1.234568"),
    (("keys", "show", LONG), ["field", "value"], "$1019.275678"),
    (("teams", "show", "research-and-development"), ["field", "value"], LONG),
    (
        ("providers", "presets"),
        ["preset", "api", "base url"],
        "https://generativelanguage.googleapis.com/v1beta",
    ),
    (("logs",), ["time", "key", "model", "status"], "$1.234568"),
]


@pytest.mark.parametrize("width", [80, 160])
@pytest.mark.parametrize(("command", "header", "whole"), COMMANDS, ids=[" ".join(c[0]) for c in COMMANDS])
def test_tables_fit_the_terminal_and_keep_money_whole(
    home: Path, width: int, command: tuple[str, ...], header: list[str], whole: str
) -> None:
    key_id = _setup(home)
    result, screen = olga_tty(*command, width=width)
    assert result.exit_code == 0, result.output
    lines = screen.splitlines()
    assert all(len(line.rstrip()) <= width for line in lines), screen
    assert any(whole in line for line in lines), screen
    if command[0] in ("keys", "usage"):
        assert any(key_id in line for line in lines), screen  # ids are never folded either


@pytest.mark.parametrize(("command", "header", "whole"), COMMANDS, ids=[" ".join(c[0]) for c in COMMANDS])
def test_piped_tables_are_tab_separated_under_a_header(
    home: Path, command: tuple[str, ...], header: list[str], whole: str
) -> None:
    _setup(home)
    result = olga(*command)
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0].split("\t")[: len(header)] == header
    assert "│" not in result.stdout and "─" not in result.stdout and "█" not in result.stdout
    assert any(whole in line.split("\t") for line in lines), result.stdout


def test_at_80_columns_the_low_value_columns_go_first(home: Path) -> None:
    _setup(home)
    _, narrow = olga_tty("guardrails", "list", width=80)
    _, wide = olga_tty("guardrails", "list", width=160)
    assert "threshold" in wide and "threshold" not in narrow  # named in `olga guardrails list --help`
    _, narrow = olga_tty("models", "list", "--provider", "openai", width=80)
    _, wide = olga_tty("models", "list", "--provider", "openai", width=160)
    assert "aliases" in wide and "aliases" not in narrow and "output" in narrow
    _, narrow = olga_tty("limits", "list", width=80)
    _, wide = olga_tty("limits", "list", width=160)
    assert "alerts" in wide and "alerts" not in narrow and "$1234.56" in narrow


def test_only_the_table_module_draws_rich_tables() -> None:
    """No command prints a Rich table of its own: they all go through cli/render/table.py."""
    offenders = []
    for path in PACKAGE.rglob("*.py"):
        if path.name == "table.py" and path.parent.name == "render":
            continue
        text = path.read_text()
        if re.search(r"rich\.table|\bTable\(|Table\.grid", text):
            offenders.append(str(path.relative_to(PACKAGE)))
    assert offenders == []


def test_each_list_names_in_its_help_the_columns_a_narrow_terminal_drops() -> None:
    from olga_cli.cli.render.limits import LIMIT_COLUMNS
    from olga_cli.cli.render.lists import (
        GUARDRAIL_COLUMNS,
        KEY_COLUMNS,
        PRESET_COLUMNS,
        PROVIDER_COLUMNS,
        TEAM_COLUMNS,
    )
    from olga_cli.cli.render.records import LOG_COLUMNS

    for command, columns in (
        (("keys", "list"), KEY_COLUMNS),
        (("teams", "list"), TEAM_COLUMNS),
        (("providers", "list"), PROVIDER_COLUMNS),
        (("providers", "presets"), PRESET_COLUMNS),
        (("limits", "list"), LIMIT_COLUMNS),
        (("guardrails", "list"), GUARDRAIL_COLUMNS),
        (("logs",), LOG_COLUMNS),
    ):
        shown = " ".join(olga(*command, "--help", env={"COLUMNS": "200"}).stdout.split())
        for column in columns:
            if column.drop:
                assert column.header in shown, (command, column.header)


def test_logs_wide_at_80_columns_keeps_key_names_readable_with_short_ids(home: Path) -> None:
    seed_now(home, [make_record(id="gen-019af2b3c4d5e6f7aa001122", key_name="laptop")])
    _, screen = olga_tty("logs", "-w", width=80)
    row = next(line for line in screen.splitlines() if "019af2b3c4d5e6f7" in line)
    assert "laptop" in row and "gen-019af2b3c4d5e6f7aa001122" not in screen  # the short id, whole
    assert olga("generation", "019af2b3c4d5e6f7").exit_code == 0
    piped = olga("logs", "-w").stdout.splitlines()
    assert piped[1].split("\t")[-1] == "gen-019af2b3c4d5e6f7aa001122"  # piped: the whole id
