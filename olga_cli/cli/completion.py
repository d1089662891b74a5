"""Shell completion for bash, zsh and fish, generated from the CLI itself.

The scripts in ``completions/`` ask ``olga`` for candidates at each <Tab> (``_OLGA_COMPLETE=...``),
so they stay right as commands change; only the small loader scripts are files, regenerated with
``python -m olga_cli.cli.completion`` (a test fails when they are stale).
"""

from __future__ import annotations

import sys
from pathlib import Path

# Typer keeps its completion machinery in private modules and re-exports none of it; these two
# functions are what its own --install-completion uses, pinned by tests/cli/test_completions.py.
from typer._completion_classes import completion_init
from typer._completion_shared import get_completion_script

PROG = "olga"
COMPLETE_VAR = "_OLGA_COMPLETE"
FILES = {"bash": "olga.bash", "zsh": "_olga", "fish": "olga.fish"}


def enable_completion() -> None:
    """Register the shells' completion classes, so `_OLGA_COMPLETE=complete_bash olga` answers."""
    completion_init()


def completion_script(shell: str) -> str:
    return get_completion_script(prog_name=PROG, complete_var=COMPLETE_VAR, shell=shell) + "\n"


def write_completions(directory: Path) -> list[Path]:
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for shell, name in FILES.items():
        path = directory / name
        path.write_text(completion_script(shell))
        written.append(path)
    return written


if __name__ == "__main__":
    target = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).resolve().parents[2] / "completions"
    for path in write_completions(target):
        print(path)
