"""`olga logs --session ID` and `olga usage --by session|app`: which agent spent what."""

from __future__ import annotations

import json
import time
from pathlib import Path

from tests.cli.seed import make_record, seed_now
from tests.cli.terminal import json_array, olga, olga_tty


def _seed(home: Path) -> list[str]:
    now = time.time()
    plan = [
        ("claude-cli", "3f1c-claude", 1_500_000, now - 300),
        ("codex_exec", "019a-codex", 400_000, now - 200),
        ("claude-cli", "3f1c-claude", 2_500_000, now - 100),
        ("notes-app", None, 9, now - 50),
    ]
    records = [
        make_record(app=app, session_id=session, cost_pico=cost, created_at=at)
        for app, session, cost, at in plan
    ]
    seed_now(home, records)
    return [r.id for r in records]


def test_logs_of_one_session(home: Path) -> None:
    ids = _seed(home)
    lines = json_array(olga("logs", "--session", "3f1c-claude", "--json").stdout)
    assert [line["id"] for line in lines] == [ids[0], ids[2]]
    assert {line["session_id"] for line in lines} == {"3f1c-claude"}
    table = olga("logs", "--session", "019a-codex")
    assert table.exit_code == 0 and ids[1][-8:] not in table.stdout  # ids only with --wide
    assert "codex_exec" in table.stdout and "claude-cli" not in table.stdout
    none = olga("logs", "--session", "no-such-session")
    assert none.exit_code == 0 and "none match" in none.stdout


def test_usage_by_session_and_by_app(home: Path) -> None:
    _seed(home)
    by_session = json.loads(olga("usage", "--by", "session", "--json").stdout)
    assert [(r["session"], r["requests"], r["cost"]) for r in by_session["rows"]] == [
        ("3f1c-claude", 2, "0.000004"),
        ("019a-codex", 1, "0.0000004"),
    ]
    assert by_session["totals"]["requests"] == 3  # requests of no session are not in this breakdown
    by_app = json.loads(olga("usage", "--by", "app", "--json").stdout)
    assert [(r["app"], r["requests"]) for r in by_app["rows"]] == [
        ("claude-cli", 2),
        ("codex_exec", 1),
        ("notes-app", 1),
    ]
    table, screen = olga_tty("usage", "--by", "session", width=160)
    assert table.exit_code == 0 and "3f1c-claude" in screen and "olga logs --session" in screen
    piped = olga("usage", "--by", "session").stdout.splitlines()
    assert piped[0].startswith("session\trequests") and piped[1].startswith("3f1c-claude\t2\t")
    refused = olga("usage", "--by", "agent")
    assert refused.exit_code == 1 and "session" in refused.stderr and refused.stderr.startswith("error:")
