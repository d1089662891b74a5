"""``olga serve``: run the gateway until Ctrl-C (or SIGTERM), then finish in-flight requests and flush.

Once listening it prints a banner (where it listens, which providers can be used, what to paste
into the SDKs, one curl line to try) and then one access-log line per request, as text or JSON lines,
from an observer the gateway calls with each committed record.
"""

from __future__ import annotations

import asyncio
import gc
import json
import logging
import os
import sys
from collections.abc import Callable, Mapping
from typing import IO, Annotated, Any

import typer
from rich.console import COLOR_SYSTEMS, Console, Group
from rich.markup import escape
from rich.style import Style
from rich.text import Text

from olga_cli import __version__, serving
from olga_cli.cli.common import console, env_of, fail
from olga_cli.cli.env import gateway_url
from olga_cli.cli.reach import Reach, probe_all, provider_status
from olga_cli.cli.render.records import access_json, access_line, row_style
from olga_cli.cli.render.table import fields_listing, table_of
from olga_cli.cli.workers import run_workers
from olga_cli.config import Config, load_config
from olga_cli.errors import UserError
from olga_cli.gateway.state import Observer
from olga_cli.records import GenerationRecord
from olga_cli.server.app import create_app
from olga_cli.server.runner import run_app

SHUTDOWN_TIMEOUT = 30.0
LOG_FORMATS = ("text", "json")


def curl_line(base: str) -> str:
    body = '{"model": "mock/echo", "messages": [{"role": "user", "content": "Hello, olga"}]}'
    return (
        f'curl {base}/v1/chat/completions -H "Authorization: Bearer $OLGA_KEY" '
        f"-H \"Content-Type: application/json\" -d '{body}'"
    )


def banner(
    config: Config,
    environ: dict[str, str],
    reach: Mapping[str, Reach] | None = None,
    *,
    width: int = 100,
) -> Group:
    head, rows = _banner_parts(config, environ, reach)
    grid = table_of(fields_listing([(label, Text.from_markup(value)) for label, value in rows]), width)
    # The curl line is printed apart, unwrapped, so it can be copied whole.
    return Group(head, grid, Text("try it:", style="bold"))


def banner_lines(config: Config, environ: dict[str, str], reach: Mapping[str, Reach] | None = None) -> str:
    """The banner off a terminal (a log file, a pipe): whole lines, a tab between label and value,
    never folded nor padded to a width nothing has."""
    head, rows = _banner_parts(config, environ, reach)
    lines = [head.plain, *(f"{label}\t{Text.from_markup(value).plain}" for label, value in rows), "try it:"]
    return "\n".join(lines) + "\n"


def _banner_parts(
    config: Config, environ: dict[str, str], reach: Mapping[str, Reach] | None
) -> tuple[Text, list[tuple[str, str]]]:
    """The banner's first line, and its (label, value in Rich markup) rows."""
    base = gateway_url(config)
    head = Text.assemble(
        ("olga ", "bold"),
        (__version__, "bold"),
        "  listening on ",
        (base, "bold cyan"),
        "  home ",
        (str(config.home), "dim"),
    )
    parts = []
    for provider in config.providers.values():
        status, hint = provider_status(provider, environ)
        if status == "ready" and reach is not None and reach.get(provider.name) == "unreachable":
            status, hint = "unreachable", f"nothing answers at {provider.base_url}"
        colour = {"ready": "green", "paused": "yellow"}.get(status, "red")
        mark = "✓" if status == "ready" else "✗"
        parts.append(
            f"[{colour}]{mark} {escape(provider.name)}[/]"
            + (f" [dim]({status}: {escape(hint)})[/dim]" if hint else "")
        )
    rows = [
        ("providers", "  ".join(parts) or "[red]none[/red]"),
        ("OpenAI SDK", escape(f'OpenAI(base_url="{base}/v1", api_key=OLGA_KEY)')),
        ("Anthropic SDK", escape(f'Anthropic(base_url="{base}", api_key=OLGA_KEY)')),
        (
            "a key",
            "olga keys create --name laptop   [dim]or run a program with one: olga run -- COMMAND[/dim]",
        ),
        ("watch", "olga logs --follow   [dim]Ctrl-C stops the server[/dim]"),
    ]
    return head, rows


def access_logger(log_format: str, stream: IO[str] | None = None) -> Observer:
    """An observer printing one line per committed record: text (coloured on a terminal) or JSON."""
    if log_format == "json":
        out = stream or sys.stdout
        flush = flusher(out)

        def write_json(record: GenerationRecord) -> None:
            out.write(json.dumps(access_json(record)) + "\n")
            flush()

        return write_json
    text_console = Console(file=stream, highlight=False) if stream is not None else console()
    out_text = text_console.file
    flush_text = flusher(out_text)
    colours = COLOR_SYSTEMS.get(text_console.color_system or "")  # None when not a terminal

    def write_text(record: GenerationRecord) -> None:
        # What Console.print(Text(line, style=...), soft_wrap=True) writes, without its ~100 µs a line:
        # the line has one style, so it is rendered directly (Style caches its escape codes).
        line = access_line(record)
        if not line.isprintable():  # a model name from a request body could carry terminal escapes
            line = printable(line)
        style = row_style(record)
        if style and colours is not None:
            line = Style.parse(style).render(line, color_system=colours)
        out_text.write(line + "\n")
        flush_text()

    return write_text


def printable(text: str) -> str:
    """Control characters shown as their escapes (``\\x1b``), so no line can drive the terminal."""
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)


def flusher(out: IO[str]) -> Callable[[], None]:
    """Flush ``out`` once per turn of the event loop rather than once per line: under load the lines
    of every request finished in the same turn share one write, and each still shows at once."""
    pending = False

    def flush_now() -> None:
        nonlocal pending
        pending = False
        out.flush()

    def flush() -> None:
        nonlocal pending
        if pending:
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            out.flush()  # outside the server: nothing to wait for
            return
        pending = True
        loop.call_soon(flush_now)

    return flush


def settle_heap() -> None:
    """Once started, exempt what start-up built (modules, catalog, keys: some 60,000 objects) from the
    cyclic garbage collector. Its full collections then scan only what requests leave behind: they
    paused the server for about 25 ms each, a few times a minute under load, and now take about 5.

    Requests free almost everything they make by reference counting, so the collector's default
    pace (a young collection every 700 net allocations) mostly scans objects about to go anyway:
    2.9 % of the server's CPU under load went to collections, 0.2 % at this pace (bench/README.md)."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(20_000, 20, 20)


def serve(
    ctx: typer.Context,
    host: Annotated[str | None, typer.Option("--host", help="Address to bind (default 127.0.0.1).")] = None,
    port: Annotated[int | None, typer.Option("--port", help="Port (default 8000).")] = None,
    quiet: Annotated[
        bool, typer.Option("--quiet", "-q", help="No access log, only the banner and errors.")
    ] = False,
    log_format: Annotated[
        str, typer.Option("--log-format", help="Access log as text or json (JSON lines).")
    ] = "text",
    database_url: Annotated[
        str | None,
        typer.Option("--database-url", help="Team mode: a postgresql:// store shared by every instance."),
    ] = None,
    redis_url: Annotated[
        str | None,
        typer.Option("--redis-url", help="Team mode: Redis for rate limits, key rests and breakers."),
    ] = None,
    workers: Annotated[
        int, typer.Option("--workers", help="Team mode: N processes on one port (SO_REUSEPORT).")
    ] = 1,
    reuse_port: Annotated[bool, typer.Option("--reuse-port", hidden=True)] = False,
) -> None:
    """Start the gateway on 127.0.0.1:8000, with an access log line per request.

    Example: olga serve --port 8080 --log-format json
    """
    if log_format not in LOG_FORMATS:
        raise fail(f"--log-format takes one of {', '.join(LOG_FORMATS)}")
    env = env_of(ctx)
    try:
        config = load_config(
            env.home,
            host=host,
            port=port,
            database_url=database_url or env.database_url,
            redis_url=redis_url or env.redis_url,
        )
    except UserError as exc:
        raise fail(exc.message) from None
    if config.redis_url is not None and config.database_url is None:
        raise fail(
            "--redis-url needs team mode: Redis keeps hot state beside a shared PostgreSQL store; "
            "add --database-url postgresql://... (or leave Redis out)"
        )
    if workers < 1:
        raise fail("--workers takes a whole number of processes, 1 or more")
    if workers > 1:
        if config.database_url is None:
            raise fail(
                "--workers needs team mode: on SQLite each process would only know its own requests, so "
                "credits and limits could be overspent; add --database-url postgresql://... "
                "(or run one process)"
            )
        raise typer.Exit(run_workers(workers, config, quiet=quiet, log_format=log_format))
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    out = console()
    observers = [] if quiet else [access_logger(log_format)]

    def announce(*_: Any, **__: Any) -> None:
        # aiohttp calls this once the port is bound, so a busy port never shows a banner.
        environ = dict(os.environ)
        reach = probe_all(config.providers.values(), environ, timeout=1.0)
        if out.is_terminal:
            out.print(banner(config, environ, reach, width=out.width))
        else:
            out.file.write(banner_lines(config, environ, reach))
        out.print(curl_line(gateway_url(config)), soft_wrap=True, markup=False)
        serving.announce(config.home, gateway_url(config))
        out.file.flush()
        settle_heap()

    try:
        run_app(
            create_app(config, observers=observers),
            host=config.host,
            port=config.port,
            access_log=None,
            print=announce,
            shutdown_timeout=SHUTDOWN_TIMEOUT,
            handle_signals=True,
            reuse_port=reuse_port,
        )
    except UserError as exc:  # e.g. tracing over gRPC without grpcio installed
        raise fail(exc.message) from None
    except OSError as exc:
        raise fail(
            f"cannot listen on {config.host}:{config.port} ({exc.strerror}); pick another --port"
        ) from None
    finally:
        serving.withdraw(config.home)
