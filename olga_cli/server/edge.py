"""A request's headers and body as the pipeline may read them.

The body: one too large for ``[server] max_body_mb`` is a 413, one that cannot be decoded as its
``Content-Encoding`` says (``gzip`` over plain bytes) a 400; both found as it is read
(``server/http1.py``), answered after authentication like any other mistake.

The headers:

The server hands over header bytes that are not UTF-8 as lone surrogates (``surrogateescape``): such a
value fails wherever it is written (the record, a header forwarded to the provider). It is dropped
here, as if it had not been sent: a key that cannot be read is no key (401), a title that cannot be
read is no title. So is a value longer than olga keeps of a header it only records (``X-Title``, ...).
"""

from __future__ import annotations

from collections.abc import Mapping

from multidict import CIMultiDict, CIMultiDictProxy

from olga_cli.errors import GatewayError, InvalidRequest, RequestTooLarge
from olga_cli.validation import is_encodable

# Headers olga only records (attribution, correlation); longer values are dropped, not stored.
RECORDED = frozenset(
    {
        "x-title",
        "http-referer",
        "x-request-id",
        "x-app",
        "originator",
        "user-agent",
        "x-olga-session",
        "x-claude-code-session-id",
        "session-id",
        "x-olga-tags",
        "x-olga-user",
    }
)
RECORDED_MAX_CHARS = 1024


def readable_headers(headers: CIMultiDictProxy[str]) -> Mapping[str, str]:
    """``headers`` without the values olga cannot use; the same object when every value is fine
    (almost always: one pass over a few short ASCII strings)."""
    if all(_fits(name, value) for name, value in headers.items()):
        return headers
    return CIMultiDictProxy(CIMultiDict((n, v) for n, v in headers.items() if _fits(n, v)))


def _fits(name: str, value: str) -> bool:
    if len(value) > RECORDED_MAX_CHARS and name.lower() in RECORDED:
        return False
    return is_encodable(value) and is_encodable(name)


def body_too_large(max_bytes: int) -> GatewayError:
    return RequestTooLarge(
        f"The request body is larger than the {max_bytes // (1024 * 1024)} MiB limit; "
        "send less, or raise [server] max_body_mb in config.toml."
    )


def body_unreadable(what: str) -> GatewayError:
    return InvalidRequest(
        f"The request body could not be read ({what}); send plain JSON, or compress it the way its "
        "Content-Encoding header says."
    )
