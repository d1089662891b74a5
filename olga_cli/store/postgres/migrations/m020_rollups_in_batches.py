"""Migration 020: nothing in PostgreSQL, whose batch function has summed a batch's roll-ups itself
since migration 012; SQLite's 020 drops its roll-up triggers for the same design. The number is taken
in both stores so that their migrations stay numbered alike."""

from __future__ import annotations

SQL = "SELECT 1"
