"""`olga providers add` sets a provider's total time limit and the limits on what olga takes from it;
`providers list` and `providers show` show them; a bad value is one `error:` line."""

from __future__ import annotations

from pathlib import Path

import pytest

from olga_cli.config import load_config
from tests.cli.helpers import olga, olga_json

LIMITS = ("--total-timeout", "60", "--max-response-mb", "8", "--max-event-mb", "2", "--max-line-mb", "0.5")
SHOWN = {"total_timeout": 60.0, "max_response_mb": 8.0, "max_event_mb": 2.0, "max_line_mb": 0.5}


def test_limits_given_to_a_new_provider_are_saved_and_shown(home: Path) -> None:
    added = olga_json(
        "providers",
        "add",
        "vllm",
        "--kind",
        "openai-compatible",
        "--base-url",
        "http://127.0.0.1:9/v1",
        *LIMITS,
    )
    assert {k: added[k] for k in SHOWN} == SHOWN
    provider = load_config(home).providers["vllm"]  # what the server reads on its next request
    assert (
        provider.total_timeout,
        provider.max_response_mb,
        provider.max_event_mb,
        provider.max_line_mb,
    ) == (
        60.0,
        8.0,
        2.0,
        0.5,
    )
    listed = next(p for p in olga_json("providers", "list") if p["name"] == "vllm")
    assert {k: listed[k] for k in SHOWN} == SHOWN
    assert {k: olga_json("providers", "show", "vllm")[k] for k in SHOWN} == SHOWN


def test_an_existing_provider_changes_only_the_limits_given(home: Path) -> None:
    before = olga_json("providers", "show", "openai")
    assert (before["total_timeout"], before["max_response_mb"]) == (900.0, 128.0)  # the defaults
    after = olga_json("providers", "add", "openai", "--max-event-mb", "4")
    assert after["max_event_mb"] == 4.0
    assert {k: v for k, v in after.items() if k != "max_event_mb"} == {
        k: v for k, v in before.items() if k != "max_event_mb"
    }


def test_show_prints_every_setting_for_a_person(home: Path) -> None:
    olga("providers", "add", "openai", "--total-timeout", "75")
    result = olga("providers", "show", "openai")
    assert result.exit_code == 0
    for field in ("total_timeout", "max_response_mb", "max_event_mb", "max_line_mb", "idle_timeout"):
        assert field in result.stdout
    assert "75.0" in result.stdout


@pytest.mark.parametrize(
    ("flag", "value", "message"),
    [
        ("--total-timeout", "0", "--total-timeout must be a positive number of seconds"),
        ("--total-timeout", "-5", "--total-timeout must be a positive number of seconds"),
        ("--max-response-mb", "0", "--max-response-mb must be a positive number of MiB"),
        ("--max-event-mb", "-1", "--max-event-mb must be a positive number of MiB"),
        ("--max-line-mb", "0", "--max-line-mb must be a positive number of MiB"),
    ],
)
def test_a_limit_that_is_not_positive_is_one_error_line(
    home: Path, flag: str, value: str, message: str
) -> None:
    result = olga("providers", "add", "openai", flag, value)
    assert result.exit_code == 1
    assert result.stderr.strip() == f"error: {message}"
    assert load_config(home).providers["openai"].total_timeout == 900.0  # nothing was saved


def test_a_limit_that_is_not_a_number_is_one_usage_error_line(home: Path) -> None:
    result = olga("providers", "add", "openai", "--max-response-mb", "lots")
    assert result.exit_code == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error:") and "--max-response-mb" in lines[0]


def test_show_of_an_unknown_provider_is_one_error_line(home: Path) -> None:
    result = olga("providers", "show", "nobody")
    assert result.exit_code == 1
    assert result.stderr.strip() == "error: no provider 'nobody'; see `olga providers list`"
