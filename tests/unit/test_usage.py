"""Usage in one shape: cache reads and writes survive every API's spelling, there and back."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st
from openai.types.completion_usage import CompletionUsage
from openai.types.responses.response_usage import ResponseUsage

from olga_cli.providers.usage import Usage, from_anthropic, from_openai, to_anthropic, to_openai, to_responses


def test_openai_cache_writes_are_read_from_prompt_details() -> None:
    usage = from_openai(
        {
            "prompt_tokens": 100,
            "completion_tokens": 5,
            "prompt_tokens_details": {"cached_tokens": 30, "cache_write_tokens": 20},
        }
    )
    assert usage == Usage(100, 5, 30, 20)
    assert usage.uncached_prompt_tokens == 50


def test_responses_usage_names_are_read_too() -> None:
    usage = from_openai(
        {
            "input_tokens": 40,
            "output_tokens": 3,
            "input_tokens_details": {"cached_tokens": 4, "cache_write_tokens": 6},
        }
    )
    assert usage == Usage(40, 3, 4, 6)


def test_cache_parts_never_exceed_the_prompt() -> None:
    usage = from_openai(
        {"prompt_tokens": 10, "prompt_tokens_details": {"cached_tokens": 8, "cache_write_tokens": 9}}
    )
    assert usage == Usage(10, 0, 8, 2)


def test_to_openai_keeps_cache_writes_and_the_sdk_reads_them() -> None:
    body = to_openai(Usage(100, 5, 30, 20))
    parsed = CompletionUsage.model_validate(body)
    assert parsed.prompt_tokens_details is not None
    assert parsed.prompt_tokens_details.cached_tokens == 30
    assert parsed.prompt_tokens_details.cache_write_tokens == 20
    assert "prompt_tokens_details" not in to_openai(Usage(3, 4))


def test_to_responses_has_every_field_the_sdk_requires() -> None:
    parsed = ResponseUsage.model_validate(to_responses(Usage(100, 5, 30, 20)))
    assert parsed.input_tokens_details.cache_write_tokens == 20
    assert parsed.input_tokens_details.cached_tokens == 30
    assert parsed.total_tokens == 105


counts = st.integers(min_value=0, max_value=10**7)


@given(uncached=counts, read=counts, write=counts, output=counts)
def test_every_spelling_round_trips(uncached: int, read: int, write: int, output: int) -> None:
    usage = Usage(uncached + read + write, output, read, write)
    assert from_anthropic(to_anthropic(usage)) == usage
    assert from_openai(to_openai(usage)) == usage
    assert from_openai(to_responses(usage)) == usage
