"""Every foundation command, human and --json, and its one-line errors."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest

from tests.cli.helpers import olga, olga_json
from tests.cli.terminal import olga_tty


def test_keys_lifecycle_with_json(home: Path) -> None:
    created = olga_json(
        "keys",
        "create",
        "--name",
        "laptop",
        "--user",
        "ada@example.com",
        "--credits",
        "5",
        "--rpm",
        "60",
        "--models",
        "mock/echo,openai/gpt-4o-mini",
        "--rate-multiplier",
        "1.25",
        "--expires-in",
        "30d",
        "--zdr",
    )
    assert created["key"].startswith("sk-olga-") and len(created["key"]) >= len("sk-olga-") + 32
    assert created["name"] == "laptop" and created["balance"] == "5" and created["rpm"] == 60
    assert created["models"] == ["mock/echo", "openai/gpt-4o-mini"] and created["rate_multiplier"] == "1.25"
    assert created["zdr"] is True and created["expires_at"] is not None
    listed = olga_json("keys", "list")
    assert [k["name"] for k in listed] == ["laptop"]
    assert "key" not in listed[0] and created["key"] not in json.dumps(listed)
    shown = olga_json("keys", "show", created["id"])  # ids and names are interchangeable
    assert shown["name"] == "laptop"
    updated = olga_json("keys", "update", "laptop", "--name", "desk", "--rpm", "120", "--credits", "1")
    assert updated["name"] == "desk" and updated["rpm"] == 120 and updated["balance"] == "6"
    assert olga_json("keys", "disable", "desk")["status"] == "disabled"
    assert olga_json("keys", "enable", "desk")["status"] == "active"
    assert olga_json("keys", "delete", "desk", "--yes")["status"] == "deleted"
    assert olga_json("keys", "list") == []


def test_the_full_key_is_stored_only_as_a_hash(home: Path) -> None:
    key = olga_json("keys", "create", "--name", "secret")["key"]
    for path in home.iterdir():
        if path.is_file():
            assert key.encode() not in path.read_bytes(), f"{path.name} holds the plaintext key"
    assert stat.S_IMODE(os.stat(home / "olga.db").st_mode) == 0o600


def test_human_output_shows_the_key_once_and_says_it_is_uncapped(home: Path) -> None:
    result, screen = olga_tty("keys", "create", "--name", "human")
    assert result.exit_code == 0
    assert "sk-olga-" in screen and "cannot show it again" in screen
    assert "metered but not capped" in screen and "olga credits topup human" in screen
    plaintext = next(word for word in screen.split() if word.startswith("sk-olga-"))
    assert plaintext not in olga("keys", "show", "human").stdout
    listing = olga("keys", "list").stdout
    assert "human" in listing and "active" in listing


def test_credits_topup_balance_history(home: Path) -> None:
    olga_json("keys", "create", "--name", "k")
    assert olga_json("credits", "balance", "k") == {
        "key_id": olga_json("keys", "show", "k")["id"],
        "key_name": "k",
        "credits": None,
        "spent": "0",
        "balance": None,
    }
    olga_json("credits", "topup", "k", "2.50", "--note", "first")
    topped = olga_json("credits", "topup", "k", "0.000001")
    assert topped["balance"] == "2.500001"
    balance = olga_json("credits", "balance", "k")
    assert balance["balance"] == "2.500001" and balance["key_id"].startswith("key_")
    history = olga_json("credits", "history", "k")
    assert [t["amount"] for t in history["topups"]] == ["2.5", "0.000001"]
    assert history["topups"][0]["note"] == "first"
    assert "2.500001" in olga("credits", "balance", "k").stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["keys", "show", "nobody"], "no key named or with id 'nobody'"),
        (["keys", "create"], "--name is required"),
        (["keys", "create", "--name", "x", "--credits", "lots"], "--credits"),
        (["keys", "create", "--name", "x", "--expires-in", "soon"], "--expires-in"),
        (["keys", "create", "--name", "x", "--rpm", "0"], "--rpm"),
        (["keys", "create", "--name", "x", "--team", "ghosts"], "olga teams create ghosts"),
        (["credits", "topup", "nobody", "5"], "no key"),
        (["credits", "topup", "k", "0"], "more than 0 USD"),
        (["credits", "topup", "k", "five"], "USD such as"),
        (["providers", "add", "x", "--kind", "wrong", "--base-url", "http://a"], "--kind"),
        (["providers", "add", "x", "--kind", "openai"], "--base-url"),
        (["providers", "pause", "nobody"], "no provider 'nobody'"),
        (["providers", "add-key", "openai"], "exactly one of"),
        (["generation", "gen-missing"], "no generation 'gen-missing'"),
        (["models", "list", "--provider", "nobody"], "no models for provider"),
    ],
)
def test_mistakes_are_one_line_and_exit_1(home: Path, args: list[str], message: str) -> None:
    olga("keys", "create", "--name", "k")
    result = olga(*args)
    assert result.exit_code == 1
    assert message in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert "Traceback" not in result.output


def test_duplicate_key_name_is_refused(home: Path) -> None:
    olga("keys", "create", "--name", "dup")
    result = olga("keys", "create", "--name", "dup")
    assert result.exit_code == 1 and "exists already" in result.stderr


def test_providers_add_key_pause_resume_remove(home: Path) -> None:
    names = [p["name"] for p in olga_json("providers", "list")]
    assert names == ["mock", "openai", "anthropic", "ollama"]
    added = olga_json(
        "providers",
        "add",
        "vllm",
        "--kind",
        "openai-compatible",
        "--base-url",
        "http://127.0.0.1:9/v1",
        "--first-byte-timeout",
        "5",
        "--max-retries",
        "1",
    )
    assert (
        added["kind"] == "openai-compatible"
        and added["first_byte_timeout"] == 5.0
        and added["status"] == "ready"
    )
    with_key = olga_json("providers", "add-key", "vllm", "--api-key", "sk-vllm-secret")
    assert [k["label"] for k in with_key["keys"]] == ["key-1"]
    assert "sk-vllm-secret" not in json.dumps(olga_json("providers", "list"))
    assert stat.S_IMODE(os.stat(home / "config.toml").st_mode) == 0o600
    assert olga_json("providers", "pause", "vllm")["status"] == "paused"
    assert olga_json("providers", "resume", "vllm")["status"] == "ready"
    olga_json("providers", "remove", "vllm")
    olga_json("providers", "remove", "ollama")
    assert [p["name"] for p in olga_json("providers", "list")] == ["mock", "openai", "anthropic"]


def test_provider_without_key_shows_no_key(home: Path) -> None:
    openai_row = next(p for p in olga_json("providers", "list") if p["name"] == "openai")
    assert openai_row["status"] == "no key" and openai_row["keys"] == [
        {"label": "env:OPENAI_API_KEY", "usable": False}
    ]


def test_models_list(home: Path) -> None:
    models = olga_json("models", "list", "--provider", "openai")
    ids = {m["id"] for m in models}
    assert "openai/gpt-4o-mini" in ids and all(m["provider"] == "openai" for m in models)
    mini = next(m for m in models if m["id"] == "openai/gpt-4o-mini")
    assert mini["input_per_mtok"] == "0.15" and mini["context_window"] == 128000
    assert "gpt-4o-mini" in olga("models", "list").stdout


def test_home_flag_overrides_the_environment(tmp_path: Path) -> None:
    other = tmp_path / "elsewhere"
    result = olga("--home", str(other), "keys", "create", "--name", "x", "--json")
    assert result.exit_code == 0
    assert (other / "olga.db").exists()


def test_create_piped_or_quiet_prints_only_the_key(home: Path) -> None:
    piped = olga("keys", "create", "--name", "ci")
    assert piped.exit_code == 0 and piped.stdout.startswith("sk-olga-") and len(piped.stdout.split()) == 1
    quiet, screen = olga_tty("keys", "create", "--name", "ci2", "-q", "--credits", "1")
    assert quiet.exit_code == 0 and screen.strip().startswith("sk-olga-") and len(screen.split()) == 1


def test_delete_asks_unless_yes(home: Path) -> None:
    olga("keys", "create", "--name", "doomed")
    refused, _ = olga_tty("keys", "delete", "doomed", input="n\n")
    assert refused.exit_code == 1 and "nothing deleted; pass --yes" in refused.stderr
    assert olga_json("keys", "show", "doomed")["status"] == "active"
    agreed, _ = olga_tty("keys", "delete", "doomed", input="y\n")
    assert agreed.exit_code == 0 and olga("keys", "show", "doomed").exit_code == 1
