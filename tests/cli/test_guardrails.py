"""`olga guardrails`: add, list and remove with one-line errors; violations as a page, JSON, or live."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from olga_cli.guardrails import Violation
from olga_cli.store.db import open_store
from olga_cli.store.guardrails import violation_insert
from tests.cli.seed import make_record
from tests.cli.terminal import olga

START_TIMEOUT = 15.0
PROMISE = 1.0


def _json(*args: str) -> Any:
    result = olga(*args, "--json")
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def _violation(entity: str = "email", *, action: str = "redact", stage: str = "input") -> Violation:
    return Violation(
        guardrail_id="1",
        guardrail_name="no-pii",
        type="pii",
        stage=stage,  # type: ignore[arg-type]
        entity=entity,
        action=action,
        start=4,
        end=25,
        confidence=0.95,  # type: ignore[arg-type]
        field="messages[0].content",
    )


async def _seed_violations(home: Path, key_id: str, key_name: str, *violations: Violation) -> str:
    record = make_record(key_id=key_id, key_name=key_name)
    db = await open_store(home / "olga.db")
    try:
        extras = [
            violation_insert(v, generation_id=record.id, key_id=key_id, at=record.created_at)
            for v in violations
        ]
        await db.records.write_batch([record], extras)
    finally:
        await db.close()
    return record.id


def test_add_list_and_remove_for_each_scope(home: Path) -> None:
    key = _json("keys", "create", "--name", "laptop")
    olga("teams", "create", "research")
    added = _json(
        "guardrails",
        "add",
        "--key",
        "laptop",
        "--type",
        "pii",
        "--stage",
        "input",
        "--action",
        "redact",
        "--entities",
        "Email, credit-card",
        "--threshold",
        "0.8",
        "--name",
        "no-pii",
    )
    assert added == {
        **added,
        "name": "no-pii",
        "scope": "key",
        "scope_id": key["id"],
        "scope_name": "laptop",
        "type": "pii",
        "stage": "input",
        "action": "redact",
        "entities": ["email", "credit_card"],
        "threshold": 0.8,
    }
    team = _json(
        "guardrails",
        "add",
        "--team",
        "research",
        "--type",
        "prompt-injection",
        "--stage",
        "both",
        "--action",
        "block",
    )
    assert (team["scope"], team["scope_name"], team["name"]) == (
        "team",
        "research",
        "prompt-injection-both-block",
    )
    everyone = _json(
        "guardrails", "add", "--global", "--type", "secrets", "--stage", "output", "--action", "log"
    )
    assert (everyone["scope"], everyone["scope_id"], everyone["entities"]) == ("global", None, [])

    listed = _json("guardrails", "list")
    assert [g["id"] for g in listed] == [added["id"], team["id"], everyone["id"]]
    table = olga("guardrails", "list").stdout
    assert "no-pii" in table and "key laptop" in table and "team research" in table and "global" in table

    removed = _json("guardrails", "remove", "no-pii")
    assert (removed["id"], removed["status"]) == (added["id"], "removed")
    assert olga("guardrails", "remove", str(team["id"])).exit_code == 0
    assert [g["id"] for g in _json("guardrails", "list")] == [everyone["id"]]


def test_mistakes_are_one_line_naming_the_flag(home: Path) -> None:
    olga("keys", "create", "--name", "laptop")
    cases = [
        (
            ["--global", "--type", "pii", "--stage", "input", "--action", "redact", "--entities", "mail"],
            "--entities",
            "unknown pii entity 'mail'",
        ),
        (
            ["--global", "--type", "pii", "--stage", "sometimes", "--action", "redact"],
            "--stage",
            "'sometimes'",
        ),
        (["--global", "--type", "viruses", "--stage", "input", "--action", "redact"], "--type", "'viruses'"),
        (["--global", "--type", "pii", "--stage", "input", "--action", "shout"], "--action", "'shout'"),
        (
            ["--global", "--type", "pii", "--stage", "input", "--action", "log", "--threshold", "1.5"],
            "--threshold",
            "1.5",
        ),
        (["--type", "pii", "--stage", "input", "--action", "log"], "--global", "exactly one"),
        (
            ["--key", "laptop", "--global", "--type", "pii", "--stage", "input", "--action", "log"],
            "--key",
            "exactly one",
        ),
        (["--key", "desktop", "--type", "pii", "--stage", "input", "--action", "log"], "desktop", "no key"),
        (["--global", "--type", "pii"], "--stage", "required"),
    ]
    for args, *needles in cases:
        result = olga("guardrails", "add", *args)
        assert result.exit_code == 1, args
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
        assert all(needle in lines[0] for needle in needles), lines[0]
        assert "Traceback" not in result.output
    assert _json("guardrails", "list") == []

    for ref, needle in (("42", "no guardrail"), ("nothing", "no guardrail")):
        result = olga("guardrails", "remove", ref)
        assert result.exit_code == 1 and needle in result.stderr


def test_remove_by_a_name_two_guardrails_share_asks_for_the_id(home: Path) -> None:
    for _ in range(2):
        _json(
            "guardrails",
            "add",
            "--global",
            "--type",
            "pii",
            "--stage",
            "input",
            "--action",
            "log",
            "--name",
            "twin",
        )
    result = olga("guardrails", "remove", "twin")
    assert result.exit_code == 1 and "2 guardrails are named 'twin'" in result.stderr


async def test_violations_page_json_and_key_filter(home: Path) -> None:
    laptop = json.loads(
        (await asyncio.to_thread(olga, "keys", "create", "--name", "laptop", "--json")).stdout
    )
    other = json.loads((await asyncio.to_thread(olga, "keys", "create", "--name", "ci", "--json")).stdout)
    first = await _seed_violations(home, laptop["id"], "laptop", _violation("email"), _violation("phone"))
    await _seed_violations(home, other["id"], "ci", _violation("credit_card", action="block"))

    page = await asyncio.to_thread(_json, "guardrails", "violations")
    assert [(v["key_name"], v["entity"], v["action"]) for v in page] == [
        ("laptop", "email", "redact"),
        ("laptop", "phone", "redact"),
        ("ci", "credit_card", "block"),
    ]
    assert page[0] == {
        **page[0],
        "generation_id": first,
        "guardrail": "no-pii",
        "guardrail_id": "1",
        "type": "pii",
        "stage": "input",
        "field": "messages[0].content",
        "start": 4,
        "end": 25,
        "confidence": 0.95,
    }
    mine = await asyncio.to_thread(_json, "guardrails", "violations", "--key", "laptop", "--limit", "1")
    assert [v["entity"] for v in mine] == ["phone"]
    text = (await asyncio.to_thread(olga, "guardrails", "violations")).stdout
    assert "no-pii (pii) block credit_card on input" in text and "messages[0].content [4:25]" in text


async def test_violations_follow_prints_json_lines_within_a_second(home: Path) -> None:
    key = json.loads((await asyncio.to_thread(olga, "keys", "create", "--name", "laptop", "--json")).stdout)
    await _seed_violations(home, key["id"], "laptop", _violation("email"))
    env = {**os.environ, "OLGA_HOME": str(home), "COLUMNS": "200"}
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "olga_cli",
        "guardrails",
        "violations",
        "--follow",
        "--json",
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env=env,
    )
    try:
        assert process.stdout is not None
        first = json.loads(await asyncio.wait_for(process.stdout.readline(), START_TIMEOUT))
        assert first["entity"] == "email"
        generation = await _seed_violations(
            home, key["id"], "laptop", _violation("ssn", action="block", stage="output")
        )
        committed = time.monotonic()
        line = json.loads(await asyncio.wait_for(process.stdout.readline(), PROMISE + 0.5))
        assert time.monotonic() - committed < PROMISE
        assert (line["generation_id"], line["entity"], line["stage"]) == (generation, "ssn", "output")
    finally:
        process.send_signal(signal.SIGINT)
        code = await asyncio.wait_for(process.wait(), 10)
    assert code == 0


def test_a_prompt_injection_guardrail_says_when_the_classifier_is_missing(
    home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import olga_cli.cli.guardrails as cli_guardrails

    reason = "the prompt-injection classifier needs onnxruntime: pip install 'olga[classifier]'"
    monkeypatch.setattr(cli_guardrails, "classifier_missing", lambda: reason)
    result = olga("guardrails", "add", "--global", "--type", "prompt-injection", "--stage", "input",
                  "--action", "block", "--json")  # fmt: skip
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["type"] == "prompt-injection"  # added: the rules run
    assert "note: only the rules will screen for prompt injection" in result.stderr
    assert "pip install 'olga[classifier]'" in result.stderr
    # Other types say nothing about it.
    other = olga("guardrails", "add", "--global", "--type", "pii", "--stage", "input", "--action", "log")
    assert other.exit_code == 0 and "classifier" not in other.stderr
