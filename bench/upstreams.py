"""The servers the overhead bench measures against.

- nginx, configured here, answers a fixed chat completion and a fixed SSE stream: an upstream that is
  never the bottleneck.
- ``paced``: an aiohttp server whose SSE events come a fixed interval apart, to see whether a proxy
  holds chunks back.
- ``bare``: the least an aiohttp proxy can do (read the body, one pooled ``ClientSession``, relay the
  answer or the stream chunk by chunk). It shows what the stack olga is built on costs by itself, so
  olga's own share can be told apart.

Run as ``python bench/upstreams.py paced PORT GAP_MS CHUNKS`` or ``... bare PORT UPSTREAM_BASE``.
"""

from __future__ import annotations

import asyncio
import gc
import itertools
import json
import sys
import time
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp import web

MODEL = "bench-model"
STREAM_WORDS = ["Hello", " there,", " how", " are", " you?"]


def chat_completion() -> bytes:
    body = {
        "id": "chatcmpl-bench0001",
        "object": "chat.completion",
        "created": 1700000000,
        "model": MODEL,
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": "Hello there, how are you?", "refusal": None},
                "logprobs": None,
                "finish_reason": "stop",
            }
        ],
        "usage": {
            "prompt_tokens": 14,
            "completion_tokens": 7,
            "total_tokens": 21,
            "prompt_tokens_details": {"cached_tokens": 0, "audio_tokens": 0},
            "completion_tokens_details": {"reasoning_tokens": 0, "audio_tokens": 0},
        },
        "system_fingerprint": "fp_bench",
    }
    return json.dumps(body, separators=(",", ":")).encode()


def anthropic_message() -> bytes:
    """A Messages answer as Anthropic sends it, for the agent-body bench's passthrough route."""
    body = {
        "id": "msg_bench0001",
        "type": "message",
        "role": "assistant",
        "model": MODEL,
        "content": [{"type": "text", "text": "Hello there, how are you?"}],
        "stop_reason": "end_turn",
        "stop_sequence": None,
        "usage": {
            "input_tokens": 30000,
            "cache_creation_input_tokens": 0,
            "cache_read_input_tokens": 0,
            "output_tokens": 7,
            "service_tier": "standard",
        },
    }
    return json.dumps(body, separators=(",", ":")).encode()


def sse_events(words: list[str]) -> list[bytes]:
    """An OpenAI stream: role chunk, one chunk per word, finish chunk, usage chunk, [DONE]."""

    def chunk(
        delta: dict[str, Any], finish: str | None = None, usage: Any = None, choices: bool = True
    ) -> bytes:
        body: dict[str, Any] = {
            "id": "chatcmpl-bench0002",
            "object": "chat.completion.chunk",
            "created": 1700000000,
            "model": MODEL,
            "system_fingerprint": "fp_bench",
            "choices": [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}]
            if choices
            else [],
            "usage": usage,
        }
        return b"data: " + json.dumps(body, separators=(",", ":")).encode() + b"\n\n"

    events = [chunk({"role": "assistant", "content": ""})]
    events += [chunk({"content": word}) for word in words]
    events.append(chunk({}, finish="stop"))
    usage = {"prompt_tokens": 14, "completion_tokens": len(words), "total_tokens": 14 + len(words)}
    events.append(chunk({}, usage=usage, choices=False))
    events.append(b"data: [DONE]\n\n")
    return events


def paced_word(index: int) -> str:
    return f" w{index}"


# Each paced word is followed by the time the upstream wrote it (``time.perf_counter_ns``: the
# system-wide monotonic clock, the same in every process), so a client measures each chunk's trip.
STAMP = b"@" + b"0" * 19


def stamped(event: bytes) -> bytes:
    return event.replace(STAMP, b"@%019d" % time.perf_counter_ns())


def nginx_string(data: bytes) -> str:
    """A double-quoted nginx string; nginx unescapes \\" \\\\ and \\n, and ``$`` must not appear."""
    text = data.decode()
    assert "$" not in text
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def nginx_conf(workdir: Path, port: int) -> str:
    """One worker, no logs, keep-alive without limit; ``/plain`` and ``/stream`` are two base URLs."""
    temp = workdir / "nginx-temp"
    temp.mkdir(exist_ok=True)
    stream = b"".join(sse_events(STREAM_WORDS))
    return f"""
worker_processes 1;
daemon off;
pid {workdir / "nginx.pid"};
error_log {workdir / "nginx-error.log"} warn;
events {{ worker_connections 1024; }}
http {{
    access_log off;
    client_body_temp_path {temp}/body;
    proxy_temp_path {temp}/proxy;
    fastcgi_temp_path {temp}/fastcgi;
    uwsgi_temp_path {temp}/uwsgi;
    scgi_temp_path {temp}/scgi;
    keepalive_requests 10000000;
    keepalive_timeout 300s;
    client_body_buffer_size 64k;
    client_max_body_size 16m;
    server {{
        listen 127.0.0.1:{port};
        location = /plain/v1/chat/completions {{
            default_type application/json;
            return 200 {nginx_string(chat_completion())};
        }}
        location = /anthropic/v1/messages {{
            default_type application/json;
            return 200 {nginx_string(anthropic_message())};
        }}
        location = /stream/v1/chat/completions {{
            default_type text/event-stream;
            return 200 {nginx_string(stream)};
        }}
    }}
}}
"""


# The golden ratio's fraction: stream n's words fall at frac(n * PHI) of the gap, so any run of
# consecutive streams spreads evenly over the gap, however many there are.
PHI = (5**0.5 - 1) / 2


def run_paced(port: int, gap_ms: float, chunks: int, spread: bool = False) -> None:
    """An SSE stream whose content events are ``gap_ms`` apart.

    With ``spread``, the n-th stream's words keep a schedule of their own: on a fixed grid of the
    gap, at the phase ``frac(n * PHI)``, the first at least one gap after the request. Otherwise each
    word waits a gap after the one before, so a stream's phase is the moment its request arrived: a
    stall anywhere while thousands of streams open (the client's collector, the proxy under test, a
    neighbour on the core) lets the requests due in it arrive together, and their words then come in
    one burst every gap for the rest of the run. Spread, a burst is only what the proxy makes of it."""
    events = sse_events([paced_word(i) + STAMP.decode() for i in range(chunks)])
    gap = gap_ms / 1000
    opened = itertools.count()
    streaming = [0]
    # No collection pauses while streams are open (the proxy would be charged for them): collected
    # when the last one ends instead.
    gc.disable()

    async def stream(request: web.Request) -> web.StreamResponse:
        streaming[0] += 1
        try:
            return await paced(request)
        finally:
            streaming[0] -= 1
            if not streaming[0]:
                gc.collect()

    async def paced(request: web.Request) -> web.StreamResponse:
        await request.read()
        response = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
        await response.prepare(request)
        loop = asyncio.get_running_loop()
        due = loop.time() + gap
        if spread:
            phase = (next(opened) * PHI % 1) * gap
            due += (phase - due) % gap
        for index, event in enumerate(events):
            if 1 <= index <= chunks:
                await asyncio.sleep(due - loop.time() if spread else gap)
                due += gap
                event = stamped(event)
            await response.write(event)
        await response.write_eof()
        return response

    app = web.Application()
    app.router.add_post("/paced/v1/chat/completions", stream)
    web.run_app(app, host="127.0.0.1", port=port, access_log=None, print=None)


def run_bare(port: int, upstream_base: str) -> None:
    """``POST /plain/...`` and ``/stream/...`` forwarded to the same path under ``upstream_base``."""
    session_key = web.AppKey("session", aiohttp.ClientSession)

    async def session_ctx(app: web.Application):  # type: ignore[no-untyped-def]
        app[session_key] = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0))
        yield
        await app[session_key].close()

    async def forward(request: web.Request) -> web.StreamResponse:
        body = await request.read()
        url = upstream_base + request.path
        async with request.app[session_key].post(
            url, data=body, headers={"Content-Type": "application/json"}
        ) as up:
            if up.content_type != "text/event-stream":
                return web.Response(status=up.status, body=await up.read(), content_type=up.content_type)
            response = web.StreamResponse(status=up.status, headers={"Content-Type": "text/event-stream"})
            response.enable_chunked_encoding()
            await response.prepare(request)
            while chunk := await up.content.readany():
                await response.write(chunk)
            await response.write_eof()
            return response

    app = web.Application()
    app.cleanup_ctx.append(session_ctx)
    app.router.add_post("/{tail:.*}", forward)
    web.run_app(app, host="127.0.0.1", port=port, access_log=None, print=None)


if __name__ == "__main__":
    mode, port = sys.argv[1], int(sys.argv[2])
    if mode == "paced":
        run_paced(port, float(sys.argv[3]), int(sys.argv[4]), spread="spread" in sys.argv[5:])
    elif mode == "bare":
        run_bare(port, sys.argv[3])
    else:
        raise SystemExit(f"unknown mode {mode!r}")
