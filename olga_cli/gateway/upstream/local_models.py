"""Local servers' models (Ollama, LM Studio, vLLM, llama.cpp), asked for live at their ``GET /models``.

``GET /v1/models`` lists them beside the catalog's, so a client's model picker shows what the local
server has loaded right now. Each server's answer is kept a few seconds, and a server that is down or
slow costs the listing at most ``TIMEOUT`` and then an empty list until the next look.
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass, field

from olga_cli.config import ProviderConfig
from olga_cli.errors import UpstreamFailure
from olga_cli.gateway.upstream.client import Upstreams
from olga_cli.local_models import model_ids

TIMEOUT = 2.0
KEEP = 10.0


@dataclass(slots=True)
class LocalModels:
    _seen: dict[str, tuple[float, list[str]]] = field(default_factory=dict)  # provider -> (until, ids)

    async def ids(self, upstreams: Upstreams, provider: ProviderConfig, *, now: float) -> list[str]:
        kept = self._seen.get(provider.name)
        if kept is not None and kept[0] > now:
            return kept[1]
        ids: list[str] = []
        try:
            async with asyncio.timeout(TIMEOUT):
                reply = await upstreams.send(provider, None, "/models", {}, method="GET")
                raw = await reply.read()
            if reply.status == 200:
                ids = model_ids(json.loads(raw))
        except (UpstreamFailure, TimeoutError, ValueError, UnicodeDecodeError):
            ids = []  # not running: its models appear when it does
        self._seen[provider.name] = (now + KEEP, ids)
        return ids
