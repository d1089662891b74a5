"""Names of live keys, teams, guardrails and tags, read for shell completion from either backend
(``sqlite/names.py``, ``postgres/names.py``): plain SQL that SQLite and PostgreSQL both run as written.
"""

from __future__ import annotations

from typing import Literal

NAME_QUERIES = {
    "keys": "SELECT name FROM keys WHERE deleted_at IS NULL ORDER BY name",
    "teams": "SELECT name FROM teams WHERE deleted_at IS NULL ORDER BY name",
    # A guardrail is removed by id, or by its name when only one has it: both are offered.
    "guardrails": "SELECT name FROM guardrails WHERE deleted_at IS NULL "
    "UNION SELECT CAST(id AS TEXT) FROM guardrails WHERE deleted_at IS NULL ORDER BY 1",
    # Tags requests have carried (summed by the hour) and tags a limit names.
    "tags": "SELECT label FROM usage_labels_hourly WHERE kind = 'tag' "
    "UNION SELECT scope_id FROM limits WHERE scope = 'tag' AND deleted_at IS NULL ORDER BY 1",
}

Named = Literal["keys", "teams", "guardrails", "tags"]
