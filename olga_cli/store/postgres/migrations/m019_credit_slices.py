"""Migration 019: credit slices, so that a key with money to spare is admitted without a round trip.

Every admitted request used to take a hold (``olga_take_hold``) before its upstream call: a round trip
to PostgreSQL on the request's path, and, with several instances, a wait on the key's advisory lock
and its ``balances`` row. A key whose balance covers far more than the requests in flight does not
need that exactness per request. An instance now takes a **slice** of such a key's balance (the worst
case of 16 requests, say) in one round trip and admits the next requests against it in memory; each
record's batch draws what its request cost from the slice, in the same transaction as its charge.

- ``credit_slices`` holds what each slice still reserves; ``balances.reserved`` counts it, so every
  hold and every other slice sees that money as taken, and nothing is spent twice.
- ``olga_take_slice`` grants one only when the key's free balance, after it, still covers ``p_floor``
  (the caller asks for four more such slices): a key near its end is never sliced, and is admitted
  hold by hold as before, exactly. So is a key with usage limits or rate limits.
- ``olga_write_batch`` takes ``p_slices``, each slice's draw summed by the caller, and lowers the
  slice and the key's ``reserved`` by it. A slice already returned or swept draws nothing: its whole
  remainder went back then, this draw with it.
- A slice goes back (its remainder off ``reserved``) when its instance is done with it, at shutdown,
  or, if the instance dies, with its holds when its lease runs out.

Taking a slice commits unflushed, as a hold does since migration 013, for the same reason.
"""

from __future__ import annotations

from olga_cli.store.postgres.migrations.m017_saturating_rollups import SQL as SATURATING

_TABLE = """
CREATE TABLE credit_slices (
    id TEXT PRIMARY KEY,
    instance TEXT NOT NULL,
    key_id TEXT NOT NULL,
    credits BIGINT NOT NULL,
    taken_at DOUBLE PRECISION NOT NULL
);
CREATE INDEX credit_slices_instance ON credit_slices(instance);
"""

# Under the key's advisory lock, as olga_take_hold: the two never decide on the same balance at once.
_TAKE_SLICE = """
CREATE FUNCTION olga_take_slice(
    p_id TEXT, p_instance TEXT, p_key TEXT, p_at DOUBLE PRECISION, p_credits BIGINT, p_floor BIGINT
) RETURNS BOOLEAN LANGUAGE plpgsql AS $$
DECLARE
    balance BIGINT;
BEGIN
    PERFORM pg_advisory_xact_lock(hashtext('olga-key:' || current_schema() || p_key));
    SELECT credits - spent - reserved INTO balance FROM balances WHERE key_id = p_key;
    IF COALESCE(balance, 0) - p_credits < p_floor THEN
        RETURN FALSE;
    END IF;
    SET LOCAL synchronous_commit = off;
    UPDATE balances SET reserved = reserved + p_credits WHERE key_id = p_key;
    INSERT INTO credit_slices (id, instance, key_id, credits, taken_at)
    VALUES (p_id, p_instance, p_key, p_credits, p_at);
    RETURN TRUE;
END;
$$;
"""

_SIGNATURE = "    p_holds TEXT[], p_prune_before DOUBLE PRECISION\n"
_ENDED = "    WITH ended AS (DELETE FROM holds WHERE id = ANY(p_holds) RETURNING key_id, credits),\n"
_FREED = "                 SELECT key_id, 0, credits FROM ended\n"


def _drawing(sql: str) -> str:
    for text in (_SIGNATURE, _ENDED, _FREED):
        if text not in sql:  # 012's to 017's texts never change: a slip here
            raise AssertionError(
                f"migration 019 no longer finds {text.strip()!r} in migration 017's function"
            )
    sql = sql.replace(_SIGNATURE, "    p_holds TEXT[], p_prune_before DOUBLE PRECISION, p_slices JSONB\n", 1)
    sql = sql.replace(
        _ENDED,
        _ENDED
        + "         drawn AS (UPDATE credit_slices AS s SET credits = s.credits - d.credits\n"
        + "                     FROM jsonb_to_recordset(p_slices) AS d (id TEXT, credits BIGINT)\n"
        + "                    WHERE s.id = d.id RETURNING s.key_id, d.credits),\n",
        1,
    )
    sql = sql.replace(
        _FREED,
        _FREED + "                 UNION ALL\n                 SELECT key_id, 0, credits FROM drawn\n",
        1,
    )
    return sql.replace("CREATE OR REPLACE FUNCTION olga_write_batch(", "CREATE FUNCTION olga_write_batch(", 1)


SQL = _TABLE + _TAKE_SLICE + "DROP FUNCTION olga_write_batch;" + _drawing(SATURATING)
