"""Migration 010: team mode's rate limits counted in Redis when there is one (``store/redis/rates.py``):
``olga_take_hold`` learns how the request's rate limits were checked, and ``rate_fallback`` is how
long every instance checks them here too after Redis missed some."""

from __future__ import annotations

# 010: with Redis, the rate limits (--rpm, --tpm) are counted there (``store/redis/rates.py``), and
# ``p_rate_mode`` says how this request's were checked: 'redis' (done: skip them here), 'pg' (count
# them here: no Redis, or Redis still warming up its minute) or 'lost' (Redis did not answer: count
# them here, and raise ``rate_fallback`` so that for the next minute every instance counts them here
# too, Redis or not: what was admitted meanwhile is in this database's holds and admissions, not in
# Redis's minute, so only this database sees all of it).
TAKE_HOLD_RATES = """
CREATE FUNCTION olga_take_hold(
    p_id TEXT, p_instance TEXT, p_key TEXT, p_team TEXT, p_at DOUBLE PRECISION,
    p_capped BOOLEAN, p_credits BIGINT, p_cost BIGINT, p_tokens BIGINT, p_rate_tokens BIGINT,
    p_rpm BIGINT, p_tpm BIGINT,
    p_limit_ids BIGINT[], p_scopes TEXT[], p_scope_ids TEXT[], p_metrics TEXT[],
    p_first_days BIGINT[], p_thresholds BIGINT[], p_labels TEXT[], p_rate_mode TEXT
) RETURNS TEXT LANGUAGE plpgsql AS $$
DECLARE
    balance BIGINT;
    minute_requests BIGINT;
    minute_tokens BIGINT;
    used BIGINT;
    held BIGINT;
BEGIN
    PERFORM pg_advisory_xact_lock(hashtext('olga-key:' || current_schema() || p_key));
    IF p_team IS NOT NULL THEN
        PERFORM pg_advisory_xact_lock(hashtext('olga-team:' || current_schema() || p_team));
    END IF;
    FOR i IN 1 .. COALESCE(array_length(p_labels, 1), 0) LOOP
        PERFORM pg_advisory_xact_lock(hashtext('olga-scope:' || current_schema() || p_labels[i]));
    END LOOP;
    IF p_capped THEN
        SELECT credits - spent - reserved INTO balance FROM balances WHERE key_id = p_key;
        IF COALESCE(balance, 0) < p_credits THEN
            RETURN 'credits:' || COALESCE(balance, 0);
        END IF;
    END IF;
    IF p_rpm IS NOT NULL OR p_tpm IS NOT NULL THEN
        IF p_rate_mode = 'lost' THEN
            -- written at most every ten seconds, not by every request of an outage
            UPDATE rate_fallback SET until = p_at + 60 WHERE until < p_at + 50;
        END IF;
        IF p_rate_mode <> 'redis' OR EXISTS (SELECT 1 FROM rate_fallback WHERE until > p_at) THEN
            SELECT COUNT(*), COALESCE(SUM(n), 0) INTO minute_requests, minute_tokens FROM (
                SELECT tokens AS n FROM admissions WHERE key_id = p_key AND at > p_at - 60
                UNION ALL
                SELECT rate_tokens FROM holds WHERE key_id = p_key AND at > p_at - 60
            ) AS minute;
            IF p_rpm IS NOT NULL AND minute_requests >= p_rpm THEN
                RETURN 'rpm';
            END IF;
            IF p_tpm IS NOT NULL AND minute_tokens >= p_tpm THEN
                RETURN 'tpm';
            END IF;
        END IF;
    END IF;
    FOR i IN 1 .. COALESCE(array_length(p_limit_ids, 1), 0) LOOP
        SELECT (SELECT COALESCE(SUM(CASE p_metrics[i] WHEN 'cost' THEN cost_pico WHEN 'requests' THEN requests
                                                      ELSE tokens END), 0)
                  FROM usage_daily
                 WHERE scope = p_scopes[i] AND scope_id = p_scope_ids[i] AND day >= p_first_days[i]),
               (SELECT COALESCE(SUM(CASE p_metrics[i] WHEN 'cost' THEN cost_pico WHEN 'requests' THEN 1
                                                      ELSE tokens END), 0)
                  FROM holds
                 WHERE (p_scopes[i] = 'key' AND key_id = p_scope_ids[i])
                    OR (p_scopes[i] = 'team' AND team_id = p_scope_ids[i])
                    OR (p_scopes[i] || ':' || p_scope_ids[i]) = ANY(labels)) INTO used, held;
        IF used + held >= p_thresholds[i] THEN
            RETURN 'limit:' || p_limit_ids[i];
        END IF;
    END LOOP;
    IF p_capped THEN
        UPDATE balances SET reserved = reserved + p_credits WHERE key_id = p_key;
    END IF;
    INSERT INTO holds (id, instance, key_id, team_id, at, credits, cost_pico, tokens, rate_tokens, labels)
    VALUES (p_id, p_instance, p_key, p_team, p_at, CASE WHEN p_capped THEN p_credits ELSE 0 END,
            p_cost, p_tokens, p_rate_tokens, p_labels);
    RETURN NULL;
END;
$$
"""

SQL = (
    "CREATE TABLE rate_fallback (id INTEGER PRIMARY KEY CHECK (id = 1), until DOUBLE PRECISION NOT NULL);"
    " INSERT INTO rate_fallback VALUES (1, 0); DROP FUNCTION olga_take_hold;" + TAKE_HOLD_RATES
)
