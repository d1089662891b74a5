"""Migration 011: usage by agent session, in PostgreSQL's types.

The batch writer adds each record with a ``session_id`` to ``usage_labels_hourly`` (kind
``session``); this sums in the records written before, once."""

from __future__ import annotations

SQL = """
        INSERT INTO usage_labels_hourly (hour, kind, label, requests, errors, tokens_prompt,
                                         tokens_completion, tokens_cached, cost_pico, latency_ms)
        SELECT (FLOOR(created_at / 3600) * 3600)::BIGINT AS h, 'session', session_id, COUNT(*),
               SUM(CASE WHEN status >= 400 THEN 1 ELSE 0 END), SUM(tokens_prompt), SUM(tokens_completion),
               SUM(tokens_cached), SUM(cost_pico), SUM(latency_ms)
        FROM generations WHERE session_id IS NOT NULL GROUP BY h, session_id
        """
