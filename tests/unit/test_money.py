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
        id="openai/test",
        provider="openai",
        upstream="test",
        input_per_mtok=Decimal(prices.get("input", "0.15")),
        output_per_mtok=Decimal(prices.get("output", "0.60")),
        cached_input_per_mtok=Decimal(prices["cached"]) if "cached" in prices else None,
        cache_write_per_mtok=Decimal(prices["write"]) if "write" in prices else None,
        multiplier=Decimal(prices.get("multiplier", "1")),
        context_window=None,
        max_output_tokens=None,
        aliases=(),
        endpoints=("chat",),
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


@given(
    st.tuples(*[st.integers(0, 10**8)] * 4),  # prices in millionths of a dollar per million tokens
    st.tuples(*[st.integers(0, 10**6)] * 4),
    st.sampled_from(["1", "1.0", "2", "0.5", "1.25"]),
    st.sampled_from(["1", "1.3"]),
)
def test_whole_rates_in_integers_cost_exactly_what_the_decimal_formula_does(
    prices: tuple[int, ...], tokens: tuple[int, ...], key_multiplier: str, entry_multiplier: str
) -> None:
    price = [str(Decimal(p).scaleb(-6)) for p in prices]
    model = entry(
        input=price[0], cached=price[1], write=price[2], output=price[3], multiplier=entry_multiplier
    )
    assert (model.whole_pico_rates is not None) == (entry_multiplier == "1")
    usage = Usage(
        tokens[0] + tokens[1] + tokens[2], tokens[3], cached_tokens=tokens[1], cache_write_tokens=tokens[2]
    )
    multiplier = Decimal(key_multiplier)
    per_mtok = (
        usage.uncached_prompt_tokens * model.input_per_mtok
        + tokens[1] * model.cached_input_per_mtok
        + tokens[2] * model.cache_write_per_mtok
        + tokens[3] * model.output_per_mtok  # type: ignore[operator]
    )
    expected = (per_mtok * 10**6 * multiplier * model.multiplier).quantize(
        Decimal(1), rounding="ROUND_HALF_UP"
    )
    assert model.cost_pico(usage, rate_multiplier=multiplier) == int(expected)


def test_prices_finer_than_a_picodollar_a_token_keep_the_decimal_formula() -> None:
    model = entry(input="0.0000005", output="0.60")  # half a picodollar per input token
    assert model.whole_pico_rates is None
    assert model.cost_pico(Usage(3, 0)) == 2  # 1.5 rounded half up, once
