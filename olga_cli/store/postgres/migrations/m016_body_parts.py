"""Migration 016: nothing on PostgreSQL, whose number matches SQLite's 016 (body parts).

SQLite stores the text an agent resends on every turn once (``store/body_parts.py``); PostgreSQL
keeps bodies whole, compressed by TOAST, and ``olga store migrate`` joins SQLite's parts back into
each body as it copies.
"""

from __future__ import annotations

SQL = """
        SELECT 1;
        """
