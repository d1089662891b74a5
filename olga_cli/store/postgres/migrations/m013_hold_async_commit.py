"""Migration 013: a hold commits without waiting for its WAL flush (``synchronous_commit`` off for the
hold's transaction alone), so that a request waits for one flush, its record's, not two.

What this changes, and only on a crash of the PostgreSQL server or its machine, or a failover to a
replica (an olga instance dying changes nothing: its holds are committed and its lease frees them):
a hold taken less than three ``wal_writer_delay`` (0.6 s by default) before such a crash, and not
yet flushed by a later commit (every batch of records flushes all that came before it), may be
missing after recovery. Its request still ends, and its record and charge commit as usual if the
store is back by then, but until then the other instances did not count its reservation: the key's
balance can end below zero by at most the worst cases of the requests admitted in that last moment
before the crash. A hold is visible to the other instances as soon as it commits, flushed or not,
and its key's lock is held until then, so nothing changes while the server runs. Records, charges
and top-ups still commit synchronously.
"""

from __future__ import annotations

from olga_cli.store.postgres.migrations.m010_shared_rates import TAKE_HOLD_RATES

# SET LOCAL lasts until the transaction ends (a pooled connection keeps nothing of it); set just
# before the hold is written, so a refusal (which writes nothing) is untouched.
_TAKEN = "    INSERT INTO holds (id, instance, key_id, team_id, at, credits, cost_pico, tokens, rate_tokens, labels)"
TAKE_HOLD_UNFLUSHED = TAKE_HOLD_RATES.replace(_TAKEN, "    SET LOCAL synchronous_commit = off;\n" + _TAKEN, 1)

SQL = "DROP FUNCTION olga_take_hold;" + TAKE_HOLD_UNFLUSHED
