"""Screening whole request and response bodies: walk every text, screen it, write redactions back."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from olga_cli.guardrails.screen import Screen, ScreenOutcome, text_digest
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


@dataclass(frozen=True, slots=True)
class RequestTexts:
    """A request's texts, each with its ``text_digest``: read once, then screened on the event loop
    when the screen remembers every one (an agent's turn seen before), or in a worker thread when a
    model has new text to read."""

    slots: list[TextSlot]
    texts: list[str]  # as read, before any redaction
    digests: list[bytes | None]  # None for an empty text, which nothing screens

    @classmethod
    def of(cls, api: Api, body: Mapping[str, Any]) -> RequestTexts:
        slots = list(request_texts(api, body))
        texts = [slot.get() for slot in slots]
        return cls(slots, texts, [text_digest(text) if text else None for text in texts])

    def remembered_by(self, screen: Screen) -> bool:
        return all(digest is None or screen.remembers(digest) for digest in self.digests)

    def screen(self, screen: Screen) -> ScreenOutcome:
        """Screen the texts; redactions are written into the body in place."""
        return self._screen(screen, write_back=True)

    def advise(self, screen: Screen) -> ScreenOutcome:
        """A `log`-only screen's verdicts on the texts as they were read, writing nothing back: safe
        in a worker thread while the event loop redacts the body."""
        return self._screen(screen, write_back=False)

    def _screen(self, screen: Screen, *, write_back: bool) -> ScreenOutcome:
        outcome = ScreenOutcome()
        if not screen.active:
            return outcome
        for slot, text, digest in zip(self.slots, self.texts, self.digests, strict=True):
            result = screen.screen_text(text, field=slot.path, digest=digest)
            if not result.violations:
                continue
            outcome.add(result)
            if write_back and result.text != text:
                slot.set(result.text)
        return outcome


def _screen_slots(slots: Iterable[TextSlot], screen: Screen) -> ScreenOutcome:
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
