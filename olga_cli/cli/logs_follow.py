"""``olga logs --follow``: new requests as a stream, one line each, appended (like ``stripe logs tail``).

It says at once that it is ready and where requests are expected, then prints each request as it is
committed, whichever process (an ``olga serve`` in another terminal, or none yet) writes it: each poll
of the store reads only what was committed since the last one (by rowid). Nothing is redrawn, so no
row can scroll away or be cut. On a terminal the lines are coloured by status class; to a pipe they
are tab-separated under a header (the "ready" line goes to stderr); with --json, one JSON object each.
"""

from __future__ import annotations

import asyncio
import socket
import sys

from rich.console import Console

from olga_cli.cli.common import console, error_console, print_json_line
from olga_cli.cli.env import served_url
from olga_cli.cli.render.records import alert_text, follow_line, logs_listing
from olga_cli.cli.render.table import tsv_lines
from olga_cli.config import Config
from olga_cli.records import GenerationRecord
from olga_cli.store import reports
from olga_cli.store.base import Store

FOLLOW_INTERVAL = 0.25  # seconds between polls: a new record shows well within a second
FOLLOW_BATCH = 1000


def _listening(base: str) -> bool:
    """Whether something accepts connections at ``base`` (a 0.2 s look)."""
    host, _, port = base.split("//", 1)[1].rpartition(":")
    try:
        with socket.create_connection((host.strip("[]"), int(port)), timeout=0.2):
            return True
    except (OSError, ValueError):
        return False


def ready_line(config: Config) -> str:
    base = served_url(config)
    line = f"Ready, waiting for requests on {base} (Ctrl-C to quit)"
    if not _listening(base):
        line += f"\n(nothing listens there yet: start `olga serve` on port {config.port})"
    return line


class Printer:
    """Where each request goes: a coloured line, a tab-separated line, or a JSON line."""

    def __init__(self, *, json_out: bool) -> None:
        self.json_out = json_out
        self.out: Console = console()
        self.terminal = self.out.is_terminal and not json_out
        # Alerts and the ready line stay off stdout unless it is a person's terminal.
        self.notes: Console = self.out if self.terminal else error_console()

    def start(self, config: Config) -> None:
        self.notes.print(ready_line(config), style="bold green" if self.terminal else None, soft_wrap=True)
        if not self.terminal and not self.json_out:
            sys.stdout.write(tsv_lines(logs_listing([], wide=True))[0] + "\n")
        sys.stdout.flush()

    def request(self, record: GenerationRecord) -> None:
        if self.json_out:
            print_json_line(record.to_json())
        elif self.terminal:
            self.out.print(follow_line(record, width=self.out.width))  # folds at spaces, if at all
        else:
            sys.stdout.write(tsv_lines(logs_listing([record], wide=True))[1] + "\n")
        sys.stdout.flush()


async def print_alerts(
    db: Store, *, since: float | None = None, after_id: int = 0, printer: Console | None = None
) -> int:
    """Print usage-limit alerts after ``after_id``; returns the last id printed (or ``after_id``)."""
    alerts = await db.alerts.alerts_after(after_id=after_id, since=since)
    if alerts:
        names = await db.keys.scope_names()
        out = printer or console()
        for alert in alerts:
            out.print(alert_text(alert, names.get((alert.scope, alert.scope_id), alert.scope_id)))
        after_id = alerts[-1].id
    return after_id


async def follow_requests(
    db: Store, filters: reports.LogFilter, *, config: Config, backlog: bool, limit: int, json_out: bool
) -> None:
    printer = Printer(json_out=json_out)
    mark = await db.reports.high_water()
    alert_mark = await db.alerts.last_alert_id()
    printer.start(config)  # "ready" once the marks are taken: anything committed from now on shows
    if backlog:
        for _, record in await db.reports.latest(filters, limit=limit):
            printer.request(record)
    while True:
        top = await db.reports.high_water()
        if top < mark:  # the newest records were deleted: start again from what is there
            mark = top
        while mark < top:
            batch = await db.reports.after(filters, after_rowid=mark, up_to=top, limit=FOLLOW_BATCH)
            for _, record in batch:
                printer.request(record)
            mark = batch[-1][0] if len(batch) == FOLLOW_BATCH else top
        if not json_out:
            alert_mark = await print_alerts(db, after_id=alert_mark, printer=printer.notes)
        await asyncio.sleep(FOLLOW_INTERVAL)
