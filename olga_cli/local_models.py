"""Models a local server (Ollama, LM Studio, vLLM, llama.cpp) has right now, from its ``GET /models``.

Local servers load and unload models as their user pleases, so olga lists them live rather than from
the catalog; a ``provider/*`` catalog entry prices them all (free).
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from typing import Any

from olga_cli.config import ProviderConfig


def model_ids(payload: Any) -> list[str]:
    """The ids of an OpenAI-style model list (``{"data": [{"id": ...}]}``); Ollama's ``models`` too."""
    if not isinstance(payload, dict):
        return []
    items = payload.get("data")
    if not isinstance(items, list):
        items = payload.get("models")  # Ollama's native /api/tags shape, should a base URL point there
    if not isinstance(items, list):
        return []
    ids = [item.get("id") or item.get("name") for item in items if isinstance(item, dict)]
    return sorted({i for i in ids if isinstance(i, str) and i})


def fetch_model_ids(provider: ProviderConfig, *, timeout: float = 2.0) -> list[str] | str:
    """The server's models, or why they could not be listed (a sentence)."""
    request = urllib.request.Request(provider.base_url + "/models", headers={"Accept": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            payload = json.loads(bytes(response.read(4 * 1024 * 1024)))
    except urllib.error.HTTPError as exc:
        return f"{provider.base_url}/models answered {exc.code}"
    except (urllib.error.URLError, TimeoutError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        return f"not running at {provider.base_url} ({reason})"
    except ValueError:
        return f"{provider.base_url}/models did not answer JSON"
    return model_ids(payload)
