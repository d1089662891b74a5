"""The PL/pgSQL functions of team mode's admission, as each migration created them (kept as shipped)."""

from __future__ import annotations

# Admission in one round trip and one atomic step: under the key's (then the team's) advisory lock,
# the rate limits, the usage limits and the balance are checked against every instance's holds and
# settled usage, and the hold is taken. NULL when admitted, else why not ('credits:BALANCE',
# 'limit:ID', 'rpm', 'tpm'). Same rules as the in-memory admission: a limit refuses once what is used
# and held reaches it, so concurrent requests overshoot it by at most one hold.
TAKE_HOLD = """
CREATE FUNCTION olga_take_hold(
    p_id TEXT, p_instance TEXT, p_key TEXT, p_team TEXT, p_at DOUBLE PRECISION,
    p_capped BOOLEAN, p_credits BIGINT, p_cost BIGINT, p_tokens BIGINT, p_rate_tokens BIGINT,
    p_rpm BIGINT, p_tpm BIGINT,
    p_limit_ids BIGINT[], p_scopes TEXT[], p_scope_ids TEXT[], p_metrics TEXT[],
    p_first_days BIGINT[], p_thresholds BIGINT[]
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
    IF p_capped THEN
        SELECT credits - spent - reserved INTO balance FROM balances WHERE key_id = p_key;
        IF COALESCE(balance, 0) < p_credits THEN
            RETURN 'credits:' || COALESCE(balance, 0);
        END IF;
    END IF;
    IF p_rpm IS NOT NULL OR p_tpm IS NOT NULL THEN
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
    FOR i IN 1 .. COALESCE(array_length(p_limit_ids, 1), 0) LOOP
        SELECT COALESCE(SUM(CASE p_metrics[i] WHEN 'cost' THEN cost_pico WHEN 'requests' THEN requests
                                              ELSE tokens END), 0)
          INTO used FROM usage_daily
         WHERE scope = p_scopes[i] AND scope_id = p_scope_ids[i] AND day >= p_first_days[i];
        SELECT COALESCE(SUM(CASE p_metrics[i] WHEN 'cost' THEN cost_pico WHEN 'requests' THEN 1
                                              ELSE tokens END), 0)
          INTO held FROM holds
         WHERE (p_scopes[i] = 'key' AND key_id = p_scope_ids[i])
            OR (p_scopes[i] = 'team' AND team_id = p_scope_ids[i]);
        IF used + held >= p_thresholds[i] THEN
            RETURN 'limit:' || p_limit_ids[i];
        END IF;
    END LOOP;
    IF p_capped THEN
        UPDATE balances SET reserved = reserved + p_credits WHERE key_id = p_key;
    END IF;
    INSERT INTO holds (id, instance, key_id, team_id, at, credits, cost_pico, tokens, rate_tokens)
    VALUES (p_id, p_instance, p_key, p_team, p_at, CASE WHEN p_capped THEN p_credits ELSE 0 END,
            p_cost, p_tokens, p_rate_tokens);
    RETURN NULL;
END;
$$
"""

# 007: a hold also counts for the tags and end users it names (``labels``: "tag:x", "user:u", ...).
TAKE_HOLD_LABELS = """
CREATE FUNCTION olga_take_hold(
    p_id TEXT, p_instance TEXT, p_key TEXT, p_team TEXT, p_at DOUBLE PRECISION,
    p_capped BOOLEAN, p_credits BIGINT, p_cost BIGINT, p_tokens BIGINT, p_rate_tokens BIGINT,
    p_rpm BIGINT, p_tpm BIGINT,
    p_limit_ids BIGINT[], p_scopes TEXT[], p_scope_ids TEXT[], p_metrics TEXT[],
    p_first_days BIGINT[], p_thresholds BIGINT[], p_labels TEXT[]
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
    -- Then each tag's and end user's lock, in one order everywhere, so two requests sharing a tag
    -- serialise here whatever their keys.
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
    FOR i IN 1 .. COALESCE(array_length(p_limit_ids, 1), 0) LOOP
        -- One statement, one snapshot: a batch ending a hold and adding its usage is seen whole or not.
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
