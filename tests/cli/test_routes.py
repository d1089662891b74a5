"""``olga routes``: rules stored in config.toml, tried top to bottom by the gateway, first match wins."""

from __future__ import annotations

import tomllib
from pathlib import Path

import anthropic
import openai

from tests.cli.helpers import olga, olga_async, olga_json
from tests.fakes.gateway import point_openai_at, start_gateway
from tests.fakes.openai_upstream import FakeOpenAI


def test_add_list_remove_with_json(home: Path) -> None:
    first = olga_json(
        "routes",
        "add",
        "--format",
        "anthropic",
        "--model",
        "claude-haiku-4-5",
        "--provider",
        "openai",
        "--to-model",
        "gpt-4o-mini",
    )
    assert first == {
        "id": "1",
        "format": "anthropic",
        "model": "claude-haiku-4-5",
        "provider": "openai",
        "to_model": "gpt-4o-mini",
        "provider_kind": "openai",
    }
    second = olga_json("routes", "add", "--provider", "mock", "--to-model", "echo")
    assert second["id"] == "2" and second["format"] is None and second["model"] is None
    assert [r["id"] for r in olga_json("routes", "list")] == ["1", "2"]
    stored = tomllib.loads((home / "config.toml").read_text())["routes"]
    assert stored == [
        {
            "id": 1,
            "provider": "openai",
            "format": "anthropic",
            "model": "claude-haiku-4-5",
            "to_model": "gpt-4o-mini",
        },
        {"id": 2, "provider": "mock", "to_model": "echo"},
    ]
    removed = olga_json("routes", "remove", "1")
    assert removed["removed"] is True and removed["provider"] == "openai"
    assert [(r["id"], r["provider"]) for r in olga_json("routes", "list")] == [("2", "mock")]
    # A new rule never reuses an id still in use.
    assert olga_json("routes", "add", "--provider", "openai", "--model", "gpt-4o")["id"] == "3"


def test_human_output(home: Path) -> None:
    result = olga("routes", "list")
    assert result.exit_code == 0 and "No routes" in result.stdout
    olga("routes", "add", "--format", "openai", "--provider", "mock", "--to-model", "echo")
    listing = olga("routes", "list")
    assert listing.exit_code == 0
    assert "mock (mock)" in listing.stdout and "echo" in listing.stdout and "any" in listing.stdout


def test_mistakes_are_one_line_errors(home: Path) -> None:
    for args, words in (
        (("routes", "add", "--provider", "nowhere"), "no provider 'nowhere'"),
        (("routes", "add", "--provider", "mock", "--format", "grpc"), "--format must be openai or anthropic"),
        (
            ("routes", "add", "--provider", "openai", "--to-model", "gpt-unpriced-9"),
            "no price for 'gpt-unpriced-9'",
        ),
        (("routes", "remove", "7"), "no route '7'"),
    ):
        result = olga(*args)
        assert result.exit_code == 1, args
        assert words in result.stderr and result.stderr.count("\n") == 1, result.stderr
        assert "Traceback" not in result.output
    assert not (home / "config.toml").exists() or "routes" not in (home / "config.toml").read_text()


def test_rules_without_ids_keep_their_numbers_when_one_is_removed(home: Path) -> None:
    (home / "config.toml").parent.mkdir(parents=True, exist_ok=True)
    (home / "config.toml").write_text(
        '[[routes]]\nprovider = "mock"\nmodel = "a"\n\n[[routes]]\nprovider = "mock"\nmodel = "b"\n\n'
        '[[routes]]\nprovider = "mock"\nmodel = "c"\n'
    )
    olga_json("routes", "remove", "2")
    assert [(r["id"], r["model"]) for r in olga_json("routes", "list")] == [("1", "a"), ("3", "c")]


async def test_the_gateway_applies_rules_top_to_bottom(
    home: Path, fake_openai: FakeOpenAI, api_key: str
) -> None:
    point_openai_at(home, fake_openai.url)
    # Messages for claude-haiku-4-5 go to OpenAI's gpt-4o-mini (translated); any other Messages to the mock.
    await olga_async(
        "routes",
        "add",
        "--format",
        "anthropic",
        "--model",
        "claude-haiku-4-5",
        "--provider",
        "openai",
        "--to-model",
        "gpt-4o-mini",
    )
    await olga_async("routes", "add", "--format", "anthropic", "--provider", "mock", "--to-model", "echo")
    running = await start_gateway(home)
    claude = anthropic.AsyncAnthropic(base_url=running.url, api_key=api_key, max_retries=0)
    gpt = openai.AsyncOpenAI(base_url=running.v1, api_key=api_key, max_retries=0)
    try:
        first = await claude.messages.create(
            model="claude-haiku-4-5", max_tokens=50, messages=[{"role": "user", "content": "hi there"}]
        )
        assert first.content[0].type == "text" and first.content[0].text == "Hello from the fake provider."
        assert fake_openai.last.body["model"] == "gpt-4o-mini"
        second = await claude.messages.create(
            model="anthropic/claude-sonnet-4-5",
            max_tokens=50,
            messages=[{"role": "user", "content": "echo me"}],
        )
        assert second.content[0].type == "text" and second.content[0].text == "echo me"
        # OpenAI-format requests match no rule: they go by their model's provider.
        chat = await gpt.chat.completions.create(
            model="gpt-4o-mini", messages=[{"role": "user", "content": "x"}]
        )
        assert chat.choices[0].message.content == "Hello from the fake provider."
        assert len(fake_openai.requests) == 2

        # Removing the first rule while the server runs: the next request falls through to the second.
        await olga_async("routes", "remove", "1")
        running.gateway.reload_files_if_changed()
        third = await claude.messages.create(
            model="claude-haiku-4-5", max_tokens=50, messages=[{"role": "user", "content": "now the mock"}]
        )
        assert third.content[0].type == "text" and third.content[0].text == "now the mock"
        assert len(fake_openai.requests) == 2
    finally:
        await claude.close()
        await gpt.close()
        await running.close()
