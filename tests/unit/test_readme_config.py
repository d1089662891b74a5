"""The config.toml example in the README is a working configuration, read as olga reads it."""

from __future__ import annotations

import re
from pathlib import Path

from olga_cli.config import load_config

README = Path(__file__).resolve().parents[2] / "README.md"


def test_readme_config_example_loads(home: Path) -> None:
    block = re.search(r"```toml\n(.*?)```", README.read_text("utf-8"), re.S)
    assert block is not None, "the README has no config.toml example"
    home.mkdir(parents=True)
    (home / "config.toml").write_text(block.group(1))
    config = load_config(home, environ={"VLLM_KEY": "sk-vllm"})
    vllm = config.providers["vllm"]
    assert vllm.kind == "openai-compatible" and vllm.retry_on == (500, 502) and vllm.first_byte_timeout == 60
    assert vllm.keys[0].resolve({"VLLM_KEY": "sk-vllm"}) == "sk-vllm"
    assert [(r.provider, r.format, r.model, r.to_model) for r in config.routes] == [
        ("openai", "anthropic", "claude-haiku-4-5", "gpt-4o-mini")
    ]
    assert config.fallbacks == {"openai/gpt-4o-mini": ("anthropic/claude-haiku-4-5",)}
    assert config.max_body_bytes == 32 * 1024 * 1024 and config.store_bodies is True
    assert config.webhook_url == "http://127.0.0.1:9000/olga-alerts"
    assert config.resilience.breaker_cooldown == 30.0
