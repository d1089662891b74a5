"""Generation records and their charges in SQLite, written together in batches (one transaction per batch)."""

from __future__ import annotations

import asyncio
import logging
import sqlite3
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import aiosqlite

from olga_cli import jsonwire
from olga_cli.records import GenerationRecord
from olga_cli.store.body_parts import SharedParts
from olga_cli.store.generations import (
    RECORD_COLUMNS,
    Extra,
    ExtraKind,
    prefix_bounds,
    record_from_row,
    record_values,
)
from olga_cli.store.sqlite.connection import transaction, transaction_on_thread
from olga_cli.store.sqlite.rollups import Statements, rollup_statements

log = logging.getLogger("olga.store")

# A record's columns, then the part its request body shares (``store/body_parts.py``), if any.
_COLUMNS = (*RECORD_COLUMNS, "request_part", "request_part_at")
_INSERT = f"INSERT INTO generations ({', '.join(_COLUMNS)}) VALUES ({', '.join('?' * len(_COLUMNS))})"
_BODY = RECORD_COLUMNS.index("request_body")
_INSERT_PART = "INSERT OR IGNORE INTO body_parts (hash, text, created_at) VALUES (?, ?, ?)"
# The request body as sent: the stored rest with its part put back (SQLite counts characters, as
# Python does). The one expression every read of a record's body goes through.
BODY_SQL = (
    "CASE WHEN request_part IS NULL THEN request_body ELSE substr(request_body, 1, request_part_at)"
    " || (SELECT text FROM body_parts WHERE hash = request_part) || substr(request_body, request_part_at + 1) END"
)
# What ``record_from_row`` reads, for ``SELECT {RECORD_SELECT} FROM generations``.
RECORD_SELECT = ", ".join(f"{BODY_SQL} AS request_body" if c == "request_body" else c for c in RECORD_COLUMNS)
_INSERT_CHARGE = "INSERT INTO ledger (key_id, generation_id, amount_pico, created_at) VALUES (?, ?, ?, ?)"


# The statement each kind of extra row runs; its params come in this statement's order.
EXTRA_SQL: dict[ExtraKind, str] = {
    "admission": "INSERT INTO admissions (generation_id, key_id, team_id, at, cost_pico, tokens, tags, end_user)"
    " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
    "admissions_prune": "DELETE FROM admissions WHERE at < ?",
    # Raising an alert is idempotent: UNIQUE (limit_id, period_day, percent).
    "alert": "INSERT OR IGNORE INTO limit_alerts (limit_id, scope, scope_id, metric, time_window, period_day,"
    " percent, threshold, usage, generation_id, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
    "violation": "INSERT INTO guardrail_violations (generation_id, key_id, guardrail_id, guardrail_name, type,"
    " stage, entity, action, field, start_offset, end_offset, confidence, created_at)"
    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
    "response_item": "INSERT OR IGNORE INTO response_items (id, item, created_at) VALUES (?, ?, ?)",
    # A mark older than the one stored (or than the provider's reset) must not overwrite it.
    "health_mark": """
INSERT INTO provider_health (provider, key_label, fingerprint, state, status, reason, until, updated_at, strikes)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
ON CONFLICT (provider, key_label) DO UPDATE SET
    fingerprint = excluded.fingerprint, state = excluded.state, status = excluded.status,
    reason = excluded.reason, until = excluded.until, updated_at = excluded.updated_at,
    strikes = excluded.strikes
WHERE excluded.updated_at >= provider_health.updated_at
""",
}


def _pages_of(statements: Statements) -> int:
    """About how many pages a batch writes to the log (measured: 15 for one record, 20 for four, as
    the indexes and roll-ups share pages), plus the bodies' own."""
    records, text = 0, 0
    for sql, params in statements:
        if sql == _INSERT:
            records += len(params)
            text += sum(len(row[_BODY] or "") + len(row[_BODY + 1] or "") for row in params)
        elif sql == _INSERT_PART:
            text += sum(len(part[1]) for part in params)
    return 14 + 2 * records + text // _PAGE


async def write_batch(
    db: aiosqlite.Connection,
    records: Sequence[GenerationRecord],
    extras: Sequence[Extra] = (),
    parts: SharedParts | None = None,
) -> Statements:
    """Records, their ledger charges and any extra statements, all or nothing.

    Every call into aiosqlite is a round trip to its thread (a future, a wake-up of the event loop),
    dearer than the inserts it carries. So rows go in with one ``executemany`` per table, each run of
    extras sharing a statement (one admission per record, say) with one more, in the order given;
    and the whole transaction is one call on the connection's thread, which also keeps any other use
    of the connection from landing inside it. With ``parts``, request bodies are stored without the
    text they share with their key's earlier bodies (``store/body_parts.py``). Returns what it ran.
    """
    statements: Statements = []
    if records:
        statements += _record_rows(records, parts)
    charges = [(r.key_id, r.id, r.cost_pico, r.created_at) for r in records if r.cost_pico]
    if charges:
        statements.append((_INSERT_CHARGE, charges))
    statements += _runs(extras)
    # The roll-ups' sums, in the same transaction (migration 020 dropped the triggers that kept them).
    statements += rollup_statements(records, [e.params for e in extras if e.kind == "admission"])
    run_on_thread = getattr(db, "_execute", None)  # aiosqlite's own "call this on my thread"
    if run_on_thread is None or not hasattr(db, "_conn"):
        await _write_stepwise(db, statements)  # an aiosqlite without it: the same, one call a statement
        return statements
    await run_on_thread(_write_on_thread, db._conn, statements)
    return statements


def _record_rows(records: Sequence[GenerationRecord], parts: SharedParts | None) -> Statements:
    """The records' rows, preceded by the parts they share (``INSERT OR IGNORE``: each row names
    its part, and the part is written with it even when known, so that pruning between two batches
    can never leave a record pointing at a part that is gone)."""
    rows, shared = [], {}
    for record in records:
        body = record.request_body if record.request_raw is None else record.request_raw
        split = parts.split(record.key_id, body) if parts and body else None
        if split is None:
            rows.append((*record_values(record), None, None))
            continue
        shared[split.part.hash] = (split.part.hash, split.part.text, record.created_at)
        rows.append((*record_values(record, request_body=split.rest), split.part.hash, split.at))
    if shared:
        return [(_INSERT_PART, list(shared.values())), (_INSERT, rows)]
    return [(_INSERT, rows)]


def _write_on_thread(conn: sqlite3.Connection, statements: Statements) -> None:
    with transaction_on_thread(conn):
        for sql, params in statements:
            if len(params) == 1:
                conn.execute(sql, params[0])
            else:
                conn.executemany(sql, params)


async def _write_stepwise(db: aiosqlite.Connection, statements: Statements) -> None:
    async with transaction(db):
        for sql, params in statements:
            if len(params) == 1:
                await db.execute(sql, params[0])
            else:
                await db.executemany(sql, params)


def _runs(extras: Sequence[Extra]) -> Statements:
    """Consecutive extras with the same statement, grouped: the order of execution is unchanged."""
    runs: Statements = []
    for extra in extras:
        sql = EXTRA_SQL[extra.kind]
        if runs and runs[-1][0] == sql:
            runs[-1][1].append(extra.params)
        else:
            runs.append((sql, [extra.params]))
    return runs


async def get_generation(
    db: aiosqlite.Connection, ref: str, *, key_id: str | None = None
) -> GenerationRecord | None:
    """By olga id or by the provider's response id; limited to one key's records when ``key_id`` is set."""
    for column in ("id", "upstream_id"):
        sql = f"SELECT {RECORD_SELECT} FROM generations WHERE {column} = ?"
        params: tuple[Any, ...] = (ref,)
        if key_id is not None:
            sql += " AND key_id = ?"
            params += (key_id,)
        async with db.execute(sql + " ORDER BY created_at DESC LIMIT 1", params) as cursor:
            row = await cursor.fetchone()
        if row is not None:
            return record_from_row(row)
    return None


async def recent_generations(
    db: aiosqlite.Connection,
    *,
    limit: int = 50,
    key_id: str | None = None,
    model: str | None = None,
    status: int | None = None,
    since: float | None = None,
    after_rowid: int | None = None,
) -> list[tuple[int, GenerationRecord]]:
    """Newest ``limit`` records matching the filters, oldest first, each with its rowid (for --follow)."""
    where, params = [], []
    for clause, value in (
        ("key_id = ?", key_id),
        ("(model = ? OR model_requested = ?)", model),
        ("status = ?", status),
        ("created_at >= ?", since),
        ("rowid > ?", after_rowid),
    ):
        if value is not None:
            where.append(clause)
            params.extend([value] * clause.count("?"))
    sql = f"SELECT rowid AS _rowid, {RECORD_SELECT} FROM generations"
    if where:
        sql += " WHERE " + " AND ".join(where)
    sql += " ORDER BY rowid DESC LIMIT ?"
    async with db.execute(sql, (*params, limit)) as cursor:
        rows = [(row["_rowid"], record_from_row(row)) async for row in cursor]
    rows.reverse()
    return rows


# The write-ahead log is copied into the database (a checkpoint: a few MB written and synced, 4 ms and
# more) once about this many pages were written to it, SQLite's own default. SQLite would do it inside
# the commit that crosses the mark, making that batch's requests wait; the server's connection leaves
# it to ``tidy``, which hands it to a connection and thread of its own: in WAL mode a checkpoint runs
# beside the writer, so no batch waits for it (at concurrency 1, one request in 60 did, 5 ms each).
CHECKPOINT_PAGES = 1000
_PAGE = 4096


class SqliteRecords:
    def __init__(self, db: aiosqlite.Connection, path: Path | None = None) -> None:
        self._db = db
        self._path = path
        self._log_pages: int | None = None  # pages written since the last checkpoint, once tidy owns it
        self._checkpoints: Checkpointer | None = None
        self._parts = SharedParts()

    async def write_batch(self, records: Sequence[GenerationRecord], extras: Sequence[Extra] = ()) -> None:
        statements = await write_batch(self._db, records, extras, self._parts)
        if self._log_pages is not None:
            self._log_pages += _pages_of(statements)

    async def tidy(self) -> None:
        if self._log_pages is None:  # the first call: from now on checkpoints wait for tidy
            await self._pragma("wal_autocheckpoint=0")
            self._log_pages = 0
            if self._path is not None:
                self._checkpoints = Checkpointer(self._path)
        elif self._log_pages >= CHECKPOINT_PAGES:
            if self._checkpoints is None:  # no file to open a second connection on: on this one
                self._log_pages = 0
                await self._pragma("wal_checkpoint(PASSIVE)")
            elif self._checkpoints.start():
                self._log_pages = 0

    async def close(self) -> None:
        if self._checkpoints is not None:
            await self._checkpoints.close()

    async def _pragma(self, pragma: str) -> None:
        # Both answer a row: read and closed, else the statement stays open and the next COMMIT fails.
        async with self._db.execute(f"PRAGMA {pragma}") as cursor:
            await cursor.fetchall()

    async def get_generation(self, ref: str, *, key_id: str | None = None) -> GenerationRecord | None:
        return await get_generation(self._db, ref, key_id=key_id)

    async def response_items(self, ids: Sequence[str]) -> list[dict[str, Any]]:
        sql = f"SELECT item FROM response_items WHERE id IN ({', '.join('?' * len(ids))})"
        async with self._db.execute(sql, tuple(ids)) as cursor:
            return [jsonwire.loads(row[0]) async for row in cursor]

    async def ids_starting(self, prefix: str, *, limit: int = 3) -> list[str]:
        low, high = prefix_bounds(prefix)
        sql = "SELECT id FROM generations WHERE id >= ? AND id < ? ORDER BY id LIMIT ?"
        async with self._db.execute(sql, (low, high, limit)) as cursor:
            return [row[0] for row in await cursor.fetchall()]

    async def recent_generations(
        self,
        *,
        limit: int = 50,
        key_id: str | None = None,
        model: str | None = None,
        status: int | None = None,
        since: float | None = None,
        after_rowid: int | None = None,
    ) -> list[tuple[int, GenerationRecord]]:
        return await recent_generations(
            self._db,
            limit=limit,
            key_id=key_id,
            model=model,
            status=status,
            since=since,
            after_rowid=after_rowid,
        )


class Checkpointer:
    """PASSIVE checkpoints of one database file, on a connection of their own in a worker thread.

    PASSIVE copies what it can without waiting for readers (the CLI) or blocking the writer; what it
    could not copy goes at the next one. One runs at a time; the connection opens with the first.
    """

    def __init__(self, path: Path) -> None:
        self._path = path
        self._conn: sqlite3.Connection | None = None
        self._running: asyncio.Task[None] | None = None

    def start(self) -> bool:
        """Begin a checkpoint unless one is still running; True if one began."""
        if self._running is not None and not self._running.done():
            return False
        self._running = asyncio.create_task(self._run(), name="olga-checkpoint")
        return True

    async def _run(self) -> None:
        try:
            await asyncio.to_thread(self._checkpoint)
        except sqlite3.Error as exc:  # tried again at the next mark; the log only grows meanwhile
            log.warning("checkpoint of %s failed: %s", self._path, exc)

    def _checkpoint(self) -> None:
        if self._conn is None:
            # Never written through: a checkpoint writes only pages already committed by the writer.
            self._conn = sqlite3.connect(self._path, isolation_level=None, check_same_thread=False)
            self._conn.execute("PRAGMA busy_timeout=5000")
        self._conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()

    async def close(self) -> None:
        if self._running is not None:
            await asyncio.gather(self._running, return_exceptions=True)
        if self._conn is not None:
            self._conn.close()
            self._conn = None
