"""A provider's error, made safe to show: credentials scrubbed out, and summed up in a line.

Some providers repeat what they were sent when they refuse it ("Invalid API key: sk-..."), and an
error body travels far: to the caller (passed through or reshaped), into olga's own messages, the
log, the record, ``/v1/generation`` and ``olga providers list``. So every error body is scrubbed the
moment it is read: the provider's own key wherever it appears, and whatever the secrets detector
recognises (other providers' keys, bearer tokens, private keys).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping

from olga_cli.guardrails.secrets import SecretsDetector

PROVIDER_KEY = "[PROVIDER_KEY]"
_DETECTOR = SecretsDetector()  # stateless: its patterns are compiled once, at import
_MIN_SECRET = 8  # shorter "keys" (a test's "x") would blank out ordinary words


def scrub_text(text: str, secrets: Iterable[str | None] = ()) -> str:
    """``text`` with each of ``secrets`` and each detected credential replaced by a placeholder."""
    for secret in secrets:
        if secret and len(secret) >= _MIN_SECRET and secret in text:
            text = text.replace(secret, PROVIDER_KEY)
    matches = sorted(_DETECTOR.detect(text), key=lambda m: (m.start, -m.end))
    if not matches:
        return text
    out: list[str] = []
    cursor = 0
    for match in matches:
        if match.end <= cursor:
            continue  # inside a span already replaced
        out += [text[cursor : max(match.start, cursor)], f"[{match.entity.upper()}]"]
        cursor = match.end
    out.append(text[cursor:])
    return "".join(out)


def scrub(raw: bytes, secrets: Iterable[str | None] = ()) -> bytes:
    """An error body, scrubbed; returned untouched (byte for byte) when there was nothing to remove."""
    if not raw:
        return raw
    text = raw.decode("utf-8", "replace")
    cleaned = scrub_text(text, secrets)
    return raw if cleaned == text else cleaned.encode()


def error_summary(raw: bytes) -> str:
    """The provider's error message in a line (its ``error.message``, else the start of its body)."""
    try:
        parsed = json.loads(raw)
        error = parsed.get("error") if isinstance(parsed, dict) else None
        if isinstance(error, dict) and error.get("message"):
            return str(error["message"])[:300]
    except (ValueError, UnicodeDecodeError, RecursionError):
        pass
    return raw[:300].decode("utf-8", "replace")


def redirect_summary(headers: Mapping[str, str]) -> str:
    location = headers.get("Location", "nowhere")[:200]
    return f"a redirect to {location}, not followed: check the provider's base_url"
