"""The whole URL table. Every /v1 route also answers under /api/v1."""

from __future__ import annotations

from aiohttp import web

from olga_cli.server import info, model_list, unmetered
from olga_cli.server.metrics import metrics_handler
from olga_cli.server.proxy import proxy_handler

PROVIDER = "{provider:[A-Za-z0-9][A-Za-z0-9_.-]*}"
RESPONSE_ID = "{response_id:[A-Za-z0-9_-]+}"
MODEL_ID = "{model_id:.+}"  # ids have a slash: openai/gpt-4o-mini


def setup_routes(app: web.Application) -> None:
    chat = proxy_handler("chat", "openai")
    responses = proxy_handler("responses", "openai")
    messages = proxy_handler("messages", "anthropic")
    embeddings = proxy_handler("embeddings", "openai")
    app.router.add_get("/", info.root)  # and HEAD /
    app.router.add_get("/health", info.health)
    app.router.add_get("/metrics", metrics_handler)
    for prefix in ("/v1", "/api/v1"):
        app.router.add_post(f"{prefix}/chat/completions", chat)
        app.router.add_post(f"{prefix}/responses", responses)
        app.router.add_post(f"{prefix}/messages", messages)
        app.router.add_post(f"{prefix}/embeddings", embeddings)
        app.router.add_get(f"{prefix}/models", model_list.list_models)
        app.router.add_get(f"{prefix}/models/{MODEL_ID}", model_list.get_model)
        app.router.add_get(f"{prefix}/generation", info.generation)
        app.router.add_get(f"{prefix}/key", info.key_info)
        app.router.add_post(f"{prefix}/{PROVIDER}/chat/completions", chat)
        app.router.add_post(f"{prefix}/{PROVIDER}/responses", responses)
        app.router.add_post(f"{prefix}/{PROVIDER}/messages", messages)
        app.router.add_post(f"{prefix}/{PROVIDER}/v1/messages", messages)
        app.router.add_post(f"{prefix}/{PROVIDER}/embeddings", embeddings)
        # Passed to the provider without metering (gateway/unmetered_calls.py).
        for pinned in ("", f"/{PROVIDER}", f"/{PROVIDER}/v1"):
            app.router.add_post(f"{prefix}{pinned}/messages/count_tokens", unmetered.count_tokens)
        for pinned in ("", f"/{PROVIDER}"):
            app.router.add_get(f"{prefix}{pinned}/responses/{RESPONSE_ID}", unmetered.stored_response)
            app.router.add_delete(f"{prefix}{pinned}/responses/{RESPONSE_ID}", unmetered.stored_response)
