"""olga's guardrail engine: detectors, screens, body walkers and stream screening. Pure: no I/O but
the classifier's model files, read once (`classifier`).

Typical use by the gateway::

    specs = [...]                                        # the key's, team's and global GuardrailSpecs
    screen = Screen(specs, "input")                      # once per request and stage
    outcome = screen_request("chat", body, screen)       # redacts body in place
    if outcome.blocked:                                  # 422 guardrail_blocked
        raise GuardrailBlocked(outcome.block_message())  # names guardrail, stage, entity types
    record(v.as_record() for v in outcome.violations)    # metadata only, never the matched text

    out = Screen(specs, "output")
    screen_response("chat", response_body, out)          # non-streamed: redacts in place
    events = StreamEventScreener("chat", out)            # streamed: per parsed SSE data object
    for event in events.process(chunk): send(event)
    if events.blocked: ...                               # stop relaying, send an error event
    for event in events.finish(): send(event)            # at end of stream, before [DONE]
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from olga_cli.guardrails.bodies import RequestTexts, screen_request, screen_response
    from olga_cli.guardrails.detector import ClassifierDetector, Detector, Match, TextClassifier
    from olga_cli.guardrails.injection import PromptInjectionDetector
    from olga_cli.guardrails.pii import PiiDetector
    from olga_cli.guardrails.screen import (
        Screen,
        ScreenOutcome,
        ScreenResult,
        advice_apart,
        default_detectors,
        describe_block,
        redaction_token,
    )
    from olga_cli.guardrails.secrets import SecretsDetector
    from olga_cli.guardrails.spec import (
        ENTITIES,
        Action,
        Api,
        GuardrailSpec,
        GuardrailType,
        SpecStage,
        Stage,
        Violation,
        validate_spec,
    )
    from olga_cli.guardrails.stream import StreamScreener
    from olga_cli.guardrails.stream_events import StreamEventScreener
    from olga_cli.guardrails.walkers import TextSlot, request_texts, response_texts

# Loaded on first use (PEP 562): the store and the CLI import ``guardrails.spec`` alone, and importing
# this package used to load every detector and its compiled patterns first (about 130 ms on every
# `olga` command). ``from olga_cli.guardrails import Screen`` works as before.
_WHERE = {
    "Action": "olga_cli.guardrails.spec",
    "Api": "olga_cli.guardrails.spec",
    "ClassifierDetector": "olga_cli.guardrails.detector",
    "Detector": "olga_cli.guardrails.detector",
    "ENTITIES": "olga_cli.guardrails.spec",
    "GuardrailSpec": "olga_cli.guardrails.spec",
    "GuardrailType": "olga_cli.guardrails.spec",
    "Match": "olga_cli.guardrails.detector",
    "PiiDetector": "olga_cli.guardrails.pii",
    "PromptInjectionDetector": "olga_cli.guardrails.injection",
    "Screen": "olga_cli.guardrails.screen",
    "ScreenOutcome": "olga_cli.guardrails.screen",
    "ScreenResult": "olga_cli.guardrails.screen",
    "SecretsDetector": "olga_cli.guardrails.secrets",
    "SpecStage": "olga_cli.guardrails.spec",
    "Stage": "olga_cli.guardrails.spec",
    "StreamEventScreener": "olga_cli.guardrails.stream_events",
    "StreamScreener": "olga_cli.guardrails.stream",
    "TextClassifier": "olga_cli.guardrails.detector",
    "TextSlot": "olga_cli.guardrails.walkers",
    "Violation": "olga_cli.guardrails.spec",
    "advice_apart": "olga_cli.guardrails.screen",
    "default_detectors": "olga_cli.guardrails.screen",
    "describe_block": "olga_cli.guardrails.screen",
    "redaction_token": "olga_cli.guardrails.screen",
    "request_texts": "olga_cli.guardrails.walkers",
    "response_texts": "olga_cli.guardrails.walkers",
    "RequestTexts": "olga_cli.guardrails.bodies",
    "screen_request": "olga_cli.guardrails.bodies",
    "screen_response": "olga_cli.guardrails.bodies",
    "validate_spec": "olga_cli.guardrails.spec",
}


def __getattr__(name: str) -> Any:
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module 'olga_cli.guardrails' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


__all__ = [
    "ENTITIES",
    "Action",
    "Api",
    "ClassifierDetector",
    "Detector",
    "GuardrailSpec",
    "GuardrailType",
    "Match",
    "PiiDetector",
    "PromptInjectionDetector",
    "RequestTexts",
    "Screen",
    "ScreenOutcome",
    "ScreenResult",
    "SecretsDetector",
    "SpecStage",
    "Stage",
    "StreamEventScreener",
    "StreamScreener",
    "TextClassifier",
    "TextSlot",
    "Violation",
    "advice_apart",
    "default_detectors",
    "describe_block",
    "redaction_token",
    "request_texts",
    "response_texts",
    "screen_request",
    "screen_response",
    "validate_spec",
]
