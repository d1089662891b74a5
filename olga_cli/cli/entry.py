"""The ``olga`` program: ``--version`` answered before anything else is imported (Typer and Rich alone
take longer than the 100 ms it may); everything else goes to ``cli.app``, which loads only the command
that was named."""

from __future__ import annotations

import sys


def main() -> None:
    if sys.argv[1:] in (["--version"], ["-V"]):
        from olga_cli import __version__

        sys.stdout.write(f"olga {__version__}\n")
        return
    from olga_cli.cli.app import main as run_command

    run_command()
