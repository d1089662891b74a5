"""The AI SDK's Responses provider sends an earlier answer's message back as an ``item_reference``
(it assumes OpenAI stored it). On a translated target olga holds the items it made, so the reference
becomes the message again and the session goes on; a reference to an item olga never made is a 400
naming it. Replays the AI SDK 6 turns captured on claude-sonnet-4-5 (tests/fixtures/clients)."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest

from tests.clients.support import Three, fixture, three
from tests.fakes.anthropic_upstream import ToolUse

__all__ = ["three"]

TARGET = "anthropic/claude-sonnet-4-5"


def _message_ids(raw: bytes, streamed: bool) -> list[str]:
    if not streamed:
        return [item["id"] for item in json.loads(raw)["output"] if item["type"] == "message"]
    ids = []
    for line in raw.decode().splitlines():
        if line.startswith("data: "):
            event = json.loads(line[6:])
            if event.get("type") == "response.output_item.done" and event["item"]["type"] == "message":
                ids.append(event["item"]["id"])
    return ids


def _turn2_naming(message_id: str) -> dict[str, Any]:
    turn = copy.deepcopy(fixture("ai_sdk_responses_turn2"))
    references = [item for item in turn["body"]["input"] if item.get("type") == "item_reference"]
    assert len(references) == 1  # as the AI SDK sent it
    references[0]["id"] = message_id
    return turn


@pytest.mark.parametrize("stream", [True, False], ids=["streamed", "plain"])
async def test_a_reference_to_olgas_own_answer_is_that_answer(three: Three, stream: bool) -> None:
    three.anthropic.reply(
        text="Let me look.", tool_uses=[ToolUse("list_files", {"dir": "."}, id="toolu_fake00")]
    )
    status, _, raw = await three.send(fixture("ai_sdk_responses_turn1"), model=TARGET, stream=stream)
    assert status == 200, raw[:300]
    [message_id] = _message_ids(raw, stream)
    three.anthropic.reply(text="All done: the files are listed.")
    status, headers, raw = await three.send(_turn2_naming(message_id), model=TARGET, stream=stream)
    assert status == 200, raw[:300]
    _, _, sent = three.anthropic.requests[-1]
    assistant = sent["messages"][1]
    assert assistant["role"] == "assistant"
    assert assistant["content"][0] == {"type": "text", "text": "Let me look."}  # the referenced message
    assert (
        assistant["content"][1]["type"] == "tool_use"
        and sent["messages"][2]["content"][0]["type"] == "tool_result"
    )
    record = await three.generation(headers["x-olga-generation-id"])
    assert record["status"] == 200 and record["app"] == "ai-sdk"


async def test_a_reference_olga_does_not_hold_is_refused_by_name(three: Three) -> None:
    status, _, raw = await three.send(
        _turn2_naming("msg_0123456789abcdef01234567"), model=TARGET, stream=True
    )
    error = json.loads(raw)["error"]
    assert status == 400 and error["param"] == "input[1].id"
    assert "msg_0123456789abcdef01234567" in error["message"] and "Anthropic Messages" in error["message"]
