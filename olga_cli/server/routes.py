"""The whole URL table. Every /v1 route also answers under /api/v1."""

from __future__ import annotations

from olga_cli.server import info, model_list, unmetered
from olga_cli.server.metrics import counted, metrics_handler
from olga_cli.server.proxy import proxy_handler
from olga_cli.server.router import Router

PROVIDER = "{provider:[A-Za-z0-9][A-Za-z0-9_.-]*}"
RESPONSE_ID = "{response_id:[A-Za-z0-9_-]+}"
MODEL_ID = "{model_id:.+}"  # ids have a slash: openai/gpt-4o-mini


def build_router() -> Router:
    router = Router()
    # Every POST route is a proxied API call, counted in flight; GETs (health, models, metrics) are not.
    chat = counted(proxy_handler("chat", "openai"))
    responses = counted(proxy_handler("responses", "openai"))
    messages = counted(proxy_handler("messages", "anthropic"))
    embeddings = counted(proxy_handler("embeddings", "openai"))
    count_tokens = counted(unmetered.count_tokens)
    router.add("GET", "/", info.root)  # and HEAD /
    router.add("GET", "/health", info.health)
    router.add("GET", "/metrics", metrics_handler)
    for prefix in ("/v1", "/api/v1"):
        router.add("POST", f"{prefix}/chat/completions", chat)
        router.add("POST", f"{prefix}/responses", responses)
        router.add("POST", f"{prefix}/messages", messages)
        router.add("POST", f"{prefix}/embeddings", embeddings)
        router.add("GET", f"{prefix}/models", model_list.list_models)
        router.add("GET", f"{prefix}/models/{MODEL_ID}", model_list.get_model)
        router.add("GET", f"{prefix}/generation", info.generation)
        router.add("GET", f"{prefix}/key", info.key_info)
        router.add("POST", f"{prefix}/{PROVIDER}/chat/completions", chat)
        router.add("POST", f"{prefix}/{PROVIDER}/responses", responses)
        router.add("POST", f"{prefix}/{PROVIDER}/messages", messages)
        router.add("POST", f"{prefix}/{PROVIDER}/v1/messages", messages)
        router.add("POST", f"{prefix}/{PROVIDER}/embeddings", embeddings)
        # Passed to the provider without metering (gateway/unmetered_calls.py).
        for pinned in ("", f"/{PROVIDER}", f"/{PROVIDER}/v1"):
            router.add("POST", f"{prefix}{pinned}/messages/count_tokens", count_tokens)
        for pinned in ("", f"/{PROVIDER}"):
            router.add("GET", f"{prefix}{pinned}/responses/{RESPONSE_ID}", unmetered.stored_response)
            router.add("DELETE", f"{prefix}{pinned}/responses/{RESPONSE_ID}", unmetered.stored_response)
    return router
