"""Screening whole request and response bodies: walk every text, screen it, write redactions back."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from olga_cli.guardrails.screen import Screen, ScreenOutcome
from olga_cli.guardrails.spec import Api
from olga_cli.guardrails.walkers import TextSlot, drop_logprobs, request_texts, response_texts


def screen_request(api: Api, body: Mapping[str, Any], screen: Screen) -> ScreenOutcome:
    """Screen every text the model will read; redactions are written into `body` in place."""
    return _screen_slots(request_texts(api, body), screen)


def screen_response(api: Api, body: Mapping[str, Any], screen: Screen) -> ScreenOutcome:
    """Screen every text the user will get in a non-streamed response; redacts `body` in place
    (token log-probabilities go too when anything was redacted, as they spell the text out)."""
    outcome = _screen_slots(response_texts(api, body), screen)
    if outcome.redacted:
        drop_logprobs(api, body)
    return outcome


def _screen_slots(slots: Iterator[TextSlot], screen: Screen) -> ScreenOutcome:
    outcome = ScreenOutcome()
    if not screen.active:
        return outcome
    for slot in slots:
        original = slot.get()
        result = screen.screen_text(original, field=slot.path)
        if not result.violations:
            continue
        outcome.add(result)
        if result.text != original:
            slot.set(result.text)
    return outcome
