"""Migration 011: usage by agent session."""

from __future__ import annotations

import aiosqlite

# Added to the hourly label sums in the same upsert as tags and end users (migration 007).
_LABELS = """
        ON CONFLICT (hour, kind, label) DO UPDATE SET
            requests = requests + 1,
            errors = errors + excluded.errors,
            tokens_prompt = tokens_prompt + excluded.tokens_prompt,
            tokens_completion = tokens_completion + excluded.tokens_completion,
            tokens_cached = tokens_cached + excluded.tokens_cached,
            cost_pico = cost_pico + excluded.cost_pico,
            latency_ms = latency_ms + excluded.latency_ms;"""
_SUMS = (
    "1, NEW.status >= 400, NEW.tokens_prompt, NEW.tokens_completion, NEW.tokens_cached, "
    "NEW.cost_pico, NEW.latency_ms"
)
_COLUMNS = (
    "hour, kind, label, requests, errors, tokens_prompt, tokens_completion, tokens_cached, "
    "cost_pico, latency_ms"
)


async def m011_session_usage(db: aiosqlite.Connection) -> None:
    """Agent sessions (a record's ``session_id``) summed by the hour in ``usage_labels_hourly``
    beside tags and end users, for `olga usage --by session`; the records written since migration
    006 are summed in once, here."""
    await db.execute("DROP TRIGGER generations_usage_labels")
    hour = "CAST(NEW.created_at / 3600 AS INTEGER) * 3600"
    await db.execute(
        f"""
        CREATE TRIGGER generations_usage_labels AFTER INSERT ON generations BEGIN
            INSERT INTO usage_labels_hourly ({_COLUMNS})
            SELECT DISTINCT {hour}, 'tag', j.value, {_SUMS}
            FROM json_each(NEW.tags) j WHERE true {_LABELS}
            INSERT INTO usage_labels_hourly ({_COLUMNS})
            SELECT {hour}, 'user', NEW.end_user, {_SUMS}
            WHERE NEW.end_user IS NOT NULL {_LABELS}
            INSERT INTO usage_labels_hourly ({_COLUMNS})
            SELECT {hour}, 'session', NEW.session_id, {_SUMS}
            WHERE NEW.session_id IS NOT NULL {_LABELS}
        END
        """
    )
    await db.execute(
        f"""
        INSERT INTO usage_labels_hourly ({_COLUMNS})
        SELECT CAST(created_at / 3600 AS INTEGER) * 3600 AS h, 'session', session_id, COUNT(*),
               SUM(status >= 400), SUM(tokens_prompt), SUM(tokens_completion), SUM(tokens_cached),
               SUM(cost_pico), SUM(latency_ms)
        FROM generations WHERE session_id IS NOT NULL GROUP BY h, session_id
        """
    )
