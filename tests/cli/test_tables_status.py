"""Lists that fit the terminal and never cut money or ids, tab-separated when piped; provider status
from a real request, not from the configuration alone."""

from __future__ import annotations

import json
import socket
from pathlib import Path

import pytest

from tests.cli.helpers import olga, olga_json
from tests.cli.terminal import olga_async, olga_tty
from tests.fakes.openai_upstream import FakeOpenAI


def _dead_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.mark.parametrize("width", [80, 160])
def test_keys_list_fits_and_keeps_balances_and_ids_whole(home: Path, width: int) -> None:
    olga("keys", "create", "--name", "a-rather-long-key-name-for-work", "--credits", "1006.93", "--rpm", "60")
    olga("keys", "create", "--name", "laptop", "--credits", "5")
    result, screen = olga_tty("keys", "list", width=width)
    assert result.exit_code == 0
    lines = screen.splitlines()
    assert all(len(line.rstrip()) <= width for line in lines)
    assert sum("$1006.93" in line for line in lines) == 1
    ids = [olga_json("keys", "show", name)["id"] for name in ("laptop", "a-rather-long-key-name-for-work")]
    assert all(any(key_id in line for line in lines) for key_id in ids)
    header = next(line for line in lines if line.startswith("name"))
    assert ("prefix" in header) == (width == 160)  # the least useful column goes first


def test_piped_lists_are_tab_separated_full_width(home: Path) -> None:
    olga("keys", "create", "--name", "laptop", "--credits", "1006.93")
    keys = olga("keys", "list").stdout.splitlines()
    assert keys[0].split("\t")[:5] == ["name", "id", "status", "balance", "spent"]
    assert keys[1].split("\t")[3] == "$1006.93"
    providers = olga("providers", "list").stdout.splitlines()
    assert providers[0].split("\t") == ["name", "status", "reachable", "base url", "keys", "kind"]
    assert any("https://api.openai.com/v1\t" in line for line in providers)  # never cut at 80 columns


async def test_providers_list_and_doctor_try_each_provider(home: Path, fake_openai: FakeOpenAI) -> None:
    dead = f"http://127.0.0.1:{_dead_port()}/v1"
    for name, url in (("alive", f"{fake_openai.url}/v1"), ("dead", dead)):
        added = await olga_async("providers", "add", name, "--kind", "openai-compatible", "--base-url", url)
        assert added.exit_code == 0, added.output
    rows = {row["name"]: row for row in json.loads((await olga_async("providers", "list", "--json")).stdout)}
    assert rows["alive"]["reachability"] == "reachable"
    assert rows["dead"]["reachability"] == "unreachable"
    assert rows["openai"]["reachability"] == "no key" and rows["mock"]["reachability"] == "built in"
    checks = json.loads((await olga_async("doctor", "--json")).stdout)["checks"]
    by_name = {check["name"]: check for check in checks}
    assert (
        by_name["provider dead"]["status"] == "fail" and "unreachable" in by_name["provider dead"]["detail"]
    )
    assert (
        by_name["provider alive"]["status"] == "pass" and "reachable" in by_name["provider alive"]["detail"]
    )


def test_doctor_checks_modes_only_of_files_holding_secrets(home: Path) -> None:
    olga("keys", "create", "--name", "laptop")
    (home / "model_catalog.json").write_text('{"models": {}}')
    (home / "model_catalog.json").chmod(0o644)
    result = olga("doctor", "--json")
    names = {check["name"] for check in json.loads(result.stdout)["checks"]}
    assert "mode model_catalog.json" not in names and "mode olga.db" in names


def test_the_builtin_mock_is_not_silently_replaced(home: Path) -> None:
    result = olga("providers", "add", "mock", "--kind", "openai", "--base-url", "http://127.0.0.1:1/v1")
    assert result.exit_code == 1 and "built-in offline provider" in result.stderr
    assert olga_json("providers", "list")[0]["kind"] == "mock"
