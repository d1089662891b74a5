"""Every user mistake is one `error:` line naming the fix: exit 1, or 2 for a usage mistake; never a
traceback, never a boxed panel."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.cli.helpers import olga, olga_json


def _one_line(result_stderr: str) -> str:
    lines = result_stderr.splitlines()
    assert len(lines) == 1, result_stderr
    assert lines[0].startswith("error: ") and "Traceback" not in result_stderr and "╭" not in result_stderr
    return lines[0]


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (("credits", "topup", "laptop", "-3"), "a top-up must be a positive amount of USD, not -3"),
        (("credits", "topup", "laptop", "1e3"), "plain amount of USD such as 5 or 0.50, not '1e3'"),
        (("keys", "create", "--name", "x", "--credits", "-3"), "--credits must be a positive amount"),
        (("keys", "create", "--name", "x", "--models", "mock/ech0"), "(did you mean 'mock/echo'?)"),
        (("keys", "create", "--name", "x", "--models", "nowhere/*"), "no provider 'nowhere'"),
        (("keys", "create", "--name", "  "), "a key name cannot be empty"),
        (("keys", "create", "--name", "x", "--rate-multiplier", "-1"), "--rate-multiplier takes a plain"),
        (("teams", "create", ""), "a team name cannot be empty"),
        (("teams", "create", "t", "--models", "gpt-4o-mni"), "did you mean"),
        (("keys", "show", "laptp"), "(did you mean 'laptop'?)"),
        (("serve", "--port", "99999"), "--port must be a port number from 1 to 65535, not 99999"),
        (("keys", "create", "--name", "y", "--expires-in", "soon"), "--expires-in takes a duration"),
    ],
)
def test_each_mistake_is_one_line_and_exit_1(home: Path, args: tuple[str, ...], expected: str) -> None:
    olga_json("keys", "create", "--name", "laptop")
    result = olga(*args)
    assert result.exit_code == 1
    assert expected in _one_line(result.stderr)


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (("keys", "create", "--nme", "x"), "no such option: --nme"),
        (("serve", "--port", "abc"), "invalid value for '--port'"),
        (("frobnicate",), "no such command 'frobnicate'"),
        (("keys", "show"), "missing argument"),
    ],
)
def test_usage_mistakes_are_one_line_and_exit_2(home: Path, args: tuple[str, ...], expected: str) -> None:
    result = olga(*args)
    assert result.exit_code == 2
    line = _one_line(result.stderr)
    assert expected in line and "--help`" in line


def test_bad_config_values_name_where_they_came_from(home: Path) -> None:
    home.mkdir(parents=True)
    (home / "config.toml").write_text('[server]\nport = "abc"\n')
    result = olga("doctor", "--json")
    assert "config.toml [server] port must be a port number from 1 to 65535, not 'abc'" in result.stdout
    result = olga("serve")
    assert result.exit_code == 1
    assert "config.toml [server] port must be a port number" in _one_line(result.stderr)
    (home / "config.toml").write_text("[server]\nmax_body_mb = -1\n")
    assert "max_body_mb must be a positive number" in _one_line(olga("serve").stderr)


def test_olga_port_from_the_environment_is_checked(home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OLGA_PORT", "80000")
    result = olga("serve")
    assert result.exit_code == 1 and "OLGA_PORT must be a port number" in _one_line(result.stderr)


def test_a_corrupt_store_is_one_line_naming_the_fix(home: Path) -> None:
    home.mkdir(parents=True)
    (home / "olga.db").write_bytes(b"this is not sqlite" * 100)
    for args in (("keys", "list"), ("logs",), ("usage",)):
        result = olga(*args)
        assert result.exit_code == 1
        line = _one_line(result.stderr)
        assert "is not a readable SQLite database" in line and "move it aside" in line


def test_an_unusable_home_is_one_line(tmp_path: Path) -> None:
    """Run as a process: the real entry point, with the real streams."""
    result = subprocess.run(
        [sys.executable, "-m", "olga_cli", "--home", "/proc/olga-cannot-be-here", "keys", "list"],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "COLUMNS": "80"},
    )
    assert result.returncode == 1 and result.stdout == ""
    assert "cannot use /proc/olga-cannot-be-here" in _one_line(result.stderr)
