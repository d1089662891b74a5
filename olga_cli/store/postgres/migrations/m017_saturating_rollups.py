"""Migration 017: the hourly roll-ups' sums stop at BIGINT's top instead of failing the batch.

A provider that reports absurd usage has its record stored clamped to 2**63 - 1 tokens. That hour's
roll-up row then sits at the top of BIGINT, and the next record of the same key, model and hour made
``u.tokens_prompt + excluded.tokens_prompt`` overflow: the whole batch failed, and the good records in
it were lost. The sums now saturate, as the batch's own pre-sums do (``store/postgres/records.py``);
SQLite's triggers turn such a sum into a float instead, which loses no record either. Otherwise this
is migration 015's function, its text reused as shipped.
"""

from __future__ import annotations

from olga_cli.store.postgres.migrations.m015_bodies_as_text import SQL as BODIES_AS_TEXT

TOP = 2**63 - 1
_SUMMED = ("tokens_prompt", "tokens_completion", "tokens_cached", "cost_pico", "cache_saved_pico")


def _saturating(sql: str) -> str:
    for column in _SUMMED:
        plain = f"{column} = u.{column} + excluded.{column}"
        if plain not in sql:  # 012's and 015's texts never change: a slip here
            raise AssertionError(f"migration 017 no longer finds {plain!r} in migration 015's function")
        sql = sql.replace(plain, f"{column} = LEAST(u.{column}::NUMERIC + excluded.{column}, {TOP})::BIGINT")
    return sql.replace("CREATE FUNCTION olga_write_batch(", "CREATE OR REPLACE FUNCTION olga_write_batch(", 1)


SQL = _saturating(BODIES_AS_TEXT.removeprefix("DROP FUNCTION olga_write_batch;"))
