"""Migration 012: a batch of records written in one round trip (``olga_write_batch``).

The batch writer used to send seven statements per batch (BEGIN with the batch lock, the records,
the charges, the hourly and label roll-ups, the admissions with their daily usage, the holds' end,
COMMIT), each a round trip a response waited for. This function does the same in one call, in one
implicit transaction: the batch lock first (``BATCH_LOCK`` of ``connection.py``), so that ``seq``
still grows in commit order. Rows come as JSON arrays of objects named by their columns; what the
batch adds to a row (an hour's sums, a day's usage, a key's spend) is summed by the caller, so that
no statement touches a row twice. Keys' balances are updated in key order, as every writer of them does.
"""

from __future__ import annotations

_GENERATION_COLUMNS = """id, created_at, key_id, key_name, team_id, app, endpoint, model_requested, model,
        provider, upstream_id, streamed, status, error, finish_reason, tokens_prompt, tokens_completion,
        tokens_cached, tokens_cache_write, tokens_reasoning, cache_saved_pico, catalog_version,
        usage_estimated, cost_pico, latency_ms, ttft_ms, overhead_ms, request_id, session_id, dropped,
        attempts, guardrails, request_body, response_body, tags, end_user, flags"""

SQL = f"""
CREATE FUNCTION olga_write_batch(
    p_records JSONB, p_hourly JSONB, p_labels JSONB, p_admissions JSONB, p_daily JSONB,
    p_holds TEXT[], p_prune_before DOUBLE PRECISION
) RETURNS VOID LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_advisory_xact_lock(hashtext(current_schema()), 23724034);  -- BATCH_LOCK, 0x016A0002
    WITH written AS (
        INSERT INTO generations ({_GENERATION_COLUMNS})
        SELECT {_GENERATION_COLUMNS}
          FROM jsonb_populate_recordset(NULL::generations, p_records)
        RETURNING id, key_id, cost_pico, created_at
    )
    INSERT INTO ledger (key_id, generation_id, amount_pico, created_at)
    SELECT key_id, id, cost_pico, created_at FROM written WHERE cost_pico <> 0 ORDER BY key_id, id;
    -- Each key's spend grows by its charges and its reservations shrink by the holds ended: one
    -- row, one update, in key order. A hold holding credits implies the key's row exists.
    WITH ended AS (DELETE FROM holds WHERE id = ANY(p_holds) RETURNING key_id, credits),
         moves AS (
             SELECT key_id, SUM(spent) AS spent, SUM(freed) AS freed FROM (
                 SELECT r.key_id, r.cost_pico AS spent, 0::BIGINT AS freed
                   FROM jsonb_to_recordset(p_records) AS r (key_id TEXT, cost_pico BIGINT)
                 UNION ALL
                 SELECT key_id, 0, credits FROM ended
             ) AS m GROUP BY key_id
         )
    INSERT INTO balances AS b (key_id, spent)
    SELECT key_id, spent FROM moves WHERE spent <> 0 OR freed <> 0 ORDER BY key_id
    ON CONFLICT (key_id) DO UPDATE SET
        spent = b.spent + excluded.spent,
        reserved = b.reserved - (SELECT freed FROM moves WHERE moves.key_id = excluded.key_id);
    INSERT INTO usage_hourly AS u (hour, key_id, team_id, model, provider, app, requests, errors,
                                   tokens_prompt, tokens_completion, tokens_cached, cost_pico,
                                   latency_ms, cache_saved_pico)
    SELECT hour, key_id, team_id, model, provider, app, requests, errors, tokens_prompt,
           tokens_completion, tokens_cached, cost_pico, latency_ms, cache_saved_pico
      FROM jsonb_populate_recordset(NULL::usage_hourly, p_hourly)
    ON CONFLICT (hour, key_id, team_id, model, provider, app) DO UPDATE SET
        requests = u.requests + excluded.requests,
        errors = u.errors + excluded.errors,
        tokens_prompt = u.tokens_prompt + excluded.tokens_prompt,
        tokens_completion = u.tokens_completion + excluded.tokens_completion,
        tokens_cached = u.tokens_cached + excluded.tokens_cached,
        cost_pico = u.cost_pico + excluded.cost_pico,
        latency_ms = u.latency_ms + excluded.latency_ms,
        cache_saved_pico = u.cache_saved_pico + excluded.cache_saved_pico;
    INSERT INTO usage_labels_hourly AS u (hour, kind, label, requests, errors, tokens_prompt,
                                          tokens_completion, tokens_cached, cost_pico, latency_ms)
    SELECT hour, kind, label, requests, errors, tokens_prompt, tokens_completion, tokens_cached,
           cost_pico, latency_ms
      FROM jsonb_populate_recordset(NULL::usage_labels_hourly, p_labels)
    ON CONFLICT (hour, kind, label) DO UPDATE SET
        requests = u.requests + excluded.requests,
        errors = u.errors + excluded.errors,
        tokens_prompt = u.tokens_prompt + excluded.tokens_prompt,
        tokens_completion = u.tokens_completion + excluded.tokens_completion,
        tokens_cached = u.tokens_cached + excluded.tokens_cached,
        cost_pico = u.cost_pico + excluded.cost_pico,
        latency_ms = u.latency_ms + excluded.latency_ms;
    INSERT INTO admissions (generation_id, key_id, team_id, at, cost_pico, tokens, tags, end_user)
    SELECT generation_id, key_id, team_id, at, cost_pico, tokens, tags, end_user
      FROM jsonb_populate_recordset(NULL::admissions, p_admissions);
    INSERT INTO usage_daily AS d (scope, scope_id, day, cost_pico, requests, tokens)
    SELECT scope, scope_id, day, cost_pico, requests, tokens
      FROM jsonb_populate_recordset(NULL::usage_daily, p_daily) ORDER BY scope, scope_id, day
    ON CONFLICT (scope, scope_id, day) DO UPDATE SET
        cost_pico = d.cost_pico + excluded.cost_pico,
        requests = d.requests + excluded.requests,
        tokens = d.tokens + excluded.tokens;
    IF p_prune_before IS NOT NULL THEN
        DELETE FROM admissions WHERE at < p_prune_before;
    END IF;
END;
$$
"""
