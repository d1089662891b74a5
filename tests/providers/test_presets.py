"""Provider presets: one command connects a provider, with its real base URL, auth and key variable."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from anthropic import AsyncAnthropic
from openai import AsyncOpenAI

from olga_cli.config import load_config
from olga_cli.presets import PRESETS
from tests.cli.helpers import olga_json
from tests.cli.terminal import olga, olga_async
from tests.fakes.gateway import start_gateway
from tests.fakes.openai_upstream import FakeOpenAI

# What each provider documents (base URL as its SDKs take it, auth, the variable its SDKs read).
EXPECTED = {
    "groq": ("openai-compatible", "https://api.groq.com/openai/v1", "bearer", "GROQ_API_KEY"),
    "mistral": ("openai-compatible", "https://api.mistral.ai/v1", "bearer", "MISTRAL_API_KEY"),
    "deepseek": ("openai-compatible", "https://api.deepseek.com/v1", "bearer", "DEEPSEEK_API_KEY"),
    "openrouter": ("openai-compatible", "https://openrouter.ai/api/v1", "bearer", "OPENROUTER_API_KEY"),
    "together": ("openai-compatible", "https://api.together.xyz/v1", "bearer", "TOGETHER_API_KEY"),
    "fireworks": (
        "openai-compatible",
        "https://api.fireworks.ai/inference/v1",
        "bearer",
        "FIREWORKS_API_KEY",
    ),
    "xai": ("openai-compatible", "https://api.x.ai/v1", "bearer", "XAI_API_KEY"),
    "ollama": ("openai-compatible", "http://127.0.0.1:11434/v1", "bearer", None),
    "lmstudio": ("openai-compatible", "http://127.0.0.1:1234/v1", "bearer", None),
    "vllm": ("openai-compatible", "http://127.0.0.1:8000/v1", "bearer", None),
    "llamacpp": ("openai-compatible", "http://127.0.0.1:8080/v1", "bearer", None),
    "gemini": (
        "gemini",
        "https://generativelanguage.googleapis.com/v1beta",
        "x-goog-api-key",
        "GEMINI_API_KEY",
    ),
    "azure": ("azure", "https://my-resource.openai.azure.com", "api-key", "AZURE_OPENAI_API_KEY"),
}


def test_every_preset_of_the_contract_exists() -> None:
    assert set(EXPECTED) <= set(PRESETS)
    listed = olga_json("providers", "presets")
    assert {row["name"] for row in listed} == set(PRESETS)
    table = olga("providers", "presets").stdout
    assert "groq" in table and "api.groq.com" in table and "GROQ_API_KEY" in table


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_each_preset_resolves_in_one_command(home: Path, name: str) -> None:
    kind, url, auth, env = EXPECTED[name]
    extra = ["--base-url", url] if name == "azure" else []
    saved = olga_json("providers", "add", name, "--preset", name, *extra)
    assert saved["kind"] == kind and saved["base_url"] == url and saved["auth"] == auth
    assert saved["preset"] == name
    provider = load_config(home).providers[name]
    if env is None:  # a local server: no key, models listed live
        assert provider.local and not provider.needs_key and provider.keys == ()
    else:
        assert provider.needs_key and [k.env for k in provider.keys] == [env]
        assert saved["status"] == "no key"
    if name == "azure":
        assert provider.api_version == "2024-10-21"


def test_the_preset_is_implied_by_its_name_and_flags_win(home: Path) -> None:
    saved = olga_json("providers", "add", "groq", "--api-key-env", "MY_GROQ")
    assert saved["preset"] == "groq" and saved["base_url"] == "https://api.groq.com/openai/v1"
    assert [k["label"] for k in saved["keys"]] == ["env:MY_GROQ"]
    other = olga_json(
        "providers", "add", "eu-mistral", "--preset", "mistral", "--base-url", "https://eu.example/v1"
    )
    assert other["base_url"] == "https://eu.example/v1" and other["kind"] == "openai-compatible"


def test_preset_mistakes_are_one_line(home: Path) -> None:
    unknown = olga("providers", "add", "x", "--preset", "nope")
    assert unknown.exit_code == 1 and "no preset 'nope'" in unknown.stderr and "groq" in unknown.stderr
    azure = olga("providers", "add", "work", "--preset", "azure")
    assert azure.exit_code == 1 and "--base-url https://my-resource.openai.azure.com" in azure.stderr
    both = olga("providers", "add", "x", "--preset", "groq", "--kind", "openai")
    assert both.exit_code == 1 and "not both" in both.stderr
    deployment = olga(
        "providers",
        "add",
        "w",
        "--preset",
        "azure",
        "--base-url",
        "https://a.example",
        "--deployment",
        "gpt-4o",
    )
    assert deployment.exit_code == 1 and "MODEL=DEPLOYMENT" in deployment.stderr
    assert "Traceback" not in unknown.output + azure.output + both.output + deployment.output


def test_reset_restores_a_builtin(home: Path) -> None:
    refused_add = olga("providers", "add", "mock", "--kind", "openai", "--base-url", "http://127.0.0.1:9/v1")
    assert refused_add.exit_code == 1 and "built-in offline provider" in refused_add.stderr
    home.mkdir(parents=True, exist_ok=True)  # changed by hand in config.toml, then restored
    (home / "config.toml").write_text(
        '[providers.mock]\nkind = "openai-compatible"\nbase_url = "http://127.0.0.1:9/v1"\n'
    )
    assert load_config(home).providers["mock"].kind == "openai-compatible"
    restored = olga_json("providers", "reset", "mock")
    assert restored["kind"] == "mock" and restored["builtin"] is True
    refused = olga("providers", "reset", "groq")
    assert refused.exit_code == 1 and "not a built-in provider" in refused.stderr


async def test_a_local_preset_lists_its_models_live_and_serves_them_free(
    home: Path, fake_openai: FakeOpenAI, api_key: str
) -> None:
    """LM Studio on a port of its own: no key sent, models from its /models, priced by lmstudio/*."""
    added = await olga_async("providers", "add", "lmstudio", "--base-url", fake_openai.url + "/v1", "--json")
    assert added.exit_code == 0, added.output
    listed = await olga_async("models", "list", "--provider", "lmstudio", "--json")
    ids = [m["id"] for m in json.loads(listed.stdout)]
    assert "lmstudio/qwen2.5-7b-instruct" in ids and "lmstudio/llama-3.2-3b" in ids
    running = await start_gateway(home)
    try:
        client = AsyncOpenAI(base_url=running.v1, api_key=api_key, max_retries=0)
        reply = await client.chat.completions.with_raw_response.create(
            model="lmstudio/qwen2.5-7b-instruct", messages=[{"role": "user", "content": "hi"}]
        )
        assert reply.parse().choices[0].message.content == fake_openai.reply
        sent = fake_openai.last
        assert sent.body["model"] == "qwen2.5-7b-instruct" and "Authorization" not in sent.headers
        gen = (await olga_async("generation", reply.headers["x-olga-generation-id"], "--json")).stdout
        assert json.loads(gen)["cost"] == "0"
        listed = [m.id async for m in client.models.list()]  # GET /v1/models asks the server live
        assert "lmstudio/qwen2.5-7b-instruct" in listed and "lmstudio/llama-3.2-3b" in listed
        assert "openai/gpt-4o-mini" in listed
        claude_code = AsyncAnthropic(base_url=running.url, api_key=api_key, max_retries=0)
        discovered = [m.id async for m in await claude_code.models.list(limit=1000)]
        assert discovered == listed  # the same live list, in Anthropic's shape
    finally:
        await running.close()


async def test_a_stopped_local_server_is_named_not_fatal(home: Path) -> None:
    olga_json("providers", "add", "llamacpp", "--base-url", "http://127.0.0.1:9/v1")
    result = await olga_async("models", "list", "--provider", "llamacpp")
    assert "llamacpp: not running at http://127.0.0.1:9/v1" in result.stderr


async def test_a_hosted_preset_sends_its_key_its_way(
    home: Path, fake_openai: FakeOpenAI, api_key: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GROQ_API_KEY", "gsk-test-value")
    olga_json("providers", "add", "groq", "--base-url", fake_openai.url + "/v1")
    running = await start_gateway(home)
    try:
        client = AsyncOpenAI(base_url=running.v1, api_key=api_key, max_retries=0)
        await client.chat.completions.create(
            model="groq/openai/gpt-oss-20b", messages=[{"role": "user", "content": "hi"}]
        )
        sent = fake_openai.last
        assert sent.headers["Authorization"] == "Bearer gsk-test-value"
        assert sent.body["model"] == "openai/gpt-oss-20b"
    finally:
        await running.close()
