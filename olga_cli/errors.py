"""olga's exception tree: every error olga raises or answers.

Each class carries the facts needed to render it later: a ``GatewayError`` by the route's API on the
HTTP side (``gateway/error_response.py``; errors outside the pipeline, such as an unknown route, a
wrong method or a bug, are answered by the server, ``server/http1.py``), any other ``OlgaError`` as one line
on the CLI side (``cli/common.py``: ``error: ...``, exit status 1)::

    OlgaError
    ├── UserError                    a CLI mistake: bad flag value, unknown name (exit 1, one line)
    ├── RunFailed                    `olga run` could not start the command (exit 125, one line)
    ├── CatalogError                 the model catalog or its overlay is malformed (also a ValueError)
    ├── StoreError                   the store cannot be opened or is newer than this olga (also a
    │                                RuntimeError)
    ├── HotUnavailable               team mode's Redis did not answer; never reaches a caller: the
    │                                gateway falls back to PostgreSQL or this instance's own state
    ├── UpstreamFailure              a provider could not be reached or stopped answering; ``kind``
    │                                says how. Failover turns it into a retry, a fallback or a 502/504
    │   └── SSETooLarge              a provider's SSE event or line beyond olga's limits ("too_large")
    ├── LinkError                    the connection to a provider failed or broke, in olga's HTTP
    │   │                            client (``gateway/upstream/http1.py``); never reaches a caller:
    │   │                            ``Upstreams.send`` and the reply's reads make it an UpstreamFailure
    │   ├── ConnectFailed            no connection was made, so the request was not sent
    │   │   └── ConnectTimedOut      connecting took longer than the provider's ``connect_timeout``
    │   └── Disconnected             the connection broke, or carried what is not HTTP, once the
    │                                request was on its way
    ├── ClientGone                   the caller hung up before the response ended; recorded as 499
    └── GatewayError                 an HTTP error with a status and a contract ``code``
        ├── InvalidRequest           400 invalid_request
        │   ├── TranslationError     400 invalid_request: a field the target API cannot express
        │   └── MethodNotAllowed     405 invalid_request: the route exists, not for this method
        ├── UnknownModelPricing      400 unknown_model_pricing
        ├── InvalidApiKey            401 invalid_api_key
        ├── InsufficientCredits      402 insufficient_credits
        ├── ModelNotAllowed          403 model_not_allowed
        ├── NotFound                 404 not_found
        ├── RequestTooLarge          413 request_too_large
        ├── GuardrailBlocked         422 guardrail_blocked
        ├── UsageLimitExceeded       429 usage_limit_exceeded
        ├── RateLimitExceeded        429 rate_limit_exceeded
        ├── ProviderPaused           429 provider_paused
        ├── InternalError            500 internal_error: a bug in olga, logged
        ├── UpstreamError            502 upstream_error
        ├── ProviderUnavailable      503 provider_unavailable
        │   └── NoActiveKeys         503 provider_unavailable: every key resting or rejected
        ├── StoreUnavailable         503 store_unavailable: team mode, the shared store did not answer
        └── UpstreamTimeout          504 upstream_timeout

    UpstreamHTTPError                not olga's: the provider's own error response, passed through
                                     to the caller as it came (or mapped into the caller's API shape
                                     when the request was translated)
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field


class OlgaError(Exception):
    """Base of every error olga raises on purpose."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class UserError(OlgaError):
    """A mistake on the command line: printed as one line on stderr, exit status 1."""


class RunFailed(OlgaError):
    """``olga run`` could not start the command: one line on stderr, exit status 125."""


class CatalogError(OlgaError, ValueError):
    """The catalog or its overlay is malformed; the message names the file and the entry."""


class StoreError(OlgaError, RuntimeError):
    """The store cannot be opened or is newer than this olga."""


class HotUnavailable(OlgaError):
    """Redis did not answer (or was found down less than a moment ago)."""


class UpstreamFailure(OlgaError):
    """The provider could not be reached or stopped answering; ``kind`` says how."""

    def __init__(self, kind: str, message: str, *, before_send: bool = False) -> None:
        super().__init__(message)
        # "connect", "connect_timeout", "first_byte_timeout", "idle_timeout", "total_timeout",
        # "disconnected", "too_large", "malformed"
        self.kind = kind
        self.before_send = before_send

    @property
    def is_timeout(self) -> bool:
        return self.kind.endswith("timeout")


class SSETooLarge(UpstreamFailure):
    """A provider's SSE event or line longer than olga takes (``providers.sse``)."""

    def __init__(self, message: str) -> None:
        super().__init__("too_large", message)


class LinkError(OlgaError):
    """The connection to a provider failed or broke: nothing the provider said."""


class ConnectFailed(LinkError):
    """No connection could be made: the request was not sent."""


class ConnectTimedOut(ConnectFailed):
    """Connecting took longer than the provider's connect timeout."""


class Disconnected(LinkError):
    """The connection broke, or carried something that is not HTTP, after the request went out."""


class ClientGone(OlgaError):
    """The caller closed the connection before the response ended."""

    def __init__(self, message: str = "the caller closed the connection") -> None:
        super().__init__(message)


class GatewayError(OlgaError):
    """An error answered over HTTP with ``status`` and the contract's ``code``."""

    status: int = 500
    code: str = "internal_error"

    def __init__(
        self,
        message: str,
        *,
        param: str | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.param = param
        self.headers: dict[str, str] = dict(headers or {})


class InvalidRequest(GatewayError):
    status = 400
    code = "invalid_request"


class TranslationError(InvalidRequest):
    """A field that cannot be carried into the provider's API; ``param`` names it."""


class MethodNotAllowed(InvalidRequest):
    """The route exists, but not for this method."""

    status = 405


class UnknownModelPricing(GatewayError):
    status = 400
    code = "unknown_model_pricing"


class InvalidApiKey(GatewayError):
    status = 401
    code = "invalid_api_key"


class InsufficientCredits(GatewayError):
    status = 402
    code = "insufficient_credits"


class ModelNotAllowed(GatewayError):
    status = 403
    code = "model_not_allowed"


class NotFound(GatewayError):
    status = 404
    code = "not_found"


class RequestTooLarge(GatewayError):
    status = 413
    code = "request_too_large"


class GuardrailBlocked(GatewayError):
    status = 422
    code = "guardrail_blocked"


class UsageLimitExceeded(GatewayError):
    status = 429
    code = "usage_limit_exceeded"


class RateLimitExceeded(GatewayError):
    status = 429
    code = "rate_limit_exceeded"


class ProviderPaused(GatewayError):
    status = 429
    code = "provider_paused"


class InternalError(GatewayError):
    """Something olga did not expect (a bug): logged, recorded, and answered without its details."""

    status = 500
    code = "internal_error"


class UpstreamError(GatewayError):
    status = 502
    code = "upstream_error"


class ProviderUnavailable(GatewayError):
    status = 503
    code = "provider_unavailable"


class StoreUnavailable(GatewayError):
    """Team mode: the shared store could not be asked, so nothing is admitted unchecked."""

    status = 503
    code = "store_unavailable"


class NoActiveKeys(ProviderUnavailable):
    """Every key of the provider is resting or rejected (or there is none); ``retry_after`` if one returns."""

    def __init__(self, message: str, *, retry_after: float | None = None) -> None:
        headers = {"Retry-After": str(max(1, math.ceil(retry_after)))} if retry_after is not None else None
        super().__init__(message, headers=headers)
        self.retry_after = retry_after


class UpstreamTimeout(GatewayError):
    status = 504
    code = "upstream_timeout"


@dataclass
class UpstreamHTTPError(Exception):
    """The provider answered with an error status; its body goes back to the caller as it came."""

    status: int
    body: bytes
    content_type: str = "application/json"
    headers: dict[str, str] = field(default_factory=dict)

    def __str__(self) -> str:
        return f"provider answered {self.status}: {self.body[:200]!r}"
