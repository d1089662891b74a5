"""What checking a request at the edge costs on a large agent body, against parsing it.

Builds bodies of about 150 KB as coding agents send them (a cached system prompt, 20 tools with JSON
schemas, 160 turns of text, tool calls and tool results) for Messages, Chat Completions and
Responses, and times, in a tight loop: parsing the body (``jsonwire.loads_request``, which every
request pays anyway), the table check (``validation.check_body``), and the search for lone
surrogates on its own. Hot caches make these lower bounds.

    python bench/validation.py
"""

from __future__ import annotations

import json
import sys
import timeit
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from olga_cli import jsonwire
from olga_cli.validation import check_body
from olga_cli.validation.text import unencodable_field

TEXT = "Looking at the failing test in src/app/handlers.py, the fixture builds the client before the " * 3
SCHEMA = {
    "type": "object",
    "properties": {f"arg{i}": {"type": "string", "description": "a path or a pattern"} for i in range(6)},
    "required": ["arg0"],
}


def messages_body(turns: int) -> dict[str, Any]:
    history: list[dict[str, Any]] = []
    for i in range(turns):
        history.append(
            {
                "role": "user",
                "content": [{"type": "tool_result", "tool_use_id": f"toolu_{i}", "content": TEXT}],
            }
        )
        history.append(
            {
                "role": "assistant",
                "content": [
                    {"type": "thinking", "thinking": TEXT[:120], "signature": "c2lnbmF0dXJl" * 8},
                    {"type": "text", "text": TEXT[:150]},
                    {
                        "type": "tool_use",
                        "id": f"toolu_{i + 1}",
                        "name": "Bash",
                        "input": {"command": "pytest -x"},
                    },
                ],
            }
        )
    history.append({"role": "user", "content": [{"type": "text", "text": "Go on. \ud83d\ude00"}]})
    return {
        "model": "anthropic/claude-sonnet-4-5",
        "max_tokens": 32000,
        "stream": True,
        "system": [{"type": "text", "text": TEXT * 10, "cache_control": {"type": "ephemeral"}}],
        "tools": [{"name": f"tool{i}", "description": TEXT[:200], "input_schema": SCHEMA} for i in range(20)],
        "messages": history,
        "metadata": {"user_id": "user_1"},
    }


def chat_body(turns: int) -> dict[str, Any]:
    history: list[dict[str, Any]] = [{"role": "system", "content": TEXT * 10}]
    for i in range(turns):
        call = {
            "id": f"call_{i}",
            "type": "function",
            "function": {"name": "shell", "arguments": '{"cmd": "ls"}'},
        }
        history.append({"role": "assistant", "content": TEXT[:150], "tool_calls": [call]})
        history.append({"role": "tool", "tool_call_id": f"call_{i}", "content": TEXT})
    history.append({"role": "user", "content": [{"type": "text", "text": "Go on."}]})
    tools = [
        {
            "type": "function",
            "function": {"name": f"tool{i}", "description": TEXT[:200], "parameters": SCHEMA},
        }
        for i in range(20)
    ]
    return {
        "model": "openai/gpt-4.1",
        "messages": history,
        "tools": tools,
        "stream": True,
        "stream_options": {"include_usage": True},
    }


def responses_body(turns: int) -> dict[str, Any]:
    items: list[dict[str, Any]] = []
    for i in range(turns):
        items.append({"type": "reasoning", "summary": [], "encrypted_content": "gAAAA" * 30})
        items.append(
            {"type": "function_call", "call_id": f"call_{i}", "name": "shell", "arguments": '{"cmd": "ls"}'}
        )
        items.append({"type": "function_call_output", "call_id": f"call_{i}", "output": TEXT})
    items.append({"type": "message", "role": "user", "content": [{"type": "input_text", "text": "Go on."}]})
    tools = [
        {"type": "function", "name": f"tool{i}", "description": TEXT[:200], "parameters": SCHEMA}
        for i in range(20)
    ]
    return {
        "model": "openai/gpt-5-codex",
        "instructions": TEXT * 10,
        "input": items,
        "tools": tools,
        "stream": True,
    }


def sized(build: Any, target: int = 150_000) -> tuple[dict[str, Any], bytes]:
    turns = 10
    while len(json.dumps(build(turns)).encode()) < target:
        turns += 5
    body = build(turns)
    return body, json.dumps(body).encode()  # ensure_ascii: the emoji travels as a surrogate pair


def micros(function: Any, number: int = 200) -> float:
    return min(timeit.repeat(function, number=number, repeat=5)) / number * 1e6


def main() -> None:
    print(
        f"{'API':<10} {'bytes':>8} {'parse µs':>9} {'check µs':>9} {'surrogates µs':>14} {'check/parse':>12}"
    )
    for api, build in (("messages", messages_body), ("chat", chat_body), ("responses", responses_body)):
        body, raw = sized(build)
        parse = micros(lambda raw=raw: jsonwire.loads_request(raw))
        vouched = jsonwire.loads_request(raw)[1]  # the parser refused lone surrogates: no search
        check = micros(lambda b=body, r=raw, a=api, v=vouched: check_body(a, b, r, text_checked=v))
        lone = micros(lambda body=body, raw=raw: unencodable_field(raw, body))
        print(
            f"{api:<10} {len(raw):>8} {parse:>9.0f} {check:>9.0f} {lone:>14.1f} {check / parse:>11.0%}"
            f"  {'(search skipped)' if vouched else ''}"
        )


if __name__ == "__main__":
    main()
