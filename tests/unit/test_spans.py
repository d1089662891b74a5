"""A large body's members forwarded as the caller wrote them, and its tools parsed and checked once.

The suite as a whole runs every body through this path (``tests/conftest.py``: the thresholds at 0,
and every body written from spans compared with the body written the ordinary way); these tests pin
what the path itself promises, at the real thresholds.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from olga_cli import jsonwire
from olga_cli.errors import InvalidRequest
from olga_cli.providers import prompt_cache
from olga_cli.providers.anthropic import prepare_messages
from olga_cli.validation import check_body, reuse
from olga_cli.validation.reuse import REMEMBERED, SPANNED_BODY, SPANNED_MEMBER, own_copies, parse_spanned

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "clients"


@pytest.fixture(autouse=True)
def real_thresholds(monkeypatch: pytest.MonkeyPatch) -> None:
    """The thresholds a user's olga runs with (the suite's conftest sets them to 0)."""
    monkeypatch.setattr(reuse, "SPANNED_BODY", SPANNED_BODY)
    monkeypatch.setattr(reuse, "SPANNED_MEMBER", SPANNED_MEMBER)
    reuse.forget()


def agent_turn() -> dict[str, Any]:
    """Claude Code's second turn, as captured from the real client (125 KB)."""
    body: dict[str, Any] = json.loads((FIXTURES / "claude_code_sonnet_turn2.json").read_text())["body"]
    return body


def spelled_as_a_caller_might(body: dict[str, Any]) -> bytes:
    """The body with spaces after separators and non-ASCII text escaped: the same JSON value, in
    bytes olga's own writer would never produce."""
    return json.dumps(body, ensure_ascii=True, separators=(", ", ": ")).encode()


def test_unchanged_members_go_upstream_as_the_caller_wrote_them() -> None:
    raw = spelled_as_a_caller_might(agent_turn())
    spanned = parse_spanned(raw)
    assert spanned is not None
    out = prepare_messages(spanned.body, "claude-upstream-name", default_max_tokens=1024)
    written = spanned.spans.dumps(out)
    tools = json.dumps(agent_turn()["tools"], ensure_ascii=True, separators=(", ", ": ")).encode()
    assert tools in written  # the caller's own spelling: not encoded again
    assert json.loads(written) == {**json.loads(raw), "model": "claude-upstream-name"}


def test_a_member_replaced_by_a_new_value_is_written_from_the_value() -> None:
    raw = spelled_as_a_caller_might(agent_turn())
    spanned = parse_spanned(raw)
    assert spanned is not None
    unmarked = {k: v for k, v in spanned.body.items() if k not in ("system", "messages")}
    marked, placed = prompt_cache.with_breakpoints(
        {**unmarked, "messages": [{"role": "user", "content": "hi"}]}
    )
    assert placed and marked["tools"] is not spanned.body["tools"]
    written = json.loads(spanned.spans.dumps(marked))
    assert written["tools"][-1]["cache_control"] == {"type": "ephemeral"}
    assert written == json.loads(jsonwire.dumps(marked))


def test_a_value_changed_in_place_is_caught_by_the_suites_check(monkeypatch: pytest.MonkeyPatch) -> None:
    """The conftest's check is what guards the rule that parsed values are never changed in place:
    here it is shown to fail when the rule is broken."""
    monkeypatch.setattr(jsonwire, "VERIFY_SPANS", True)
    spanned = parse_spanned(spelled_as_a_caller_might(agent_turn()))
    assert spanned is not None
    spanned.body["system"][0]["text"] = "changed in place"
    with pytest.raises(AssertionError, match="differs"):
        spanned.spans.dumps(spanned.body)
    reuse.forget()  # the system prompt changed is the one shared: not to be reported again


def test_small_bodies_and_what_msgspec_refuses_are_parsed_the_usual_way() -> None:
    big = "x" * SPANNED_BODY
    assert parse_spanned(json.dumps({"model": "m", "messages": []}).encode()) is None
    assert parse_spanned(json.dumps([big]).encode()) is None  # not an object
    assert parse_spanned(b'{"model": "m", "t": NaN, "pad": "' + big.encode() + b'"}') is None
    assert parse_spanned(b'{"model": "m", "t": "\\ud800", "pad": "' + big.encode() + b'"}') is None
    assert parse_spanned(b'{"model": "m", "pad": "' + big.encode() + b'"') is None  # cut short


def test_integers_past_64_bits_and_repeated_keys_read_as_the_whole_parse_reads_them() -> None:
    raw = (
        b'{"model": "a", "seed": 123456789012345678901234567890, "model": "b", "pad": "'
        + b"y" * SPANNED_BODY
        + b'"}'
    )
    spanned = parse_spanned(raw)
    assert spanned is not None
    assert spanned.body == jsonwire.loads_request(raw)[0]
    assert spanned.body["seed"] == 123456789012345678901234567890 and spanned.body["model"] == "b"
    assert json.loads(spanned.spans.dumps(spanned.body)) == json.loads(raw)


def test_tools_and_system_resent_verbatim_are_parsed_once_and_checked_once_per_api() -> None:
    turn = agent_turn()
    first = parse_spanned(json.dumps(turn).encode())
    second = parse_spanned(json.dumps({**turn, "messages": turn["messages"][:1]}).encode())
    assert first is not None and second is not None
    assert second.body["tools"] is first.body["tools"]
    assert second.body["tools"] == turn["tools"]
    assert first.checked_before("messages") == frozenset()
    check_body("messages", first.body, b"", text_checked=True)
    first.passed("messages")
    assert second.checked_before("messages") == {"tools", "system"}
    assert second.checked_before("chat") == frozenset()  # another API's table: checked there anew


def test_tools_that_differ_by_a_byte_are_parsed_and_checked_anew() -> None:
    turn = agent_turn()
    first = parse_spanned(json.dumps(turn).encode())
    assert first is not None
    first.passed("messages")
    broken = [*turn["tools"][:-1], {**turn["tools"][-1], "name": 123}]  # as long in JSON as "x"
    turn["tools"][-1]["name"] = "x"
    good = parse_spanned(json.dumps(turn).encode())
    assert good is not None
    good.passed("messages")
    bad = parse_spanned(json.dumps({**turn, "tools": broken}).encode())
    assert bad is not None and bad.body["tools"] is not good.body["tools"]
    assert bad.checked_before("messages") == {"system"}  # the same system prompt; the tools anew
    with pytest.raises(InvalidRequest) as refused:
        check_body("messages", bad.body, b"", text_checked=True, checked=bad.checked_before("messages"))
    assert refused.value.param is not None and refused.value.param.startswith("tools")


def test_the_tools_remembered_are_bounded() -> None:
    pad = "z" * SPANNED_BODY
    for n in range(REMEMBERED + 3):
        tools = [{"name": f"t{i}", "input_schema": {"type": "object"}} for i in range(40 + n)]
        assert parse_spanned(json.dumps({"model": "m", "tools": tools, "pad": pad}).encode()) is not None
    assert len(reuse._known) == REMEMBERED


@settings(max_examples=60, deadline=None)
@given(
    value=st.recursive(
        st.none()
        | st.booleans()
        | st.integers()
        | st.floats(allow_nan=False, allow_infinity=False)
        | st.text(),
        lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=5), inner, max_size=4),
        max_leaves=20,
    ),
    replaced=st.booleans(),
)
def test_any_body_reads_back_as_the_body_olga_built(value: object, replaced: bool) -> None:
    raw = json.dumps({"model": "m", "value": value, "tools": [value], "pad": "p" * SPANNED_BODY}).encode()
    spanned = parse_spanned(raw)
    assert spanned is not None
    out = {**spanned.body, "model": "upstream"}
    if replaced:
        out["pad"] = "q"
    assert jsonwire.loads(spanned.spans.dumps(out)) == jsonwire.loads(jsonwire.dumps(out))


def test_a_screened_system_prompt_is_the_requests_own_copy() -> None:
    """A guardrail's redaction rewrites the system prompt in place: it rewrites the request's copy,
    never the value shared with the next request that sends the same prompt."""
    raw = json.dumps(agent_turn()).encode()
    first = parse_spanned(raw)
    assert first is not None and first.shared["system"].value is first.body["system"]
    own_copies(first.body, first.spans)
    first.body["system"][0]["text"] = "[REDACTED]"
    assert reuse.intact()
    second = parse_spanned(raw)
    assert second is not None and second.body["system"] == agent_turn()["system"]
    assert first.body["system"] is not second.body["system"] is first.shared["system"].value
    second.body["system"][0]["text"] = "changed in place, uncopied"
    assert not reuse.intact()  # what the suite's check after every test would report
    reuse.forget()
