"""Shell completions: the files in completions/ are what the CLI generates now, and olga answers them."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from olga_cli.cli.completion import FILES, completion_script

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("shell", sorted(FILES))
def test_completion_scripts_are_current(shell: str) -> None:
    path = REPO / "completions" / FILES[shell]
    assert path.read_text() == completion_script(shell), (
        f"{path} is stale: regenerate with `python -m olga_cli.cli.completion`"
    )


def _complete(**variables: str) -> str:
    result = subprocess.run(
        [sys.executable, "-m", "olga_cli"],
        env={**os.environ, **variables},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_bash_completes_commands_and_subcommands() -> None:
    words = _complete(_OLGA_COMPLETE="complete_bash", COMP_WORDS="olga lo", COMP_CWORD="1").split()
    assert "logs" in words
    words = _complete(_OLGA_COMPLETE="complete_bash", COMP_WORDS="olga logs pr", COMP_CWORD="2").split()
    assert words == ["prune"]


def test_zsh_and_fish_complete_options() -> None:
    assert "--follow" in _complete(_OLGA_COMPLETE="complete_zsh", _TYPER_COMPLETE_ARGS="olga logs --fo")
    fish = _complete(
        _OLGA_COMPLETE="complete_fish",
        _TYPER_COMPLETE_ARGS="olga usage --b",
        _TYPER_COMPLETE_FISH_ACTION="get-args",
    )
    assert "--by" in fish
