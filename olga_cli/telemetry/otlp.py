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
_KIND = {"server": 2, "client": 3}  # Span.kind
_TIMES = struct.Struct("<BBBQBQ").pack  # kind (6, varint), start and end times (7, 8: fixed64)
STATUS_ERROR = 2
# Span.flags bits 8 and 9: whether the parent is known to be remote, and that it is.
HAS_IS_REMOTE, IS_REMOTE = 0x100, 0x200
_CACHE_LIMIT = 4096  # cached encodings; past it a cache starts again (keys and models are not unbounded)


_SMALL = [bytes((n,)) for n in range(0x80)]
# Strings are encoded with errors="replace": a caller's JSON can carry a lone surrogate (a model name
# "\\ud800"), which is no UTF-8 and would cost the record its spans; protobuf strings must be UTF-8.


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
        return field(b"\x0a", value.encode(errors="replace"))  # type: ignore[union-attr]
    if kind is int:
        return b"\x18" + varint(value)  # type: ignore[arg-type]
    if kind is bool:
        return b"\x10\x01" if value else b"\x10\x00"
    if kind is float:
        return b"\x21" + _DOUBLE(value)
    return field(b"\x2a", b"".join(field(b"\x0a", any_value(v)) for v in value))  # type: ignore[union-attr]


_KEYS: dict[str, bytes] = {}  # KeyValue.key (1) fields: attribute names are a fixed, small set


def _key(key: str) -> bytes:
    prefix = _KEYS.get(key)
    if prefix is None:
        prefix = field(b"\x0a", key.encode(errors="replace"))
        if len(_KEYS) < _CACHE_LIMIT:
            _KEYS[key] = prefix
    return prefix


def key_value(key: str, value: AttributeValue) -> bytes:
    """A ``KeyValue`` message: key 1, value 2."""
    return _key(key) + field(b"\x12", any_value(value))


def attribute(key: str, value: AttributeValue) -> bytes:
    """A span attribute: a KeyValue as Span.attributes (9). It runs for every attribute of every
    span, so the usual sizes are written in one formatting call (each ``%c`` a length below 128)."""
    prefix = _KEYS.get(key) or _key(key)
    kind = type(value)
    if kind is str:
        raw = value.encode(errors="replace")  # type: ignore[union-attr]
        size = len(prefix) + len(raw)
        if size < 124:
            return b"J%c%b\x12%c\x0a%c%b" % (size + 4, prefix, len(raw) + 2, len(raw), raw)
    elif kind is int:
        number = varint(value)  # type: ignore[arg-type]
        if len(prefix) < 100:
            return b"J%c%b\x12%c\x18%b" % (len(prefix) + 3 + len(number), prefix, 1 + len(number), number)
    elif kind is float and len(prefix) < 100:
        return b"J%c%b\x12\x09\x21%b" % (len(prefix) + 11, prefix, _DOUBLE(value))
    return field(b"\x4a", key_value(key, value))


def attributes(tag: bytes, values: dict[str, AttributeValue]) -> bytes:
    return b"".join(field(tag, key_value(k, v)) for k, v in values.items())


class Encoder:
    """Writes export requests for one resource and instrumentation scope, caching repeated pairs."""

    def __init__(self, resource: dict[str, AttributeValue], scope: tuple[str, str]) -> None:
        self._resource = field(b"\x0a", attributes(b"\x0a", resource))  # ResourceSpans.resource 1
        name, version = scope
        self._scope = field(b"\x0a", field(b"\x0a", name.encode()) + field(b"\x12", version.encode()))
        # Per span kind: its shared values -> their encoding (the kind fixes the names).
        self._shared: dict[str, dict[Shared, bytes]] = {"server": {}, "client": {}}
        self._names: dict[str, bytes] = {}

    def request(self, spans: Iterable[bytes]) -> bytes:
        """An ``ExportTraceServiceRequest``: one ResourceSpans (1) with one ScopeSpans (2)."""
        scope_spans = field(b"\x12", self._scope + b"".join(spans))
        return field(b"\x0a", self._resource + scope_spans)

    def span(
        self, data: SpanData, trace_id: bytes, span_id: int, parent_span_id: bytes | None, flags: int
    ) -> bytes:
        """One ``Span`` as a ScopeSpans.spans (2) field; ``flags`` as Span.flags (16, fixed32).
        The trace and parent ids come as their 16 and 8 bytes, shared by a request's spans."""
        parts = [
            b"\x0a\x10%b\x12\x08%b" % (trace_id, span_id.to_bytes(8, "big")),  # trace 1, span 2
            b"\x22\x08" + parent_span_id if parent_span_id is not None else b"",  # parent 4
            self._names.get(data.name) or self._name(data.name),
            _TIMES(0x30, _KIND[data.kind], 0x39, data.start_ns, 0x41, data.end_ns),  # kind 6, start 7, end 8
            self._shared[data.kind].get(data.shared) or self._remember(data),
        ]
        parts += [attribute(k, v) for k, v in data.attributes.items()]
        for event in data.events:  # Span.events 11: time 1 (fixed64), name 2, attributes 3
            body = b"\x09" + _FIXED64(event.time_ns) + field(b"\x12", event.name.encode(errors="replace"))
            parts.append(field(b"\x5a", body + attributes(b"\x1a", event.attributes)))
        if data.error is not None:  # Span.status 15: message 2, code 3
            parts.append(field(b"\x7a", field(b"\x12", data.error.encode(errors="replace")) + b"\x18\x02"))
        parts.append(b"\x85\x01" + _FIXED32(flags))
        return field(b"\x12", b"".join(parts))

    def _remember(self, data: SpanData) -> bytes:
        """The span attributes (Span.attributes 9) that repeat, encoded once for every span they recur in."""
        cache = self._shared[data.kind]
        if len(cache) >= _CACHE_LIMIT:
            cache.clear()
        pairs = zip(data.shared_names(), data.shared, strict=True)
        encoded = cache[data.shared] = b"".join(attribute(k, v) for k, v in pairs if v is not None)
        return encoded

    def _name(self, name: str) -> bytes:
        encoded = self._names.get(name)
        if encoded is None:
            if len(self._names) >= _CACHE_LIMIT:
                self._names.clear()
            encoded = self._names[name] = field(b"\x2a", name.encode(errors="replace"))  # Span.name 5
        return encoded
