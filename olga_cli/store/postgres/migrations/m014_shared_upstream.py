"""Migration 014: what instances without Redis share about providers.

``provider_health.strikes``: a key's 429s in a row (its rest doubles with each), kept with its mark
so that the next instance to see a 429 counts on from them. ``circuits``: each provider's breaker
and each caller's, as ``gateway/upstream/breaker.py`` keeps them in memory, changed by the functions
below in one statement each and announced on the schema's channel; every instance mirrors them in
memory, so admitting a request reads nothing here (only a half-open probe is claimed here, so that
one instance in all sends it). Times are wall-clock seconds.
"""

from __future__ import annotations

_CHANNEL = "'olga_changes_' || substr(md5(current_schema()), 1, 12)"

SQL = f"""
ALTER TABLE provider_health ADD COLUMN strikes BIGINT NOT NULL DEFAULT 0;
CREATE TABLE circuits (
    provider TEXT NOT NULL,
    caller TEXT NOT NULL,  -- '' for the provider's shared circuit, else the olga key's id
    failures BIGINT NOT NULL DEFAULT 0,  -- in a row
    callers TEXT[] NOT NULL DEFAULT '{{}}',  -- shared circuit: whose failures the run holds
    opened_at DOUBLE PRECISION,
    probe_at DOUBLE PRECISION,  -- when the half-open probe in flight began
    PRIMARY KEY (provider, caller)
);
-- Breakers.failure: the shared circuit opens after the threshold of failures in a row from two
-- callers (or any failure of its probe), the caller's own after the threshold of its own.
CREATE FUNCTION olga_circuit_failure(p_provider TEXT, p_caller TEXT, p_threshold BIGINT, p_now DOUBLE PRECISION)
RETURNS VOID LANGUAGE plpgsql AS $$
DECLARE
    c circuits%ROWTYPE;
    who TEXT := COALESCE(p_caller, '');
BEGIN
    INSERT INTO circuits AS o (provider, caller, failures, callers) VALUES (p_provider, '', 1, ARRAY[who])
    ON CONFLICT (provider, caller) DO UPDATE SET failures = o.failures + 1,
        callers = CASE WHEN who = ANY(o.callers) THEN o.callers ELSE o.callers || who END
    RETURNING * INTO c;
    IF c.probe_at IS NOT NULL OR (c.failures >= p_threshold AND (p_caller IS NULL OR cardinality(c.callers) >= 2)) THEN
        UPDATE circuits SET opened_at = p_now, probe_at = NULL WHERE provider = p_provider AND caller = '';
    END IF;
    IF p_caller IS NOT NULL THEN
        INSERT INTO circuits AS o (provider, caller, failures) VALUES (p_provider, p_caller, 1)
        ON CONFLICT (provider, caller) DO UPDATE SET failures = o.failures + 1
        RETURNING * INTO c;
        IF c.probe_at IS NOT NULL OR c.failures >= p_threshold THEN
            UPDATE circuits SET opened_at = p_now, probe_at = NULL WHERE provider = p_provider AND caller = p_caller;
        END IF;
    END IF;
    PERFORM pg_notify({_CHANNEL}, '');
END;
$$;
-- A half-open provider's probe, claimed by one request of one instance: 'probe' (this one), 'skip'
-- (open, or another probe in flight less than p_lease seconds), 'pass' (nothing to probe any more).
CREATE FUNCTION olga_circuit_probe(
    p_provider TEXT, p_caller TEXT, p_now DOUBLE PRECISION, p_cooldown DOUBLE PRECISION, p_lease DOUBLE PRECISION
) RETURNS TEXT LANGUAGE plpgsql AS $$
DECLARE
    half TEXT[];
    busy BOOLEAN;
BEGIN
    PERFORM 1 FROM circuits WHERE provider = p_provider AND caller IN ('', COALESCE(p_caller, '')) FOR UPDATE;
    IF EXISTS (SELECT 1 FROM circuits WHERE provider = p_provider AND caller IN ('', COALESCE(p_caller, ''))
               AND opened_at IS NOT NULL AND p_now - opened_at < p_cooldown) THEN
        RETURN 'skip';
    END IF;
    SELECT array_agg(caller), bool_or(probe_at IS NOT NULL AND probe_at > p_now - p_lease) INTO half, busy
      FROM circuits WHERE provider = p_provider AND caller IN ('', COALESCE(p_caller, '')) AND opened_at IS NOT NULL;
    IF half IS NULL THEN
        RETURN 'pass';
    END IF;
    IF busy THEN
        RETURN 'skip';
    END IF;
    UPDATE circuits SET probe_at = p_now WHERE provider = p_provider AND caller = ANY(half);
    RETURN 'probe';
END;
$$;
"""
