"""A request body's Content-Encoding, decoded within the size limit (``server/wire.decoded_body``)."""

from __future__ import annotations

import gzip
import zlib
from collections.abc import Callable

import pytest

from olga_cli import codings
from olga_cli.server.wire import decoded_body


def raw_deflate(data: bytes) -> bytes:
    """``deflate`` as some clients send it: no zlib wrapper, so nothing follows the last symbol."""
    packer = zlib.compressobj(9, zlib.DEFLATED, -zlib.MAX_WBITS)
    return packer.compress(data) + packer.flush()


@pytest.mark.parametrize(
    ("encoding", "pack"), [("gzip", gzip.compress), ("deflate", zlib.compress), ("deflate", raw_deflate)]
)
def test_a_body_is_decoded_up_to_the_limit_and_refused_past_it(
    encoding: str, pack: Callable[[bytes], bytes]
) -> None:
    text = b'{"model": "m", "messages": []}' * 100
    body, error = decoded_body(pack(text), encoding, len(text))
    assert (body, error) == (text, None)
    body, error = decoded_body(pack(text), encoding, len(text) - 1)
    assert body == b"" and error is not None and error.status == 413


def test_what_the_decoder_still_holds_at_the_end_counts_towards_the_limit(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Decoded a piece at a time, a raw deflate stream can have consumed all its input while the
    # last symbols' output is still inside the decoder: it comes out of flush(), and is counted.
    monkeypatch.setattr(codings, "PIECE", 7)
    text = b"0" * 21
    decoder = codings.Decoder.of("deflate")
    assert decoder is not None
    first = decoder.decompress(raw_deflate(text))
    assert not decoder.pending and len(first) < len(text)  # the case this test is about
    body, error = decoded_body(raw_deflate(text), "deflate", 10)
    assert body == b"" and error is not None and error.status == 413
    assert decoded_body(raw_deflate(text), "deflate", 21) == (text, None)


def test_an_undecodable_body_is_refused_as_unreadable() -> None:
    body, error = decoded_body(b"not gzip at all", "gzip", 1000)
    assert body == b"" and error is not None and error.status == 400
