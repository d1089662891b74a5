"""`olga models update`: a LiteLLM-format price map, served from 127.0.0.1 or read from a file, diffed
against the catalog and written as the overlay; `olga models verify` finds routed models without a price."""

from __future__ import annotations

import json
import os
import stat
from collections.abc import AsyncIterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web

from olga_cli.catalog import load_catalog
from olga_cli.catalog_archive import load_version
from olga_cli.catalog_update import per_mtok
from olga_cli.providers.usage import Usage
from tests.cli.terminal import olga, olga_async
from tests.fakes.gateway import configure

# In LiteLLM's format: per-token prices as JSON numbers (floats on the wire, read here as decimals).
PRICE_MAP = """{
 "sample_spec": {"input_cost_per_token": 0.0, "litellm_provider": "one of the providers", "mode": "chat"},
 "gpt-4o-mini": {"input_cost_per_token": 1.6e-07, "output_cost_per_token": 6e-07,
   "cache_read_input_token_cost": 7.5e-08, "litellm_provider": "openai", "mode": "chat",
   "max_input_tokens": 128000, "max_output_tokens": 16384},
 "claude-haiku-4-5": {"input_cost_per_token": 1e-06, "output_cost_per_token": 5e-06,
   "cache_read_input_token_cost": 1e-07, "cache_creation_input_token_cost": 1.25e-06,
   "litellm_provider": "anthropic", "mode": "chat"},
 "groq/brand-new-model": {"input_cost_per_token": 5.9e-07, "output_cost_per_token": 7.9e-07,
   "litellm_provider": "groq", "mode": "chat", "max_input_tokens": 131072, "max_output_tokens": 32768},
 "gemini/gemini-2.5-flash": {"input_cost_per_token": 3e-07, "output_cost_per_token": 2.5e-06,
   "output_cost_per_reasoning_token": 3.5e-06, "cache_read_input_token_cost": 3e-08,
   "litellm_provider": "gemini", "mode": "chat"},
 "dall-e-3": {"input_cost_per_pixel": 1e-08, "litellm_provider": "openai", "mode": "image_generation"},
 "bedrock/some-model": {"input_cost_per_token": 1e-06, "output_cost_per_token": 1e-06,
   "litellm_provider": "bedrock", "mode": "chat"}
}"""


@pytest.fixture
async def price_server() -> AsyncIterator[str]:
    async def serve(request: web.Request) -> web.Response:
        return web.Response(text=PRICE_MAP, content_type="application/json")

    app = web.Application()
    app.router.add_get("/model_prices_and_context_window.json", serve)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    yield f"http://127.0.0.1:{runner.addresses[0][1]}/model_prices_and_context_window.json"
    await runner.cleanup()


def test_per_token_prices_scale_exactly() -> None:
    assert per_mtok(Decimal("1.5e-07"), "x") == "0.15"
    assert per_mtok(Decimal("3e-05"), "x") == "30"
    assert per_mtok(0, "x") == "0"
    assert per_mtok(Decimal("1.25e-06"), "x") == "1.25"


async def test_update_from_a_url_shows_the_diff_and_writes_the_overlay(home: Path, price_server: str) -> None:
    before = load_catalog(home)
    dry = await olga_async("models", "update", "--from", price_server, "--dry-run", "--json")
    assert dry.exit_code == 0, dry.output
    found = json.loads(dry.stdout)
    assert found["written"] is False and not (home / "model_catalog.json").exists()
    assert found["new_models"] == ["groq/brand-new-model"]
    changes = {(c["model"], c["field"]): (c["old"], c["new"]) for c in found["price_changes"]}
    assert changes[("openai/gpt-4o-mini", "input_per_mtok")] == ("0.15", "0.16")
    assert changes[("gemini/gemini-2.5-flash", "reasoning_per_mtok")] == (None, "3.5")
    assert not any(model == "anthropic/claude-haiku-4-5" for model, _ in changes)  # same prices
    assert found["unchanged"] >= 1

    human = await olga_async("models", "update", "--from", price_server)
    assert human.exit_code == 0, human.output
    assert "1 new model(s)" in human.stdout and "groq/brand-new-model" in human.stdout
    assert "openai/gpt-4o-mini" in human.stdout and "0.15" in human.stdout and "0.16" in human.stdout
    overlay = json.loads((home / "model_catalog.json").read_text())
    assert stat.S_IMODE(os.stat(home / "model_catalog.json").st_mode) == 0o600
    assert overlay["source"] == price_server and overlay["version"] != before.version
    assert overlay["models"]["openai/gpt-4o-mini"] == {"input_per_mtok": "0.16"}  # only what changed

    after = load_catalog(home)
    assert after.version == overlay["version"]
    mini = after.resolve("openai/gpt-4o-mini")
    assert (
        mini is not None and mini.input_per_mtok == Decimal("0.16") and mini.aliases
    )  # merged, not replaced
    new = after.resolve("groq/brand-new-model")
    assert new is not None and new.context_window == 131072 and new.output_per_mtok == Decimal("0.79")
    # The prices of both versions are kept, so an old record can be explained with its day's prices.
    old = load_version(home, before.version)
    assert old is not None and old.resolve("openai/gpt-4o-mini").input_per_mtok == Decimal("0.15")  # type: ignore[union-attr]
    again = await olga_async("models", "update", "--from", price_server, "--json")
    assert json.loads(again.stdout)["new_models"] == [] and json.loads(again.stdout)["written"] is False


async def test_reasoning_tokens_are_priced_apart_where_the_map_says(home: Path, price_server: str) -> None:
    await olga_async("models", "update", "--from", price_server, "--provider", "gemini")
    flash = load_catalog(home).resolve("gemini/gemini-2.5-flash")
    assert flash is not None and flash.reasoning_per_mtok == Decimal("3.5")
    # 1000 output tokens of which 400 thinking: 600 * 2.5 + 400 * 3.5 per million, exactly.
    cost = flash.cost_pico(Usage(0, 1000, reasoning_tokens=400))
    assert cost == (600 * 2_500_000 + 400 * 3_500_000)
    assert load_catalog(home).resolve("groq/brand-new-model") is None  # --provider kept to gemini


def test_update_from_a_file_and_its_mistakes(home: Path, tmp_path: Path) -> None:
    source = tmp_path / "prices.json"
    source.write_text(PRICE_MAP)
    result = olga("models", "update", "--from", str(source), "--json")
    assert result.exit_code == 0 and json.loads(result.stdout)["written"] is True
    missing = olga("models", "update", "--from", str(tmp_path / "nope.json"))
    assert missing.exit_code == 1 and "no file" in missing.stderr
    (tmp_path / "bad.json").write_text("{not json")
    bad = olga("models", "update", "--from", str(tmp_path / "bad.json"))
    assert bad.exit_code == 1 and "is not valid JSON" in bad.stderr
    (tmp_path / "empty.json").write_text('{"x": {"litellm_provider": "bedrock"}}')
    empty = olga("models", "update", "--from", str(tmp_path / "empty.json"))
    assert empty.exit_code == 1 and "no priced chat or embedding model" in empty.stderr
    down = olga("models", "update", "--from", "http://127.0.0.1:9/prices.json")
    assert down.exit_code == 1 and "could not fetch" in down.stderr
    assert "Traceback" not in missing.output + bad.output + empty.output + down.output


def test_verify_names_routed_models_without_a_price(home: Path) -> None:
    ok = olga("models", "verify")
    assert ok.exit_code == 0 and "Every routed model has a price" in ok.stdout
    configure(
        home,
        routes=[{"id": "1", "provider": "openai", "model": "claude-haiku-4-5", "to_model": "gpt-4o-mini"}],
        fallbacks={"openai/gpt-4o-mini": ["groq/not-a-priced-model"]},
    )
    result = olga("models", "verify", "--json")
    assert result.exit_code == 1
    report = json.loads(result.stdout)
    assert report["ok"] is False
    by_model = {m["model"]: m for m in report["models"]}
    assert by_model["openai/gpt-4o-mini"]["ok"] and by_model["groq/not-a-priced-model"]["ok"] is False
    assert "olga models update" in result.stderr and "groq/not-a-priced-model" in result.stderr


async def test_a_model_without_a_price_is_a_clear_400(home: Path, api_key: str) -> None:
    from openai import AsyncOpenAI, BadRequestError

    from tests.fakes.gateway import start_gateway

    olga("providers", "add", "groq", "--preset", "groq")
    running = await start_gateway(home)
    try:
        client = AsyncOpenAI(base_url=running.v1, api_key=api_key, max_retries=0)
        with pytest.raises(BadRequestError) as caught:
            await client.chat.completions.create(
                model="groq/some-unpriced-model", messages=[{"role": "user", "content": "hi"}]
            )
        error = caught.value.body
        assert isinstance(error, dict) and error["code"] == "unknown_model_pricing"
        assert "olga models update" in error["message"]
    finally:
        await running.close()


async def test_an_old_cost_is_explained_with_the_prices_of_its_day(
    home: Path, gateway: Any, api_key: str, tmp_path: Path
) -> None:
    from openai import AsyncOpenAI

    client = AsyncOpenAI(base_url=gateway.v1, api_key=api_key, max_retries=0)
    raw = await client.chat.completions.with_raw_response.create(
        model="openai/gpt-4o-mini", messages=[{"role": "user", "content": "hi"}]
    )
    gen = raw.headers["x-olga-generation-id"]
    version = load_catalog(home).version
    source = tmp_path / "prices.json"
    source.write_text(PRICE_MAP)
    assert (await olga_async("models", "update", "--from", str(source))).exit_code == 0
    record = json.loads((await olga_async("generation", gen, "--json")).stdout)
    assert record["catalog_version"] == version
    breakdown = record["cost_breakdown"]
    assert breakdown["catalog_version"] == version and breakdown["matches_current_prices"] is True
    assert breakdown["lines"][0] == {
        "what": "input",
        "tokens": 12,
        "usd_per_mtok": "0.15",
        "cost": "0.0000018",
    }
    shown = (await olga_async("generation", gen)).stdout
    assert f"prices of catalog {version}" in shown
