"""`olga serve`: the banner, the access log (text and JSON lines), --quiet, against a real process."""

from __future__ import annotations

import asyncio
import io
import json
import os
import signal
import socket
import sys
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from rich.console import Console

from olga_cli import __version__
from olga_cli.cli import serve as serve_module
from olga_cli.config import load_config
from tests.cli.seed import make_record
from tests.cli.terminal import olga
from tests.fakes.gateway import mint_key


def test_banner_names_address_home_providers_sdk_urls_and_a_curl_line(home: Path) -> None:
    config = load_config(home, port=8123)
    capture = Console(file=io.StringIO(), width=250, record=True)
    capture.print(serve_module.banner(config, {"ANTHROPIC_API_KEY": "sk-ant-x"}))
    text = capture.export_text()
    assert (
        f"olga {__version__}" in text and "listening on http://127.0.0.1:8123" in text and str(home) in text
    )
    assert "✓ mock" in text and "✓ anthropic" in text
    assert "✗ openai (no key: set OPENAI_API_KEY)" in text
    assert (
        'OpenAI(base_url="http://127.0.0.1:8123/v1"' in text
        and 'Anthropic(base_url="http://127.0.0.1:8123"' in text
    )
    curl = serve_module.curl_line("http://127.0.0.1:8123")
    assert curl.startswith("curl http://127.0.0.1:8123/v1/chat/completions ") and "\n" not in curl


def test_access_log_lines_as_text_and_json() -> None:
    record = make_record(
        key_name="laptop",
        status=502,
        error="upstream_error",
        endpoint="/v1/messages",
        tokens_prompt=3,
        tokens_completion=0,
        cost_pico=0,
        latency_ms=1500.0,
    )
    text, lines = io.StringIO(), io.StringIO()
    serve_module.access_logger("text", text)(record)
    serve_module.access_logger("json", lines)(record)
    line = text.getvalue()
    for part in (
        "POST",
        "/v1/messages",
        "laptop",
        "openai/gpt-4o-mini",
        "502",
        "3→0 tok",
        "$0.000000",
        "1.50 s",
        "upstream_error",
    ):
        assert part in line
    assert line.count("\n") == 1
    data = json.loads(lines.getvalue())
    assert data == {
        **data,
        "method": "POST",
        "route": "/v1/messages",
        "key": "laptop",
        "status": 502,
        "cost": "0",
        "tokens_prompt": 3,
        "latency_ms": 1500.0,
        "generation_id": record.id,
    }


def test_quiet_and_log_format_choose_the_observers(home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    seen: dict[str, Any] = {}

    def fake_create_app(config: Any, *, observers: Any = ()) -> str:
        seen["observers"] = list(observers)
        return "app"

    def fake_run_app(app: Any, **kwargs: Any) -> None:
        seen["kwargs"] = kwargs
        kwargs["print"]("======== Running on ... ========")

    monkeypatch.setattr(serve_module, "create_app", fake_create_app)
    monkeypatch.setattr(serve_module, "run_app", fake_run_app)
    result = olga("serve", "--quiet", "--port", "8124")
    assert (
        result.exit_code == 0
        and seen["observers"] == []
        and "listening on http://127.0.0.1:8124" in result.stdout
    )
    assert "curl http://127.0.0.1:8124/v1/chat/completions" in result.stdout
    olga("serve", "--log-format", "json")
    assert len(seen["observers"]) == 1 and seen["kwargs"]["port"] == 8000
    bad = olga("serve", "--log-format", "xml")
    assert bad.exit_code == 1 and "--log-format takes one of text, json" in bad.stderr


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def test_a_running_server_logs_each_request_as_a_json_line(home: Path) -> None:
    port = _free_port()
    _, key = await mint_key(home, name="laptop")
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "olga_cli",
        "serve",
        "--port",
        str(port),
        "--log-format",
        "json",
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env={**os.environ, "OLGA_HOME": str(home), "COLUMNS": "200"},
    )
    assert process.stdout is not None
    try:
        banner = ""
        while "curl" not in banner:
            line = await asyncio.wait_for(process.stdout.readline(), 20)
            assert line, f"olga serve exited before its banner: {banner}"
            banner += line.decode()
        assert f"listening on http://127.0.0.1:{port}" in banner
        async with aiohttp.ClientSession() as session:
            async with session.post(
                f"http://127.0.0.1:{port}/v1/chat/completions",
                headers={"Authorization": f"Bearer {key}"},
                json={"model": "mock/echo", "messages": [{"role": "user", "content": "hi"}]},
            ) as reply:
                assert reply.status == 200
                generation_id = reply.headers["x-olga-generation-id"]
        line = json.loads(await asyncio.wait_for(process.stdout.readline(), 10))
        assert line["generation_id"] == generation_id and line["key"] == "laptop" and line["status"] == 200
        assert line["route"] == "/v1/chat/completions" and line["model"].startswith("mock/")
    finally:
        process.send_signal(signal.SIGINT)
        await asyncio.wait_for(process.wait(), 20)


def test_access_log_never_writes_control_characters_from_a_request() -> None:
    record = make_record(key_name="laptop", status=400, error="unknown_model", model="\x1b[2Jevil\rmodel")
    record.model_requested = "\x1b[2Jevil\rmodel"
    text = io.StringIO()
    serve_module.access_logger("text", text)(record)
    line = text.getvalue()
    assert "\x1b" not in line and "\r" not in line
    assert "\\x1b[2Jevil\\rmodel" in line


def test_the_banner_off_a_terminal_is_whole_lines(home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """`olga serve > serve.log`: label and value on one line apart by a tab, never folded or padded
    at 80 columns (a width a file does not have)."""

    def fake_run_app(app: Any, **kwargs: Any) -> None:
        kwargs["print"]("======== Running on ... ========")

    monkeypatch.setattr(serve_module, "create_app", lambda config, observers=(): "app")
    monkeypatch.setattr(serve_module, "run_app", fake_run_app)
    monkeypatch.setenv("COLUMNS", "80")
    result = olga("serve", "--quiet", "--port", "8125")
    lines = result.stdout.splitlines()
    assert lines[0].startswith(f"olga {__version__}  listening on http://127.0.0.1:8125  home ")
    [providers] = [line for line in lines if line.startswith("providers\t")]
    assert "✓ mock" in providers and "✗ openai (no key: set OPENAI_API_KEY)" in providers
    assert "✗ anthropic (no key: set ANTHROPIC_API_KEY)" in providers  # the same line, however long
    assert 'OpenAI SDK\tOpenAI(base_url="http://127.0.0.1:8125/v1", api_key=OLGA_KEY)' in lines
    assert all(line == line.rstrip() for line in lines) and "│" not in result.stdout


async def test_env_and_logs_follow_find_a_server_started_on_another_port(home: Path) -> None:
    """`olga serve --port P` with nothing configured: `olga env` and `olga logs --follow` point at P
    while it runs (not at the configured 8000), and at 8000 again once it stopped."""
    port = _free_port()
    environ = {**os.environ, "OLGA_HOME": str(home)}
    server = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "olga_cli", "serve", "--quiet", "--port", str(port),
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.DEVNULL, env=environ,
    )  # fmt: skip
    assert server.stdout is not None
    try:
        while b"curl" not in await asyncio.wait_for(server.stdout.readline(), 20):
            pass
        follow = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "olga_cli", "logs", "--follow",
            stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE, env=environ,
        )  # fmt: skip
        assert follow.stderr is not None
        ready = (await asyncio.wait_for(follow.stderr.readline(), 20)).decode()
        follow.kill()
        await follow.wait()
        assert ready.startswith(f"Ready, waiting for requests on http://127.0.0.1:{port} ")
        shell = await asyncio.to_thread(olga, "env", "--key-name", "shell")
        assert f"export OPENAI_BASE_URL=http://127.0.0.1:{port}/v1" in shell.stdout
        doctor = await asyncio.to_thread(olga, "doctor")
        assert f"`olga serve` runs for this home at http://127.0.0.1:{port}" in doctor.stdout
    finally:
        server.send_signal(signal.SIGINT)
        await asyncio.wait_for(server.wait(), 20)
    assert not (home / "serving").exists()
    shell = await asyncio.to_thread(olga, "env", "--key-name", "shell")
    assert "export OPENAI_BASE_URL=http://127.0.0.1:8000/v1" in shell.stdout
