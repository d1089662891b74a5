"""Content codings read on both sides of olga: a provider's compressed answers, a caller's compressed
request bodies."""

from __future__ import annotations

import zlib

PIECE = 256 * 1024  # most bytes one read decompresses


class Decoder:
    """gzip, or ``deflate`` as servers send it: zlib-wrapped as the standard says, or raw, as some do."""

    def __init__(self, wbits: int, raw_fallback: bool) -> None:
        self._inner = zlib.decompressobj(wbits)
        self._raw_fallback = raw_fallback
        self._tail = b""

    @classmethod
    def of(cls, encoding: str) -> Decoder | None:
        encoding = encoding.strip().lower()
        if encoding in ("gzip", "x-gzip"):
            return cls(16 + zlib.MAX_WBITS, raw_fallback=False)
        if encoding == "deflate":
            return cls(zlib.MAX_WBITS, raw_fallback=True)
        return None  # identity, or an encoding not asked for: passed on as it came

    @property
    def pending(self) -> bool:
        return bool(self._tail)

    def decompress(self, data: bytes) -> bytes:
        """At most ``PIECE`` bytes out of what is left over and ``data``; the rest waits for the next call."""
        data = self._tail + data if self._tail else data
        try:
            out = self._inner.decompress(data, PIECE)
        except zlib.error:
            if not self._raw_fallback:
                raise
            self._inner = zlib.decompressobj(-zlib.MAX_WBITS)
            out = self._inner.decompress(data, PIECE)
        self._raw_fallback = False
        self._tail = self._inner.unconsumed_tail
        return bytes(out)

    def flush(self) -> bytes:
        return bytes(self._inner.flush())
