"""`olga teams` and `olga limits`, human and --json, their one-line errors, and limits in `olga keys show`."""

from __future__ import annotations

import json
import time
from pathlib import Path

import aiohttp

from olga_cli.gateway.admission.windows import iso, resets_at
from tests.cli.helpers import olga, olga_async, olga_json
from tests.fakes.gateway import point_openai_at, start_gateway
from tests.fakes.openai_upstream import FakeOpenAI
from tests.server.limits_support import chat


def test_teams_lifecycle_with_json(home: Path) -> None:
    team = olga_json(
        "teams", "create", "research", "--models", "openai/*,mock/echo", "--rate-multiplier", "1.5"
    )
    assert team["id"].startswith("team_") and team["name"] == "research"
    assert team["models"] == ["openai/*", "mock/echo"] and team["rate_multiplier"] == "1.5"
    assert team["keys"] == [] and team["limits"] == [] and team["alerts"] == []
    assert set(team["usage"]) == {"daily", "weekly", "monthly", "all-time"}
    assert team["usage"]["daily"] == {
        "spend": "0",
        "requests": 0,
        "tokens": 0,
        "started_at": team["usage"]["daily"]["started_at"],
        "resets_at": team["usage"]["daily"]["resets_at"],
    }
    key = olga_json("keys", "create", "--name", "alice", "--team", "research")
    assert key["team"] == "research" and key["team_id"] == team["id"]
    listed = olga_json("teams", "list")
    assert [(t["name"], t["keys"]) for t in listed] == [("research", ["alice"])]
    shown = olga_json("teams", "show", team["id"])  # names and ids are interchangeable
    assert shown["name"] == "research"
    updated = olga_json(
        "teams", "update", "research", "--name", "lab", "--models", "*", "--rate-multiplier", "2"
    )
    assert (updated["name"], updated["models"], updated["rate_multiplier"]) == ("lab", None, "2")
    olga_json("limits", "add", "--team", "lab", "--metric", "cost", "--window", "monthly", "--threshold", "5")
    deleted = olga_json("teams", "delete", "lab")
    assert deleted["status"] == "deleted" and deleted["keys"] == ["alice"]
    assert olga_json("teams", "list") == []
    assert olga_json("keys", "show", "alice")["team"] is None  # the key stays, without a team
    assert olga_json("limits", "list") == []  # the team's limits went with it


def test_limits_add_list_remove_with_json(home: Path) -> None:
    olga_json("keys", "create", "--name", "laptop")
    olga_json("teams", "create", "research")
    cost = olga_json(
        "limits",
        "add",
        "--key",
        "laptop",
        "--metric",
        "cost",
        "--window",
        "daily",
        "--threshold",
        "0.50",
        "--alert",
        "80,50,100",
    )
    now = time.time()
    assert cost == {
        "id": cost["id"],
        "scope": "key",
        "scope_id": cost["scope_id"],
        "scope_name": "laptop",
        "metric": "cost",
        "window": "daily",
        "threshold": "0.5",
        "usage": "0",
        "in_flight": "0",
        "remaining": "0.5",
        "percent": 0.0,
        "reached": False,
        "resets_at": iso(resets_at("daily", now)),
        "alerts": [50, 80, 100],
    }
    tokens = olga_json(
        "limits",
        "add",
        "--team",
        "research",
        "--metric",
        "tokens",
        "--window",
        "all-time",
        "--threshold",
        "1000000",
    )
    assert (tokens["scope"], tokens["threshold"], tokens["resets_at"], tokens["alerts"]) == (
        "team",
        1000000,
        None,
        [],
    )
    requests = olga_json(
        "limits", "add", "--key", "laptop", "--metric", "requests", "--window", "weekly", "--threshold", "500"
    )
    assert requests["threshold"] == 500 and requests["resets_at"] == iso(resets_at("weekly", now))
    assert [row["id"] for row in olga_json("limits", "list")] == [cost["id"], tokens["id"], requests["id"]]
    assert [row["id"] for row in olga_json("limits", "list", "--key", "laptop")] == [
        cost["id"],
        requests["id"],
    ]
    assert olga_json("limits", "remove", str(cost["id"]))["status"] == "removed"
    assert [row["id"] for row in olga_json("limits", "list")] == [tokens["id"], requests["id"]]
    shown = olga_json("keys", "show", "laptop")
    assert [limit["id"] for limit in shown["limits"]] == [requests["id"]]
    human = olga("limits", "list")
    assert human.exit_code == 0 and "research" in human.stdout and "weekly" in human.stdout


def test_mistakes_are_one_line_errors(home: Path) -> None:
    olga_json("keys", "create", "--name", "laptop")
    olga_json("teams", "create", "research")
    cases = [
        (
            (
                "limits",
                "add",
                "--key",
                "laptop",
                "--metric",
                "dollars",
                "--window",
                "daily",
                "--threshold",
                "1",
            ),
            "--metric must be one of cost, requests, tokens",
        ),
        (
            (
                "limits",
                "add",
                "--key",
                "laptop",
                "--metric",
                "cost",
                "--window",
                "hourly",
                "--threshold",
                "1",
            ),
            "--window must be one of daily, weekly, monthly, all-time",
        ),
        (
            (
                "limits",
                "add",
                "--key",
                "laptop",
                "--team",
                "research",
                "--metric",
                "cost",
                "--window",
                "daily",
                "--threshold",
                "1",
            ),
            "exactly one of --key KEY, --team TEAM, --tag TAG or --user USER",
        ),
        (
            ("limits", "add", "--key", "nobody", "--metric", "cost", "--window", "daily", "--threshold", "1"),
            "no key named or with id 'nobody'",
        ),
        (
            (
                "limits",
                "add",
                "--team",
                "nobody",
                "--metric",
                "cost",
                "--window",
                "daily",
                "--threshold",
                "1",
            ),
            "no team named or with id 'nobody'",
        ),
        (
            (
                "limits",
                "add",
                "--key",
                "laptop",
                "--metric",
                "tokens",
                "--window",
                "daily",
                "--threshold",
                "1.5",
            ),
            "must be a whole number",
        ),
        (
            (
                "limits",
                "add",
                "--key",
                "laptop",
                "--metric",
                "cost",
                "--window",
                "daily",
                "--threshold",
                "-1",
            ),
            "must not be negative",
        ),
        (
            (
                "limits",
                "add",
                "--key",
                "laptop",
                "--metric",
                "cost",
                "--window",
                "daily",
                "--threshold",
                "1",
                "--alert",
                "50,120",
            ),
            "between 1 and 100",
        ),
        (("limits", "add", "--key", "laptop", "--metric", "cost"), "are required"),
        (("limits", "remove", "7"), "no limit 7"),
        (("limits", "remove", "seven"), "a limit id is a number"),
        (("teams", "create", "research"), "a team named 'research' exists already"),
        (("teams", "create", "x", "--rate-multiplier", "0"), "--rate-multiplier must be greater than 0"),
        (("teams", "show", "nobody"), "no team named or with id 'nobody'"),
        (("teams", "delete", "nobody"), "no team named or with id 'nobody'"),
    ]
    for args, message in cases:
        result = olga(*args)
        assert result.exit_code == 1, (args, result.output)
        assert result.stderr.count("\n") == 1 and message in result.stderr, (args, result.stderr)
        assert "Traceback" not in result.output


async def test_keys_show_reports_usage_in_each_window_and_every_limit(
    home: Path, fake_openai: FakeOpenAI
) -> None:
    point_openai_at(home, fake_openai.url)
    team = await olga_async("teams", "create", "research", "--json")
    team_id = json.loads(team.stdout)["id"]
    created = json.loads(
        (await olga_async("keys", "create", "--name", "ada", "--team", "research", "--json")).stdout
    )
    for args in (
        ("--key", "ada", "--metric", "requests", "--window", "daily", "--threshold", "10"),
        ("--team", "research", "--metric", "cost", "--window", "monthly", "--threshold", "1"),
    ):
        assert (await olga_async("limits", "add", *args)).exit_code == 0
    running = await start_gateway(home)
    try:
        async with aiohttp.ClientSession() as session:
            for _ in range(3):
                assert (await chat(session, running, created["key"], model="openai/gpt-4o-mini"))[0] == 200
    finally:
        await running.close()
    shown = json.loads((await olga_async("keys", "show", "ada", "--json")).stdout)
    for window in ("daily", "weekly", "monthly", "all-time"):
        assert shown["usage"][window]["spend"] == "0.000018"  # three requests at $0.000006
        assert shown["usage"][window]["requests"] == 3 and shown["usage"][window]["tokens"] == 57
    by_scope = {(limit["scope"], limit["metric"]): limit for limit in shown["limits"]}
    assert by_scope[("key", "requests")]["usage"] == 3 and by_scope[("key", "requests")]["remaining"] == 7
    team_limit = by_scope[("team", "cost")]
    assert (team_limit["scope_id"], team_limit["scope_name"], team_limit["usage"]) == (
        team_id,
        "research",
        "0.000018",
    )
    human = await olga_async("keys", "show", "ada")
    assert human.exit_code == 0 and "monthly" in human.stdout and "$0.000018" in human.stdout
    team_shown = json.loads((await olga_async("teams", "show", "research", "--json")).stdout)
    assert team_shown["usage"]["daily"]["requests"] == 3 and team_shown["keys"] == ["ada"]
