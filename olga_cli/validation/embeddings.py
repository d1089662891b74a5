"""OpenAI Embeddings: the request as the API defines it (``POST /v1/embeddings``)."""

from __future__ import annotations

from olga_cli.validation.rules import Either, Integer, ListOf, Obj, OneOf, Text

_TOKENS = ListOf(Integer(0), min_items=1, what="a list of token ids")
REQUEST = Obj(
    {
        "model": Text(),
        "input": Either(
            Text(),
            ListOf(Text(), min_items=1),
            _TOKENS,
            ListOf(_TOKENS, min_items=1),
            what="a string, a list of strings, a list of token ids or a list of lists of token ids",
        ),
        "dimensions": Integer(1),
        "encoding_format": OneOf("float", "base64"),
        "user": Text(),
    },
    required=["model", "input"],
)
