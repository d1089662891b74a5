"""What a command imports on its way to start: the modules, not the clock (timings are
bench/cli_start.py's, on a quiet machine). Pydantic, which Typer would import to convert every
parameter, and the server stay out of `olga keys list`; mistakes in values still read as one line."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from olga_cli.cli.coercion import PlainRuntimeParam, convert, plain_type
from tests.cli.terminal import olga


def _imported(home: Path, *args: str) -> set[str]:
    run = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "olga_cli", *args],
        env={**os.environ, "OLGA_HOME": str(home)},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert run.returncode == 0, run.stderr[-2000:]
    lines = [line for line in run.stderr.splitlines() if line.startswith("import time:")]
    return {line.rsplit("|", 1)[1].strip() for line in lines[1:]}


def test_keys_list_imports_neither_pydantic_nor_the_server(home: Path) -> None:
    olga("keys", "create", "--name", "laptop", "--credits", "5", "-q")
    modules = _imported(home, "keys", "list")
    heavy = {m for m in modules if m.split(".")[0] in ("pydantic", "aiohttp", "tomli_w", "platformdirs")}
    assert heavy == set()
    assert not {m for m in modules if m.startswith(("olga_cli.server", "olga_cli.cli.completion"))}
    assert len(modules) < 330  # 439 before Typer's conversion was replaced; 342, then about 310
    # Nor what listing keys does not use: the configuration, the records, the guardrails, and (piped)
    # the drawing of tables, Rich's console and its markup (tab-separated lines go to the file as they are).
    unused = ("olga_cli.config", "olga_cli.presets", "olga_cli.records", "olga_cli.store.generations")
    assert not {m for m in modules if m.startswith(("olga_cli.guardrails", *unused))}
    assert not {"rich.table", "rich.console", "rich.markup"} & set(modules)


def test_version_imports_next_to_nothing(home: Path) -> None:
    modules = _imported(home, "--version")
    assert {m for m in modules if m.startswith("olga_cli")} <= {
        "olga_cli",
        "olga_cli.cli",
        "olga_cli.cli.entry",
    }
    assert not {m for m in modules if m.split(".")[0] in ("typer", "rich", "asyncio")}


def test_plain_values_convert_as_typer_did() -> None:
    assert plain_type(str | None) == (str, False) and plain_type(list[str]) == (str, True)
    assert plain_type(int) == (int, False) and plain_type(Path | None) == (Path, False)
    assert plain_type(dict[str, str]) is None and plain_type(int | str) is None
    assert convert("42", int) == 42 and convert("0.5", float) == 0.5 and convert("yes", bool) is True
    assert convert("~/x", Path) == Path("~/x") and convert(7, str) == "7"
    assert issubclass(PlainRuntimeParam, object)


def test_a_value_of_the_wrong_type_is_still_one_usage_line(home: Path) -> None:
    result = olga("keys", "create", "--name", "ci", "--rpm", "lots")
    assert result.exit_code == 2 and result.stdout == ""
    assert result.stderr == (
        "error: invalid value for '--rpm': 'lots' is not a valid integer; see `olga keys create --help`\n"
    )
    created = olga("keys", "create", "--name", "ci", "--rpm", "60", "--zdr", "--json")
    assert created.exit_code == 0, created.output
    assert '"rpm": 60' in created.stdout and '"zdr": true' in created.stdout
    threshold = olga(
        "guardrails",
        "add",
        "--global",
        "--type",
        "pii",
        "--stage",
        "input",
        "--action",
        "log",
        "--threshold",
        "0.25",
        "--json",
    )
    assert threshold.exit_code == 0 and '"threshold": 0.25' in threshold.stdout


def test_a_groups_command_named_is_built_alone_and_the_group_keeps_all(home: Path) -> None:
    """`olga keys list` builds `list` only (Typer reads each command's signature to build it); a word
    that names none of the group's commands builds them all, so the mistake is still explained."""
    import typer.main

    from olga_cli.cli import keys
    from olga_cli.cli.app import build_app, words_named

    def commands(app: Any) -> set[str]:
        return set(typer.main.get_command(app).commands["keys"].commands)  # type: ignore[attr-defined]

    assert words_named(["--home", "/x", "keys", "--json", "list"]) == ("keys", "list")
    assert commands(build_app(*words_named(["keys", "list"]))) == {"list"}
    every = {"create", "list", "show", "update", "disable", "enable", "delete"}
    assert commands(build_app("keys", "lst")) == every and len(keys.app.registered_commands) == 7
    run = subprocess.run(
        [sys.executable, "-m", "olga_cli", "keys", "lst"],
        env={**os.environ, "OLGA_HOME": str(home)},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert run.returncode == 2 and "no such command 'lst'. Did you mean 'list'?" in run.stderr
