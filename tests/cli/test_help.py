"""Every command's --help carries an example and says what to type in words, not Python types; no colour
codes off a terminal."""

from __future__ import annotations

from typing import Any

import typer

from olga_cli.cli.app import app
from tests.cli.terminal import olga


def _paths(command: Any, path: list[str]) -> list[list[str]]:
    found = [path]
    for name, sub in sorted(getattr(command, "commands", {}).items()):
        found += _paths(sub, path + [name])
    return found


def test_every_command_help_has_an_example() -> None:
    paths = _paths(typer.main.get_command(app), [])
    assert ["logs", "prune"] in paths and ["doctor"] in paths and ["run"] in paths
    for path in paths:
        result = olga(*path, "--help")
        assert result.exit_code == 0, path
        assert "Example" in result.stdout, f"`olga {' '.join(path)} --help` has no example"
        assert "\x1b[" not in result.stdout
        for python_type in ("<str>", "<int>", "<bool>", "<float>", "<list[str]>"):
            assert python_type not in result.stdout, f"`olga {' '.join(path)} --help` shows {python_type}"
