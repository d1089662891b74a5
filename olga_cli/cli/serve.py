"""``olga serve``: run the gateway until Ctrl-C (or SIGTERM), then finish in-flight requests and flush."""

from __future__ import annotations

import logging
from typing import Annotated, Optional

import typer
from aiohttp import web

from olga_cli import __version__
from olga_cli.cli.common import console, env_of, fail
from olga_cli.config import load_config
from olga_cli.errors import UserError
from olga_cli.server.app import create_app

SHUTDOWN_TIMEOUT = 30.0


def serve(
    ctx: typer.Context,
    host: Annotated[Optional[str], typer.Option("--host", help="Address to bind (default 127.0.0.1).")] = None,
    port: Annotated[Optional[int], typer.Option("--port", help="Port (default 8000).")] = None,
) -> None:
    """Start the gateway on 127.0.0.1:8000. Example: olga serve --port 8080"""
    env = env_of(ctx)
    try:
        config = load_config(env.home, host=host, port=port)
    except UserError as exc:
        raise fail(exc.message) from None
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    out = console()
    base = f"http://{config.host}:{config.port}"
    out.print(f"olga {__version__} serving on {base} (home {config.home})")
    out.print(f"  OpenAI SDK:    base_url={base}/v1")
    out.print(f"  Anthropic SDK: base_url={base}")
    try:
        web.run_app(
            create_app(config),
            host=config.host,
            port=config.port,
            access_log=None,
            print=None,
            shutdown_timeout=SHUTDOWN_TIMEOUT,
            handle_signals=True,
        )
    except OSError as exc:
        raise fail(f"cannot listen on {config.host}:{config.port} ({exc.strerror}); pick another --port") from None
