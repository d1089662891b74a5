"""Answers a provider got wrong: a body that is not the JSON its API promises, or JSON of the wrong shape.

The provider did the work, so the request is recorded and charged for the usage the provider reported
(estimated when it reported none), and the caller gets a 502 in its own API's shape saying what came
back; never a 500, which would say olga failed.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from typing import Any

from olga_cli.errors import UpstreamError
from olga_cli.gateway.call import Context
from olga_cli.gateway.error_response import render
from olga_cli.gateway.finish import commit, fill, headers_for, store_bodies
from olga_cli.gateway.sink import Sink
from olga_cli.gateway.state import Gateway
from olga_cli.gateway.upstream.served import Served
from olga_cli.providers.relay import Facts
from olga_cli.providers.usage import from_anthropic, from_openai
from olga_cli.store.generations import Extra

log = logging.getLogger("olga.relay")

# What reading a malformed answer raises: invalid JSON (ValueError), a field of the wrong type
# (TypeError, AttributeError, KeyError, IndexError), nesting deeper than the parser goes
# (RecursionError), or the converter's own refusal (UpstreamError).
MALFORMED = (ValueError, TypeError, AttributeError, KeyError, IndexError, RecursionError, UpstreamError)
KEPT_BYTES = 64 * 1024  # of a malformed body, in the record: enough to see what came back


def why(exc: BaseException) -> str:
    if isinstance(exc, RecursionError):
        return "JSON nested too deeply"
    if isinstance(exc, UpstreamError):
        return exc.message
    return f"{type(exc).__name__}: {str(exc)[:200]}"


async def answer_malformed(
    gw: Gateway,
    ctx: Context,
    sink: Sink,
    served: Served,
    raw: bytes,
    exc: BaseException,
    health: Sequence[Extra],
) -> None:
    """Record the answer as the provider's failure, charged for what it reported, and answer 502."""
    name = served.target.provider.name
    reason = why(exc)
    log.warning("%s sent an answer olga cannot read: %s", name, reason)
    served.attempt.error = f"malformed answer: {reason}"
    facts = Facts(usage=_reported_usage(raw, anthropic=served.target.provider.api_format == "anthropic"))
    fill(gw, ctx, facts, status=502, error="upstream_error")
    store_bodies(gw, ctx, raw[:KEPT_BYTES].decode("utf-8", "replace"))
    await commit(gw, ctx, health)
    error = UpstreamError(
        f"Provider '{name}' sent an answer olga cannot read ({reason}); what it sent is in the record "
        f"(`olga generation {ctx.record.id} --bodies`). Retry, or try another model."
    )
    status, headers, body = render(ctx.call.shape, error)
    await sink.send(status, {**headers_for(gw, ctx, "application/json"), **headers}, body)


def _reported_usage(raw: bytes, *, anthropic: bool) -> Any:
    """The ``usage`` a malformed answer still carries, when it can be read at all."""
    try:
        answer = json.loads(raw)
        usage = answer.get("usage") if isinstance(answer, dict) else None
        return from_anthropic(usage) if anthropic else from_openai(usage)
    except MALFORMED:
        return None
