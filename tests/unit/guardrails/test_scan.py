"""The anchoring helpers the detectors rely on for speed must not lose any occurrence."""

from __future__ import annotations

from olga_cli.guardrails.scan import KeywordIndex, merge_windows, trailing_run, windows


def test_keyword_index_finds_overlapping_keywords_in_short_and_long_texts_alike() -> None:
    index = KeywordIndex([("instruction", "rule"), ("instructions",), ("end", "pretend")])
    text = "pretend the instructions end; rules apply. " * 3
    short = KeywordIndex([("instruction", "rule"), ("instructions",), ("end", "pretend")], short=10_000)
    long = KeywordIndex([("instruction", "rule"), ("instructions",), ("end", "pretend")], short=0)
    expected = {
        0: sorted([text.find("instructions", i) for i in range(0, len(text), 43)]
                  + [text.find("rules", i) for i in range(0, len(text), 43)]),
        1: [text.find("instructions", i) for i in range(0, len(text), 43)],
        2: sorted([43 * k for k in range(3)] + [43 * k + 4 for k in range(3)] + [43 * k + 25 for k in range(3)]),
    }  # fmt: skip
    for finder in (index, short, long):
        found = {group: sorted(positions) for group, positions in finder.occurrences(text).items()}
        assert found == expected


def test_windows_merge_when_they_overlap() -> None:
    assert merge_windows([50, 10, 30], 100, before=5, after=10) == [(5, 20), (25, 40), (45, 60)]
    assert merge_windows([10, 18], 100, before=5, after=10) == [(5, 28)]
    assert windows("a@b c@d", ("@",), before=1, after=2) == [(0, 3), (4, 7)]
    assert windows("a@b c@d", ("@",), before=1, after=4) == [(0, 7)]
    assert windows("plain", ("@",), before=1, after=2) == []


def test_trailing_run_is_the_run_of_given_characters_at_the_end() -> None:
    assert trailing_run("call 4111 1111", "0123456789 ", limit=100) == 4
    assert trailing_run("done.", "0123456789", limit=100) == 5
    assert trailing_run("x" + "1" * 50, "1", limit=10) == 41
