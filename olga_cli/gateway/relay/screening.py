"""Guardrails in the request pipeline: screening what goes to the model and what comes back.

- ``Guard.screen_input`` (after admission, before the provider is called): the request body in the
  caller's API is screened in place, so a redaction rewrites what the provider gets; a block raises
  ``GuardrailBlocked`` (422 in the route's error shape).
- ``screen_answer`` (a whole answer, after translation into the caller's API): redacts the body the
  caller gets, or replaces it with the 422 error (the provider's usage is still charged).
- ``screen_stream`` wraps a stream relay so every event the caller gets passes the output guardrails
  (``StreamEventScreener``); a block ends the stream with an error event of the caller's API.

When no guardrail applies to the key none of this costs more than a dict lookup per stage: there is
no ``Guard`` and the relay is not wrapped. Violations go into the record's ``guardrails`` list and, as
rows of ``guardrail_violations`` (``Guard.statements``), into the batch that commits the record. Stored bodies never
keep what a guardrail blocked or redacted (``Guard.scrub``); the matched text is never recorded.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import logging
from collections.abc import Callable, Iterable, Sequence
from typing import Any, Literal

from olga_cli import jsonwire
from olga_cli.errors import GuardrailBlocked
from olga_cli.gateway.error_response import ErrorShape, render
from olga_cli.gateway.relay.guardrail_set import GuardrailSet
from olga_cli.gateway.upstream.exchange import Converted
from olga_cli.guardrails import (
    Api,
    RequestTexts,
    Screen,
    ScreenOutcome,
    StreamEventScreener,
    Violation,
    describe_block,
    screen_request,
    screen_response,
)
from olga_cli.providers.error_shapes import stream_error_event
from olga_cli.providers.relay import Facts, StreamRelay
from olga_cli.providers.sse import DONE, SSEEvent, SSEParser, encode_event
from olga_cli.records import GenerationRecord
from olga_cli.store.generations import Extra
from olga_cli.store.guardrails import violation_insert

StreamApi = Literal["chat", "messages", "responses"]

log = logging.getLogger(__name__)

HINTS = {
    "input": "Remove it from the request and retry, or ask whoever runs olga about the guardrail.",
    "output": "The model's answer was withheld; rephrase the request and retry.",
}


class Guard:
    """One request's guardrails: the screens that apply to its key and what they found."""

    __slots__ = (
        "advice",
        "api",
        "input",
        "output",
        "record",
        "request_masked",
        "response_masked",
        "statements",
    )

    def __init__(
        self, api: Api, input: Screen | None, output: Screen | None, record: GenerationRecord
    ) -> None:
        self.api = api
        self.input = input
        self.output = output
        self.record = record  # the generation record the violations are listed in
        self.statements: list[Extra] = []  # violation rows, committed with the record
        self.request_masked = False  # a block or redaction on input: the stored request is masked
        self.response_masked = False  # the same on a streamed output: the stored text is masked
        # The advisory model's verdict, being reached beside the upstream call (`take_advice`).
        self.advice: asyncio.Future[ScreenOutcome] | None = None

    def found(self, violations: Iterable[Violation]) -> None:
        """Into the record's ``guardrails`` list and into the batch that commits it."""
        record = self.record
        for violation in violations:
            record.guardrails.append(violation_json(violation))
            self.statements.append(
                violation_insert(
                    violation, generation_id=record.id, key_id=record.key_id, at=record.created_at
                )
            )

    async def screen_input(self, body: dict[str, Any]) -> None:
        """Screen the request body in place (a redaction rewrites what the provider gets); a block
        raises 422. With the prompt-injection classifier it runs in a worker thread, so other
        requests never wait for the model."""
        screen = self.input
        if screen is None:
            return
        if screen.advisory is None:
            outcome = await screen_request_off_loop(self.api, body, screen)
        else:
            texts = RequestTexts.of(self.api, body)
            self._seek_advice(texts, screen.advisory)
            outcome = await screen_request_off_loop(self.api, body, screen, texts)
        if not outcome.violations:
            return
        self.found(outcome.violations)
        self.request_masked = any(v.action != "log" for v in outcome.violations)
        if outcome.blocked is not None:
            raise GuardrailBlocked(block_message(outcome.blocked, outcome.violations))

    def _seek_advice(self, texts: RequestTexts, advisory: Screen) -> None:
        """Start the model that only advises (`Screen.advisory`) on the request's texts as they came:
        at once when it has seen them all, else in a worker thread while the request goes on."""
        if texts.remembered_by(advisory):
            self.found(texts.advise(advisory).violations)
        else:
            self.advice = asyncio.get_running_loop().run_in_executor(None, texts.advise, advisory)

    async def take_advice(self) -> None:
        """The advisory model's violations, into the record before it is committed. Its verdict
        only informs, so a model that fails is logged and the request is recorded without it."""
        advice, self.advice = self.advice, None
        if advice is None:
            return
        try:
            outcome = await advice
        except Exception:
            log.exception(
                "the prompt-injection classifier failed; the request is recorded without its verdict"
            )
            return
        self.found(outcome.violations)

    def scrub(self, record: GenerationRecord, raw_body: bytes) -> None:
        """Stored bodies keep nothing a guardrail blocked or redacted: each match is masked, as
        `[EMAIL]`. (A non-streamed answer is already redacted, or replaced by the error, when stored.)"""
        if self.request_masked and self.input is not None and record.request_body is not None:
            record.request_body = _masked_request(self.api, raw_body, self.input)
        if self.response_masked and self.output is not None and record.response_body is not None:
            record.response_body = masking(self.output).screen_text(record.response_body).text


async def screen_request_off_loop(
    api: Api, body: dict[str, Any], screen: Screen, texts: RequestTexts | None = None
) -> ScreenOutcome:
    """`screen_request`, in a worker thread when the screen holds a model (`Screen.offload`) and the
    request has text it has not seen; a turn whose every text was screened before (an agent's
    history, resent) stays on the loop, sparing the hop to a thread and back. ``texts`` are the
    body's, when the caller has read them already."""
    if not screen.offload:
        return screen_request(api, body, screen) if texts is None else texts.screen(screen)
    if texts is None:
        texts = RequestTexts.of(api, body)
    if texts.remembered_by(screen):
        return texts.screen(screen)
    return await asyncio.to_thread(texts.screen, screen)


def violation_json(violation: Violation) -> dict[str, Any]:
    """A violation as the generation record shows it: what fired, where, what was done."""
    return {
        "guardrail": violation.guardrail_name,
        "guardrail_id": violation.guardrail_id,
        "type": violation.type,
        "stage": violation.stage,
        "entity": violation.entity,
        "action": violation.action,
        "field": violation.field,
        "start": violation.start,
        "end": violation.end,
        "confidence": round(violation.confidence, 3),
    }


def block_message(blocked: Violation, violations: Sequence[Violation]) -> str:
    """Names the guardrail, the stage and the entity types, never the text."""
    blocking = [blocked, *(v for v in violations if v.action == "block")]
    return f"{describe_block(blocking)}. {HINTS[blocked.stage]}"


def masking(screen: Screen) -> Screen:
    """The same guardrails, redacting wherever one would block or redact (for stored bodies)."""
    specs = [dataclasses.replace(spec, action="redact") for spec in screen.specs if spec.action != "log"]
    return Screen(specs, screen.stage)


def _masked_request(api: Api, raw_body: bytes, screen: Screen) -> str | None:
    try:
        body = json.loads(raw_body)
    except (ValueError, UnicodeDecodeError):
        return None
    if not isinstance(body, dict):
        return None
    screen_request(api, body, masking(screen))
    return json.dumps(body, ensure_ascii=False)


# -- input -----------------------------------------------------------------------------------------


def guard_for(
    guardrails: GuardrailSet, key_id: str, team_id: str | None, api: Api, record: GenerationRecord
) -> Guard | None:
    """The guardrails that apply to a key (its own and its team's); None when none do."""
    if guardrails.empty:
        return None
    input_screen = guardrails.screen(key_id, team_id, "input")
    output_screen = guardrails.screen(key_id, team_id, "output")
    if input_screen is None and output_screen is None:
        return None
    return Guard(api, input_screen, output_screen, record)


# -- whole answers ---------------------------------------------------------------------------------


def screen_answer(guard: Guard | None, shape: ErrorShape, converted: Converted) -> GuardrailBlocked | None:
    """Screen a whole answer in the caller's API: redact ``converted.body`` in place, or put the 422
    error (in the route's error ``shape``) in it and return that error."""
    if guard is None or guard.output is None or guard.api == "embeddings":
        return None
    try:
        body = json.loads(converted.body)
    except (ValueError, UnicodeDecodeError):
        return None
    if not isinstance(body, dict):
        return None
    outcome = screen_response(guard.api, body, guard.output)
    if not outcome.violations:
        return None
    guard.found(outcome.violations)
    if outcome.blocked is not None:
        error = GuardrailBlocked(block_message(outcome.blocked, outcome.violations))
        _, headers, converted.body = render(shape, error)
        converted.content_type = headers["Content-Type"]
        return error
    if outcome.redacted:
        converted.body = jsonwire.dumps(body)
    return None


# -- streams ---------------------------------------------------------------------------------------


def screen_stream(guard: Guard | None, relay: StreamRelay) -> StreamRelay:
    """``relay`` itself when no output guardrail applies; else a relay that screens its events."""
    if guard is None or guard.output is None or guard.api == "embeddings":
        return relay
    fail = getattr(relay, "fail", None)
    if callable(fail):
        return FailingScreenedRelay(relay, guard, fail)
    return ScreenedRelay(relay, guard)


def stream_blocked(relay: StreamRelay) -> bool:
    """Whether an output guardrail has ended this stream (stop reading from the provider)."""
    return isinstance(relay, ScreenedRelay) and relay.blocked is not None


def stream_status(relay: StreamRelay) -> tuple[int, str | None]:
    """The status and error to record for a stream that ran to its end: 422 when a guardrail ended it."""
    if isinstance(relay, ScreenedRelay) and relay.blocked is not None:
        return GuardrailBlocked.status, GuardrailBlocked.code
    return 200, None


class ScreenedRelay:
    """A ``StreamRelay`` whose events pass the output guardrails on their way to the caller.

    The inner relay's bytes are parsed back into events (it already speaks the caller's API, so
    translated streams are screened the same way), screened by a ``StreamEventScreener`` and encoded
    again. With only ``log`` guardrails nothing can change: the inner bytes go out untouched and the
    events are screened on the side.
    """

    def __init__(self, inner: StreamRelay, guard: Guard) -> None:
        api = guard.api
        assert guard.output is not None and api != "embeddings"
        self._inner = inner
        self._guard = guard
        self._api: StreamApi = api
        self._events = StreamEventScreener(api, guard.output)
        self._parser = SSEParser()
        self._rewrite = guard.output.may_change_text
        self._sequence = -1  # the last Responses sequence_number sent
        self._ended = False  # a block sent its error event: nothing more goes out
        self._recorded = False

    @property
    def facts(self) -> Facts:
        return self._inner.facts

    @property
    def blocked(self) -> Violation | None:
        return self._events.blocked

    def feed(self, event: SSEEvent) -> list[bytes]:
        out = self._inner.feed(event)
        if not out or self._ended:
            return []
        if len(out) == 1 and out[0] is event.raw:
            return self._screen_events([event])  # passed through as it came: already parsed
        return self._screen(out)

    def finish(self) -> list[bytes]:
        out = self._inner.finish()  # completes the facts even when a block ended the stream
        sent = [] if self._ended else self._screen(out, final=True)
        self._record()
        if self._ended and self._api == "chat":
            sent.append(DONE)  # after the error chunk, as a Chat stream ends
        return sent

    def _screen(self, out: list[bytes], *, final: bool = False) -> list[bytes]:
        return self._screen_events(self._parser.feed(b"".join(out)), final=final)

    def _screen_events(self, items: list[SSEEvent], *, final: bool = False) -> list[bytes]:
        sent: list[bytes] = []
        flushed = False
        for item in items:
            if item.data == "[DONE]":
                sent += self._flush()
                flushed = True
                if self._ended:
                    return sent
                sent.append(item.raw)
                continue
            try:
                data = json.loads(item.data)
            except ValueError:
                sent.append(item.raw)
                continue
            results = self._events.process(data)
            if self._events.blocked is not None:
                sent.append(self._error_event())
                return sent
            if not self._rewrite:
                sent.append(item.raw)
                continue
            for result in results:
                sent.append(self._encode(result, item.event if result is data else None))
        if final and not flushed:
            sent += self._flush()
        return sent

    def _flush(self) -> list[bytes]:
        """What the screener still holds back, released at the end of the stream."""
        results = self._events.finish()
        if self._events.blocked is not None:
            return [self._error_event()]
        return [self._encode(result, None) for result in results] if self._rewrite else []

    def _encode(self, data: Any, name: str | None) -> bytes:
        if isinstance(data, dict) and self._api != "chat":
            name = name or data.get("type")
            sequence = data.get("sequence_number")
            if isinstance(sequence, int):
                self._sequence = sequence
        return encode_event(data, event=name)

    def _error_event(self) -> bytes:
        blocked = self._events.blocked
        assert blocked is not None
        self._ended = True
        self._record()
        message = block_message(blocked, self._events.violations)
        kind = "invalid_request_error"
        return stream_error_event(
            self._api, message, kind, GuardrailBlocked.code, sequence_number=self._sequence + 1
        )

    def _record(self) -> None:
        if self._recorded:
            return
        self._recorded = True
        violations = self._events.violations
        self._guard.found(violations)
        if any(v.action != "log" for v in violations):
            self._guard.response_masked = True


class FailingScreenedRelay(ScreenedRelay):
    """For a relay that ends a broken stream its own API's way (``fail``), screened likewise."""

    def __init__(self, inner: StreamRelay, guard: Guard, fail: Callable[..., list[bytes]]) -> None:
        super().__init__(inner, guard)
        self._fail = fail

    def fail(self, message: str, *, type: str = "api_error", code: str | None = None) -> list[bytes]:
        out = self._fail(message, type=type, code=code)
        if self._ended:
            self._record()
            return []
        sent = self._screen(out)
        self._record()
        return sent
