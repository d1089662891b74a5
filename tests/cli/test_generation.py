"""`olga generation ID`: the panel's sections and numbers, and the --json shape {"data": {...}}."""

from __future__ import annotations

import asyncio
import json
from decimal import Decimal
from pathlib import Path

from olga_cli.records import Attempt
from tests.cli.seed import make_record, seed_now
from tests.cli.terminal import olga
from tests.fakes.gateway import mint_key


def _seed(home: Path, **fields: object) -> str:
    key, _ = asyncio.run(mint_key(home, name="laptop", rate_multiplier=Decimal("1.5")))
    values: dict[str, object] = {
        "key_id": key.id,
        "key_name": "laptop",
        "app": "notes-app",
        "request_id": "req-7",
        "upstream_id": "chatcmpl-abc",
        "tokens_prompt": 1000,
        "tokens_cached": 400,
        "tokens_completion": 200,
        "ttft_ms": 150.0,
        "latency_ms": 900.0,
        "overhead_ms": 3.0,
        "streamed": True,
        "request_body": '{"model": "gpt-4o-mini"}',
        "response_body": "Hello [EMAIL]",
        # 600 * 0.15 + 400 * 0.075 + 200 * 0.60 = 240 USD per Mtok-token -> 240e-6 USD; x1.5 = 0.00036
        "cost_pico": 360_000_000,
        "attempts": [
            Attempt("openai", "gpt-4o-mini", 429, 120.0, error="Rate limit reached", key_label="key-1"),
            Attempt("openai", "gpt-4o-mini", 200, 770.0, key_label="key-2"),
        ],
        "guardrails": [
            {"guardrail": "pii-out", "stage": "output", "entity": "email", "action": "redact", "position": 6}
        ],
    }
    values.update(fields)
    record = make_record(**values)
    seed_now(home, [record])
    return record.id


def test_panel_explains_routing_usage_cost_guardrails_and_timings(home: Path) -> None:
    generation_id = _seed(home)
    result = olga("generation", generation_id)
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert not [line for line in out.splitlines() if line != line.rstrip()]  # piped: no padding at ends
    for expected in (
        "laptop",
        "notes-app",
        "req-7",
        "chatcmpl-abc",
        "routing attempts",
        "Rate limit reached",
        "key-2",
        "usage",
        "cost",
        "guardrails",
        "pii-out",
        "redact",
        "timings",
        "retry backoff",
        "900 ms",
        "150 ms",
        "(streamed)",
    ):
        assert expected in out, expected
    lines = out.splitlines()
    assert any("input" in line and "600" in line and "$0.15" in line and "$0.00009" in line for line in lines)
    assert any(
        "cached input" in line and "400" in line and "$0.075" in line and "$0.00003" in line for line in lines
    )
    assert any("output" in line and "200" in line and "$0.6" in line and "$0.00012" in line for line in lines)
    assert any("rate multiplier" in line and "1.5" in line for line in lines)
    assert any("= cost" in line and "$0.00036" in line for line in lines)
    assert "today's prices" not in out  # the recorded cost is what the prices give
    assert "Hello [EMAIL]" not in out  # bodies only on request
    assert "Hello [EMAIL]" in olga("generation", generation_id, "--bodies").stdout


def test_time_is_split_into_upstream_backoff_and_olga(home: Path) -> None:
    """A retried request: the wait between the attempts is backoff, not olga's own time."""
    generation_id = _seed(
        home,
        overhead_ms=460.0,
        latency_ms=1350.0,
        attempts=[
            Attempt("openai", "gpt-4o-mini", 502, 120.0, error="upstream_error", started_ms=2.0),
            Attempt("openai", "gpt-4o-mini", 200, 770.0, key_label="key-2", started_ms=577.0),
        ],
    )
    lines = olga("generation", generation_id).stdout.splitlines()
    assert any("retry backoff" in line and "455 ms" in line for line in lines)
    assert any(line.strip("│ ").startswith("olga ") and "5 ms" in line for line in lines)
    assert any("upstream" in line and "890 ms" in line for line in lines)
    assert any("502" in line and "upstream_error" in line for line in lines)


def test_bodies_are_pretty_printed_after_the_panel(home: Path) -> None:
    generation_id = _seed(home, request_body='{"model": "gpt-4o-mini", "messages": [{"role": "user"}]}')
    out = olga("generation", generation_id, "--bodies").stdout
    assert '\n  "model": "gpt-4o-mini",\n' in out and '"role": "user"' in out


def test_json_shape_and_lookup_by_provider_id(home: Path) -> None:
    generation_id = _seed(home)
    result = olga("generation", "chatcmpl-abc", "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["id"] == generation_id and data["cost"] == "0.00036"
    assert [a["status"] for a in data["attempts"]] == [429, 200]
    assert data["guardrails"][0]["action"] == "redact"
    breakdown = data["cost_breakdown"]
    assert breakdown["matches_current_prices"] is True and breakdown["rate_multiplier"] == "1.5"
    assert [line["what"] for line in breakdown["lines"]] == ["input", "cached input", "output"]
    assert "request_body" not in data


def test_changed_prices_are_pointed_out(home: Path) -> None:
    generation_id = _seed(home)
    (home / "model_catalog.json").write_text(
        json.dumps({"models": {"openai/gpt-4o-mini": {"output_per_mtok": "1.20"}}})
    )
    out = olga("generation", generation_id).stdout
    assert "today's prices and multipliers give" in out


def test_unknown_id_is_one_line_and_exit_1(home: Path) -> None:
    result = olga("generation", "gen-nope")
    assert (
        result.exit_code == 1
        and "no generation 'gen-nope'" in result.stderr
        and "Traceback" not in result.output
    )


def test_a_capped_charge_is_flagged_in_the_panel_and_the_json(home: Path) -> None:
    flag = "charge_capped: the usage reported (10000000 prompt, 1000000 completion tokens) costs $2.1"
    generation_id = _seed(home, flags=[flag])
    result = olga("generation", generation_id)
    assert result.exit_code == 0, result.output
    assert "charge_capped" in result.stdout and "10000000 prompt" in result.stdout
    data = json.loads(olga("generation", generation_id, "--json").stdout)
    assert data["flags"] == [flag]


def test_a_unique_start_of_an_id_is_enough_and_an_ambiguous_one_is_one_error(home: Path) -> None:
    seed_now(home, [make_record(id="gen-019af2b3c4d5aaaa1111"), make_record(id="gen-019af2b3c4d5bbbb2222")])
    for ref in ("019af2b3c4d5aaaa", "gen-019af2b3c4d5bbbb", "019af2b3c4d5bbbb2222"):
        shown = olga("generation", ref, "--json")
        assert shown.exit_code == 0, shown.output
        assert json.loads(shown.stdout)["id"].startswith("gen-" + ref.removeprefix("gen-"))
    ambiguous = olga("generation", "019af2b3c4d5")
    assert ambiguous.exit_code == 1 and ambiguous.stdout == ""
    assert ambiguous.stderr.count("\n") == 1 and "several generations" in ambiguous.stderr
    assert "gen-019af2b3c4d5aaaa1111" in ambiguous.stderr and "give more of the id" in ambiguous.stderr
    too_short = olga("generation", "019a")
    assert too_short.exit_code == 1 and too_short.stderr.startswith("error: no generation '019a'")
