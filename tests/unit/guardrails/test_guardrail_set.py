"""The gateway's guardrail set builds a detector only for the types its guardrails use."""

from __future__ import annotations

from olga_cli.gateway.relay.guardrail_set import GuardrailSet
from olga_cli.store.guardrails import GuardrailRow


def row(kind: str, scope_id: str | None = None) -> GuardrailRow:
    scope = "key" if scope_id else "global"
    return GuardrailRow(1, kind, scope, scope_id, kind, "input", "block", (), 0.5, 0.0)  # type: ignore[arg-type]


def test_pii_guardrails_alone_never_load_the_injection_classifier() -> None:
    guardrails = GuardrailSet([row("pii")])
    screen = guardrails.screen("key_1", None, "input")
    assert screen is not None and screen.active
    assert set(guardrails.detectors or {}) == {"pii"}


def test_a_keys_own_type_is_added_when_that_key_is_screened() -> None:
    guardrails = GuardrailSet([row("pii"), row("secrets", scope_id="key_2")])
    guardrails.screen("key_1", None, "input")
    assert set(guardrails.detectors or {}) == {"pii"}
    guardrails.screen("key_2", None, "input")
    assert set(guardrails.detectors or {}) == {"pii", "secrets"}
