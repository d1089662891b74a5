"""Provider presets (what `olga providers add NAME --preset P` fills in, so one command connects a
provider) and the built-in providers that exist without any configuration.

Each preset holds the provider's documented base URL (as its SDKs take it), the way it wants its key
(``Authorization: Bearer``, ``api-key``, ``x-goog-api-key``), the environment variable its own SDKs read
the key from, and the API it speaks. Local servers need no key; their models are listed live from their
``/models`` endpoint (``local``). Facts only: nothing here does I/O.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from olga_cli.errors import UserError

PresetKind = Literal["openai-compatible", "gemini", "azure"]


@dataclass(frozen=True, slots=True)
class Preset:
    name: str
    kind: PresetKind
    base_url: str | None  # None: the user's own endpoint is needed (Azure's resource URL)
    auth: Literal["bearer", "api-key", "x-goog-api-key", "none"]
    api_key_env: str | None
    about: str
    local: bool = False
    api_version: str | None = None  # Azure's dated data-plane version
    example_url: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "kind": self.kind,
            "base_url": self.base_url,
            "auth": self.auth,
            "api_key_env": self.api_key_env,
            "local": self.local,
            "api_version": self.api_version,
            "about": self.about,
        }


def builtin_providers() -> dict[str, dict[str, Any]]:
    """The providers that exist without any config.toml, as config.toml tables (it may override them)."""
    return {
        "mock": {"kind": "mock", "base_url": "mock://", "needs_key": False, "auth": "none"},
        "openai": {
            "kind": "openai",
            "base_url": "https://api.openai.com/v1",
            "api_key_env": "OPENAI_API_KEY",
        },
        "anthropic": {
            "kind": "anthropic",
            "base_url": "https://api.anthropic.com",
            "api_key_env": "ANTHROPIC_API_KEY",
            "auth": "x-api-key",
        },
        "ollama": {
            "kind": "openai-compatible",
            "base_url": "http://127.0.0.1:11434/v1",
            "needs_key": False,
            "local": True,
            "preset": "ollama",
        },
    }


def _hosted(name: str, base_url: str, env: str, about: str) -> Preset:
    return Preset(name, "openai-compatible", base_url, "bearer", env, about)


def _local(name: str, base_url: str, about: str) -> Preset:
    return Preset(name, "openai-compatible", base_url, "none", None, about, local=True)


# The latest generally available data-plane version of Azure OpenAI's dated API.
AZURE_API_VERSION = "2024-10-21"

PRESETS: dict[str, Preset] = {
    p.name: p
    for p in (
        _hosted("groq", "https://api.groq.com/openai/v1", "GROQ_API_KEY", "Groq (OpenAI-compatible)"),
        _hosted("mistral", "https://api.mistral.ai/v1", "MISTRAL_API_KEY", "Mistral La Plateforme"),
        _hosted("deepseek", "https://api.deepseek.com/v1", "DEEPSEEK_API_KEY", "DeepSeek"),
        _hosted("openrouter", "https://openrouter.ai/api/v1", "OPENROUTER_API_KEY", "OpenRouter"),
        _hosted("together", "https://api.together.xyz/v1", "TOGETHER_API_KEY", "Together AI"),
        _hosted("fireworks", "https://api.fireworks.ai/inference/v1", "FIREWORKS_API_KEY", "Fireworks AI"),
        _hosted("xai", "https://api.x.ai/v1", "XAI_API_KEY", "xAI (Grok)"),
        _local("ollama", "http://127.0.0.1:11434/v1", "Ollama on this machine"),
        _local("lmstudio", "http://127.0.0.1:1234/v1", "LM Studio's local server"),
        # vLLM's own default port is 8000, which olga takes too: give one of them another port.
        _local("vllm", "http://127.0.0.1:8000/v1", "vLLM (`vllm serve`; move it off olga's port 8000)"),
        _local("llamacpp", "http://127.0.0.1:8080/v1", "llama.cpp's llama-server"),
        Preset(
            "gemini",
            "gemini",
            "https://generativelanguage.googleapis.com/v1beta",
            "x-goog-api-key",
            "GEMINI_API_KEY",
            "Google Gemini API (native generateContent)",
        ),
        Preset(
            "azure",
            "azure",
            None,
            "api-key",
            "AZURE_OPENAI_API_KEY",
            "Azure OpenAI (deployments, api-version)",
            api_version=AZURE_API_VERSION,
            example_url="https://my-resource.openai.azure.com",
        ),
    )
}


def preset_named(name: str) -> Preset | None:
    return PRESETS.get(name)


def preset_fields(name: str, *, base_url: str | None, given_key: bool) -> dict[str, object]:
    """The config.toml fields a preset fills; flags the user gave (base URL, key) win over it."""
    preset = PRESETS.get(name)
    if preset is None:
        raise UserError(f"no preset '{name}'; one of {', '.join(PRESETS)} (see `olga providers presets`)")
    if preset.base_url is None and base_url is None:
        raise UserError(
            f"the {name} preset needs your endpoint: --base-url {preset.example_url or 'https://...'}"
        )
    fields: dict[str, object] = {
        "preset": name,
        "kind": preset.kind,
        "base_url": base_url or preset.base_url,
        "auth": preset.auth if preset.auth != "none" else None,
        "api_version": preset.api_version,
    }
    if preset.local:
        fields.update(local=True, needs_key=given_key)
    elif not given_key and preset.api_key_env:
        fields.update(api_key_env=preset.api_key_env, needs_key=True)
    return fields


def parse_deployments(values: list[str]) -> dict[str, str]:
    """``["gpt-4o=prod-4o"]`` -> ``{"gpt-4o": "prod-4o"}`` (Azure names its deployments itself)."""
    found: dict[str, str] = {}
    for value in values:
        model, sep, deployment = value.partition("=")
        if not sep or not model.strip() or not deployment.strip():
            raise UserError(f"--deployment takes MODEL=DEPLOYMENT, e.g. gpt-4o=prod-4o, not {value!r}")
        found[model.strip()] = deployment.strip()
    return found
