"""Money is integers of picodollars: exact parsing, exact formatting, the contract's cost formula."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from olga_cli.catalog import ModelEntry
from olga_cli.money import pico_to_usd, usd_to_pico
from olga_cli.providers.usage import Usage


def entry(**prices: str) -> ModelEntry:
    return ModelEntry(
        id="openai/test", provider="openai", upstream="test",
        input_per_mtok=Decimal(prices.get("input", "0.15")), output_per_mtok=Decimal(prices.get("output", "0.60")),
        cached_input_per_mtok=Decimal(prices["cached"]) if "cached" in prices else None,
        cache_write_per_mtok=Decimal(prices["write"]) if "write" in prices else None,
        multiplier=Decimal(prices.get("multiplier", "1")), context_window=None, max_output_tokens=None,
        aliases=(), endpoints=("chat",),
    )


def test_parsing_and_formatting_are_exact() -> None:
    assert usd_to_pico("0.00000195") == 1_950_000
    assert pico_to_usd(1_950_000) == "0.00000195"
    assert usd_to_pico("5") == 5 * 10**12
    assert pico_to_usd(5 * 10**12) == "5"
    assert pico_to_usd(-1) == "-0.000000000001"
    assert usd_to_pico(0.1) == 100_000_000_000  # a float literal is read as written, not as its binary value
    with pytest.raises(ValueError):
        usd_to_pico("-1")
    with pytest.raises(ValueError):
        usd_to_pico("0.0000000000001")
    with pytest.raises(ValueError):
        usd_to_pico("abc")


@given(st.integers(min_value=0, max_value=10**18))
def test_formatting_round_trips(pico: int) -> None:
    assert usd_to_pico(pico_to_usd(pico)) == pico


def test_cost_formula_with_multipliers() -> None:
    usage = Usage(prompt_tokens=1000, completion_tokens=500)
    # (1000 * 0.15 + 500 * 0.60) / 1e6 = 0.00045 USD
    assert entry().cost_pico(usage) == usd_to_pico("0.00045")
    # key multiplier 1.2 and model multiplier 1.5 multiply: 0.00045 * 1.8 = 0.00081
    assert entry(multiplier="1.5").cost_pico(usage, rate_multiplier=Decimal("1.2")) == usd_to_pico("0.00081")


def test_cached_tokens_are_priced_once_at_the_cached_rate() -> None:
    # OpenAI: 1000 prompt tokens of which 400 cached -> 600 at 0.15 + 400 at 0.075
    usage = Usage(prompt_tokens=1000, completion_tokens=0, cached_tokens=400)
    assert entry(cached="0.075").cost_pico(usage) == usd_to_pico("0.00012")
    # Without a cached price, cached tokens cost the input price (never less, never twice).
    assert entry().cost_pico(usage) == usd_to_pico("0.00015")


def test_cache_writes_at_their_own_rate() -> None:
    usage = Usage(prompt_tokens=1000, completion_tokens=10, cached_tokens=200, cache_write_tokens=300)
    cost = entry(input="1", output="5", cached="0.1", write="1.25").cost_pico(usage)
    # 500 * 1 + 200 * 0.1 + 300 * 1.25 + 10 * 5 = 945 per million
    assert cost == usd_to_pico("0.000945")


def test_summing_many_small_costs_has_no_drift() -> None:
    one = entry().cost_pico(Usage(prompt_tokens=13, completion_tokens=7))
    assert sum([one] * 100_000) == one * 100_000
    assert pico_to_usd(one * 100_000) == "0.615"  # (13 * 0.15 + 7 * 0.6) / 1e6 * 1e5
