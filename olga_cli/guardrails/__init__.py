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

from olga_cli.guardrails.bodies import screen_request, screen_response
from olga_cli.guardrails.detector import ClassifierDetector, Detector, Match, TextClassifier
from olga_cli.guardrails.injection import PromptInjectionDetector
from olga_cli.guardrails.pii import PiiDetector
from olga_cli.guardrails.screen import (
    Screen,
    ScreenOutcome,
    ScreenResult,
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
    "default_detectors",
    "describe_block",
    "redaction_token",
    "request_texts",
    "response_texts",
    "screen_request",
    "screen_response",
    "validate_spec",
]
