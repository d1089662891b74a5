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


def test_names_complete_from_the_store_without_loading_the_server(home: Path) -> None:
    from tests.cli.helpers import olga

    for name in ("laptop", "lab"):
        olga("keys", "create", "--name", name, "--credits", "1")
    olga("teams", "create", "research")
    home_env = {"OLGA_HOME": str(home)}
    bash = {"_OLGA_COMPLETE": "complete_bash", **home_env}
    assert _complete(**bash, COMP_WORDS="olga keys show la", COMP_CWORD="3").split() == ["lab", "laptop"]
    assert _complete(**bash, COMP_WORDS="olga credits topup lap", COMP_CWORD="3").split() == ["laptop"]
    assert _complete(**bash, COMP_WORDS="olga teams show r", COMP_CWORD="3").split() == ["research"]
    assert "ollama" in _complete(**bash, COMP_WORDS="olga providers pause o", COMP_CWORD="3").split()
    models = _complete(**bash, COMP_WORDS="olga logs --model openai/gpt-4o-m", COMP_CWORD="3").split()
    assert "openai/gpt-4o-mini" in models
    imported = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "olga_cli"],
        env={**os.environ, **bash, "COMP_WORDS": "olga keys show la", "COMP_CWORD": "3"},
        capture_output=True,
        text=True,
        timeout=60,
    ).stderr
    assert "olga_cli.server" not in imported and "aiohttp" not in imported


def test_version_answers_before_loading_the_cli() -> None:
    result = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "olga_cli", "--version"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.stdout.startswith("olga ") and "typer" not in result.stderr and "rich" not in result.stderr


def test_every_flag_naming_a_key_team_provider_model_guardrail_or_tag_completes_names(home: Path) -> None:
    from tests.cli.helpers import olga

    olga("teams", "create", "research")
    olga("keys", "create", "--name", "laptop", "--credits", "1")
    olga(
        "limits",
        "add",
        "--tag",
        "nightly-eval",
        "--metric",
        "requests",
        "--window",
        "daily",
        "--threshold",
        "9",
    )
    olga(
        "guardrails",
        "add",
        "--global",
        "--type",
        "secrets",
        "--stage",
        "input",
        "--action",
        "block",
        "--name",
        "no-secrets",
    )
    bash = {"_OLGA_COMPLETE": "complete_bash", "OLGA_HOME": str(home)}

    def words(line: str) -> list[str]:
        typed = line.split()
        cword = len(typed) if line.endswith(" ") else len(typed) - 1
        return _complete(**bash, COMP_WORDS=line, COMP_CWORD=str(cword)).split()

    assert words("olga limits add --key la") == ["laptop"]
    assert words("olga guardrails violations --key ") == ["laptop"]
    assert words("olga keys create --team re") == ["research"]
    assert words("olga run --team r") == ["research"]
    assert "mock" in words("olga routes add --provider m")
    assert "openai/gpt-4o-mini" in words("olga routes add --to-model openai/gpt-4o-m")
    assert "mock/echo,openai/gpt-4o-mini" in words("olga keys create --models mock/echo,openai/gpt-4o-m")
    assert words("olga limits add --tag nig") == ["nightly-eval"]
    assert words("olga logs --tag n") == ["nightly-eval"]
    assert words("olga guardrails remove no") == ["no-secrets"]


def test_completion_is_wired_on_every_parameter_that_names_something() -> None:
    """One table decides, by parameter name: a new command's --key or --team completes too."""
    import typer

    from olga_cli.cli.app import app
    from olga_cli.cli.names import COMPLETERS, wire_completion

    root = typer.main.get_command(app)
    wire_completion(root)
    missing, wired = [], set()

    def walk(command: object, path: str) -> None:
        for param in getattr(command, "params", ()):
            if param._custom_shell_complete is not None:
                wired.add(f"{path} {param.name}")
            elif param.name in COMPLETERS:
                missing.append(f"{path} {param.name}")
        for name, sub in getattr(command, "commands", {}).items():
            walk(sub, f"{path} {name}")

    walk(root, "olga")
    assert missing == []
    assert {
        "olga limits add key",
        "olga limits add tag",
        "olga guardrails add team",
        "olga routes add provider",
        "olga models list provider",
        "olga logs model",
        "olga env models",
        "olga guardrails remove ref",
        "olga providers pause name",
    } <= wired
