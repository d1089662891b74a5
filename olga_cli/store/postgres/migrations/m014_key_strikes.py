"""Migration 014: how many 429s in a row a provider key has had, beside its health mark (every
instance counts on from the strikes another one saw, so a key's backoff doubles as on one instance)."""

from __future__ import annotations

SQL = "ALTER TABLE provider_health ADD COLUMN strikes BIGINT NOT NULL DEFAULT 0"
