"""`olga doctor`: a pass/fail line per check, what to do for each failure, exit 1 when anything failed."""

from __future__ import annotations

import asyncio
import json
import socket
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from olga_cli import __version__
from tests.cli.terminal import olga, olga_async
from tests.fakes.gateway import RunningGateway, configure, mint_key


@pytest.fixture
def free_port(monkeypatch: pytest.MonkeyPatch) -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = int(sock.getsockname()[1])
    monkeypatch.setenv("OLGA_PORT", str(port))
    return port


def _checks(*args: str) -> tuple[int, dict[str, dict[str, Any]]]:
    result = olga("doctor", "--json", *args)
    data = json.loads(result.stdout)
    assert data["ok"] == (result.exit_code == 0)
    return result.exit_code, {c["name"]: c for c in data["checks"]}


def test_a_fresh_home_is_healthy(home: Path, free_port: int) -> None:
    code, checks = _checks()
    assert code == 0
    assert checks["store"]["status"] == "pass" and "created on first use" in checks["store"]["detail"]
    assert checks["port"]["status"] == "pass" and str(free_port) in checks["port"]["detail"]
    assert checks["provider mock"]["status"] == "pass"
    assert (
        checks["provider openai"]["status"] == "warn" and "OPENAI_API_KEY" in checks["provider openai"]["fix"]
    )
    assert not home.exists()  # the doctor only looks


def test_store_integrity_schema_and_modes(home: Path, free_port: int) -> None:
    asyncio.run(mint_key(home, name="laptop"))
    code, checks = _checks()
    assert code == 0
    assert checks["store integrity"]["status"] == "pass" and checks["schema"]["status"] == "pass"
    assert checks["mode olga.db"]["status"] == "pass"
    (home / "olga.db").chmod(0o644)
    code, checks = _checks()
    assert code == 1 and checks["mode olga.db"]["status"] == "fail"
    assert checks["mode olga.db"]["fix"] == f"chmod 600 {home / 'olga.db'}"
    (home / "olga.db").chmod(0o600)
    with sqlite3.connect(home / "olga.db") as db:
        db.execute("INSERT INTO migrations (name, applied_at) VALUES ('999_future', 0)")
    code, checks = _checks()
    assert code == 1 and "newer olga" in checks["schema"]["detail"]


def test_a_file_that_is_not_a_database_fails_integrity(home: Path, free_port: int) -> None:
    home.mkdir(mode=0o700)
    (home / "olga.db").write_bytes(b"this is not sqlite" * 100)
    (home / "olga.db").chmod(0o600)
    code, checks = _checks()
    assert code == 1 and checks["store integrity"]["status"] == "fail"
    assert "move" in checks["store integrity"]["fix"]


def test_config_that_does_not_parse(home: Path, free_port: int) -> None:
    home.mkdir(mode=0o700)
    (home / "config.toml").write_text("[server\nport = ")
    (home / "config.toml").chmod(0o600)
    code, checks = _checks()
    assert (
        code == 1 and checks["config"]["status"] == "fail" and "not valid TOML" in checks["config"]["detail"]
    )


def test_configured_provider_without_key_and_unpriced_route_fail(home: Path, free_port: int) -> None:
    configure(
        home,
        providers={
            "together": {
                "kind": "openai-compatible",
                "base_url": "https://api.together.xyz/v1",
                "api_key_env": "TOGETHER_API_KEY",
            }
        },
        routes=[
            {"id": "1", "model": "llama-9000", "provider": "together"},
            {"id": "2", "model": "cheap", "provider": "openai", "to_model": "gpt-4o-mini"},
        ],
    )
    code, checks = _checks()
    assert code == 1
    assert (
        checks["provider together"]["status"] == "fail"
        and "TOGETHER_API_KEY" in checks["provider together"]["fix"]
    )
    assert checks["route 1"]["status"] == "fail" and "llama-9000" in checks["route 1"]["detail"]
    assert checks["route 2"]["status"] == "pass" and "openai/gpt-4o-mini" in checks["route 2"]["detail"]


def test_a_foreign_program_on_the_port_fails(home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        monkeypatch.setenv("OLGA_PORT", str(listener.getsockname()[1]))
        _, checks = _checks()
    assert checks["port"]["status"] == "fail" and "another program" in checks["port"]["detail"]


async def test_a_running_olga_is_reported_healthy_and_output_is_readable(
    gateway: RunningGateway, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OLGA_PORT", gateway.url.rsplit(":", 1)[1])
    result = await olga_async("doctor")
    assert result.exit_code == 0, result.output
    assert f"olga {__version__} is running and healthy on {gateway.url}" in result.stdout
    assert "✓" in result.stdout and "all good" in result.stdout
    assert "Example" in olga("doctor", "--help").stdout
