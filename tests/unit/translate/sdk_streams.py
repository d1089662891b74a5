"""Feed translated SSE bytes to the official SDKs' own stream decoders and accumulators.

Each helper wraps the bytes in an HTTP response and hands it to the SDK exactly as the SDK would
receive it from the network, so a malformed event, a wrong event name or a missing field fails here
the way it would fail for a user.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable
from typing import Any

import anthropic
import httpx2
import openai
from anthropic._streaming import Stream as AnthropicStream
from anthropic.lib.streaming import MessageStream
from anthropic.types import RawMessageStreamEvent
from anthropic.types.parsed_message import ParsedMessage
from openai._streaming import Stream as OpenAIStream
from openai.lib.streaming.chat import ChatCompletionStream
from openai.lib.streaming.responses import ResponseStream
from openai.types.chat import ChatCompletionChunk
from openai.types.chat.parsed_chat_completion import ParsedChatCompletion
from openai.types.responses import ParsedResponse
from openai.types.responses.response_stream_event import ResponseStreamEvent

from olga_cli.providers.sse import SSEEvent, SSEParser

_URL = "http://127.0.0.1:9"


def _response(raw: bytes, path: str) -> httpx2.Response:
    return httpx2.Response(
        200,
        content=raw,
        headers={"content-type": "text/event-stream"},
        request=httpx2.Request("POST", _URL + path),
    )


def anthropic_final_message(raw: bytes) -> ParsedMessage[Any]:
    """The Message the anthropic SDK's MessageStream rebuilds from ``raw`` (raises on an error event)."""
    client = anthropic.Anthropic(api_key="test", base_url=_URL, max_retries=0)
    stream = AnthropicStream(
        cast_to=RawMessageStreamEvent, response=_response(raw, "/v1/messages"), client=client
    )
    return MessageStream(stream, anthropic.NOT_GIVEN).get_final_message()


def openai_final_completion(raw: bytes, *, tools: Iterable[Any] = ()) -> ParsedChatCompletion[Any]:
    """The ChatCompletion the openai SDK's ChatCompletionStream rebuilds from ``raw``."""
    client = openai.OpenAI(api_key="test", base_url=_URL + "/v1", max_retries=0)
    raw_stream = OpenAIStream(
        cast_to=ChatCompletionChunk, response=_response(raw, "/v1/chat/completions"), client=client
    )
    stream = ChatCompletionStream(
        raw_stream=raw_stream, response_format=openai.omit, input_tools=list(tools) or openai.omit
    )
    for _ in stream:
        pass
    return stream.get_final_completion()


def openai_chat_chunks(raw: bytes) -> list[ChatCompletionChunk]:
    client = openai.OpenAI(api_key="test", base_url=_URL + "/v1", max_retries=0)
    return list(
        OpenAIStream(
            cast_to=ChatCompletionChunk, response=_response(raw, "/v1/chat/completions"), client=client
        )
    )


def openai_final_response(raw: bytes) -> tuple[ParsedResponse[Any], list[Any]]:
    """The Response the openai SDK's ResponseStream rebuilds from ``raw``, and the events it yielded."""
    client = openai.OpenAI(api_key="test", base_url=_URL + "/v1", max_retries=0)
    raw_stream = OpenAIStream(
        cast_to=ResponseStreamEvent, response=_response(raw, "/v1/responses"), client=client
    )  # type: ignore[arg-type]
    stream = ResponseStream(
        raw_stream=raw_stream, text_format=openai.omit, input_tools=openai.omit, starting_after=None
    )
    events = list(stream)
    return stream.get_final_response(), events


def parse_events(raw: bytes) -> list[SSEEvent]:
    parser = SSEParser()
    return parser.feed(raw) + parser.flush()


def split(raw: bytes, cuts: Iterable[int]) -> list[bytes]:
    """``raw`` cut at the given offsets (any offsets: they are sorted and clipped)."""
    points = sorted({min(max(cut, 0), len(raw)) for cut in cuts} | {0, len(raw)})
    return [raw[a:b] for a, b in itertools.pairwise(points) if b > a]


def run_translator(translator: Any, chunks: Iterable[bytes]) -> bytes:
    """Parse provider ``chunks`` with SSEParser, feed every event to ``translator``, return its bytes."""
    parser = SSEParser()
    out: list[bytes] = []
    for chunk in chunks:
        for event in parser.feed(chunk):
            out += translator.feed(event)
    for event in parser.flush():
        out += translator.feed(event)
    out += translator.finish()
    return b"".join(out)
