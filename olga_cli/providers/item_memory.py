"""The Responses output items olga made for answers it translated, kept for a while in memory so that a
later request can name them by id (``{"type": "item_reference", "id": ...}``).

OpenAI keeps the items of a stored response, and clients lean on that: the AI SDK's Responses
provider sends an earlier answer's message back as a reference, not as its text. A translated target
(Anthropic, a Chat provider) stores nothing, so olga remembers the items it produced: the newest
``MAX_ITEMS``, in this process. Their ids are random (96 bits), so only the caller that was given
one can name it. A reference olga does not hold (made by another process or long ago) is still
refused, naming the item.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterable
from typing import Any

MAX_ITEMS = 20_000
_ITEMS: OrderedDict[str, dict[str, Any]] = OrderedDict()


def remember(items: Iterable[Any]) -> None:
    for item in items:
        if isinstance(item, dict) and isinstance(item.get("id"), str) and item.get("type"):
            _ITEMS[item["id"]] = item
            _ITEMS.move_to_end(item["id"])
    while len(_ITEMS) > MAX_ITEMS:
        _ITEMS.popitem(last=False)


def recall(item_id: Any) -> dict[str, Any] | None:
    return _ITEMS.get(item_id) if isinstance(item_id, str) else None
