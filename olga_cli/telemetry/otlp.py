"""OTLP ``ExportTraceServiceRequest`` bytes written by hand from olga's span data (pure, no SDK).

The protobuf wire format is small: varints, length-delimited fields, little-endian fixed64 times.
Writing it directly costs a tenth of building OpenTelemetry SDK spans and encoding them through the
generated classes, and most of a span repeats from one request to the next (operation, provider,
model, key, team, status), so those key/value pairs are encoded once and joined as cached bytes.

Field numbers are those of opentelemetry-proto (``trace/v1/trace.proto``, ``common/v1/common.proto``,
``resource/v1/resource.proto``); the tests decode what this writes with the generated classes.
"""

from __future__ import annotations

import struct
from collections.abc import Iterable

from olga_cli.telemetry.genai import AttributeValue, Shared, SpanData

_FIXED64 = struct.Struct("<Q").pack
_FIXED32 = struct.Struct("<I").pack
_DOUBLE = struct.Struct("<d").pack
_KIND = {"server": b"\x30\x02", "client": b"\x30\x03"}  # Span.kind (6): SERVER 2, CLIENT 3
STATUS_ERROR = 2
# Span.flags bits 8 and 9: whether the parent is known to be remote, and that it is.
HAS_IS_REMOTE, IS_REMOTE = 0x100, 0x200
_CACHE_LIMIT = 4096  # cached encodings; past it a cache starts again (keys and models are not unbounded)


_SMALL = [bytes((n,)) for n in range(0x80)]


def varint(value: int) -> bytes:
    if 0 <= value < 0x80:
        return _SMALL[value]
    value &= 0xFFFF_FFFF_FFFF_FFFF  # a negative int64 is ten bytes of two's complement
    out = bytearray()
    while value > 0x7F:
        out.append((value & 0x7F) | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)


def field(tag: bytes, payload: bytes) -> bytes:
    """A length-delimited field: its tag byte(s), the payload's length, the payload."""
    size = len(payload)
    return tag + (_SMALL[size] if size < 0x80 else varint(size)) + payload


def any_value(value: AttributeValue) -> bytes:
    """An ``AnyValue`` message: string 1, bool 2, int64 3, double 4, array 5."""
    kind = type(value)  # not isinstance: a bool is an int to it, and this runs for every attribute
    if kind is str:
        return field(b"\x0a", value.encode())  # type: ignore[union-attr]
    if kind is int:
        return b"\x18" + varint(value)  # type: ignore[arg-type]
    if kind is bool:
        return b"\x10\x01" if value else b"\x10\x00"
    if kind is float:
        return b"\x21" + _DOUBLE(value)
    return field(b"\x2a", b"".join(field(b"\x0a", any_value(v)) for v in value))  # type: ignore[union-attr]


_KEYS: dict[str, bytes] = {}  # KeyValue.key (1) fields: attribute names are a fixed, small set


def key_value(key: str, value: AttributeValue) -> bytes:
    """A ``KeyValue`` message: key 1, value 2 (written out flat: it runs for every attribute)."""
    prefix = _KEYS.get(key)
    if prefix is None:
        prefix = field(b"\x0a", key.encode())
        if len(_KEYS) < _CACHE_LIMIT:
            _KEYS[key] = prefix
    kind = type(value)
    if kind is str:
        raw = value.encode()  # type: ignore[union-attr]
        size = len(raw)
        encoded = (b"\x0a" + _SMALL[size] if size < 0x80 else b"\x0a" + varint(size)) + raw
    elif kind is int:
        encoded = b"\x18" + varint(value)  # type: ignore[arg-type]
    else:
        encoded = any_value(value)
    size = len(encoded)
    return prefix + (b"\x12" + _SMALL[size] if size < 0x80 else b"\x12" + varint(size)) + encoded


def attributes(tag: bytes, values: dict[str, AttributeValue]) -> bytes:
    return b"".join(field(tag, key_value(k, v)) for k, v in values.items())


class Encoder:
    """Writes export requests for one resource and instrumentation scope, caching repeated pairs."""

    def __init__(self, resource: dict[str, AttributeValue], scope: tuple[str, str]) -> None:
        self._resource = field(b"\x0a", attributes(b"\x0a", resource))  # ResourceSpans.resource 1
        name, version = scope
        self._scope = field(b"\x0a", field(b"\x0a", name.encode()) + field(b"\x12", version.encode()))
        self._shared: dict[Shared, bytes] = {}
        self._names: dict[str, bytes] = {}

    def request(self, spans: Iterable[bytes]) -> bytes:
        """An ``ExportTraceServiceRequest``: one ResourceSpans (1) with one ScopeSpans (2)."""
        scope_spans = field(b"\x12", self._scope + b"".join(spans))
        return field(b"\x0a", self._resource + scope_spans)

    def span(
        self, data: SpanData, trace_id: int, span_id: int, parent_span_id: int | None, flags: int
    ) -> bytes:
        """One ``Span`` as a ScopeSpans.spans (2) field; ``flags`` as Span.flags (16, fixed32)."""
        parts = [b"\x0a\x10", trace_id.to_bytes(16, "big"), b"\x12\x08", span_id.to_bytes(8, "big")]
        if parent_span_id is not None:
            parts += (b"\x22\x08", parent_span_id.to_bytes(8, "big"))
        parts += (
            self._name(data.name),
            _KIND[data.kind],
            b"\x39" + _FIXED64(data.start_ns),
            b"\x41" + _FIXED64(data.end_ns),
            self._shared.get(data.shared) or self._remember(data.shared),
        )
        parts += [field(b"\x4a", key_value(k, v)) for k, v in data.attributes.items()]
        for event in data.events:  # Span.events 11: time 1 (fixed64), name 2, attributes 3
            body = b"\x09" + _FIXED64(event.time_ns) + field(b"\x12", event.name.encode())
            parts.append(field(b"\x5a", body + attributes(b"\x1a", event.attributes)))
        if data.error is not None:  # Span.status 15: message 2, code 3
            parts.append(field(b"\x7a", field(b"\x12", data.error.encode()) + b"\x18\x02"))
        parts.append(b"\x85\x01" + _FIXED32(flags))
        return field(b"\x12", b"".join(parts))

    def _remember(self, shared: Shared) -> bytes:
        """The span attributes (Span.attributes 9) that repeat, encoded once for every span they recur in."""
        if len(self._shared) >= _CACHE_LIMIT:
            self._shared.clear()
        encoded = self._shared[shared] = b"".join(
            field(b"\x4a", key_value(k, v)) for k, v in shared if v is not None
        )
        return encoded

    def _name(self, name: str) -> bytes:
        encoded = self._names.get(name)
        if encoded is None:
            if len(self._names) >= _CACHE_LIMIT:
                self._names.clear()
            encoded = self._names[name] = field(b"\x2a", name.encode())  # Span.name 5
        return encoded
