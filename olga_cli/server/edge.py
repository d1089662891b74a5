"""Headers as the pipeline may read them.

aiohttp hands over header bytes that are not UTF-8 as lone surrogates (``surrogateescape``): such a
value fails wherever it is written (the record, a header forwarded to the provider). It is dropped
here, as if it had not been sent: a key that cannot be read is no key (401), a title that cannot be
read is no title. So is a value longer than olga keeps of a header it only records (``X-Title``, ...).
"""

from __future__ import annotations

from collections.abc import Mapping

from multidict import CIMultiDict, CIMultiDictProxy

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
