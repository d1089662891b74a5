"""The Responses output items olga made for answers it translated, kept for a while in memory so that a
later request can name them by id (``{"type": "item_reference", "id": ...}``).

OpenAI keeps the items of a stored response, and clients lean on that: the AI SDK's Responses
provider sends an earlier answer's message back as a reference, not as its text. A translated target
(Anthropic, a Chat provider) stores nothing, so olga remembers the items it produced: the newest
``MAX_ITEMS``, in this process. Their ids are random (96 bits), so only the caller that was given
one can name it.

The gateway also commits the items a request made with its record (``collect``), where bodies are
kept, and looks up a reference this process does not hold in the store before translating
(``unheld``, ``learn``): so an item made by another instance, or before a restart, is found too.
A reference found nowhere is refused, naming the item.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterable
from contextvars import ContextVar
from typing import Any

MAX_ITEMS = 20_000
_ITEMS: OrderedDict[str, dict[str, Any]] = OrderedDict()
# The items the current request's answer made, when the gateway collects them (``collect``).
_MADE: ContextVar[list[dict[str, Any]] | None] = ContextVar("olga_items_made", default=None)


def collect() -> list[dict[str, Any]]:
    """From now on in this task, the items remembered are also appended to the list returned (one
    request's answer: the gateway commits them with its record)."""
    made: list[dict[str, Any]] = []
    _MADE.set(made)
    return made


def remember(items: Iterable[Any]) -> None:
    made = _MADE.get()
    for item in items:
        if isinstance(item, dict) and isinstance(item.get("id"), str) and item.get("type"):
            _hold(item)
            if made is not None:
                made.append(item)


def learn(items: Iterable[dict[str, Any]]) -> None:
    """Items read back from the store: held again, not collected (they are stored already)."""
    for item in items:
        if isinstance(item, dict) and isinstance(item.get("id"), str):
            _hold(item)


def _hold(item: dict[str, Any]) -> None:
    _ITEMS[item["id"]] = item
    _ITEMS.move_to_end(item["id"])
    while len(_ITEMS) > MAX_ITEMS:
        _ITEMS.popitem(last=False)


def recall(item_id: Any) -> dict[str, Any] | None:
    return _ITEMS.get(item_id) if isinstance(item_id, str) else None


def unheld(body: Any) -> list[str]:
    """The ids of a Responses request's ``item_reference`` inputs that this process does not hold."""
    items = body.get("input") if isinstance(body, dict) else None
    if not isinstance(items, list):
        return []
    return [
        item["id"]
        for item in items
        if isinstance(item, dict)
        and item.get("type") == "item_reference"
        and isinstance(item.get("id"), str)
        and item["id"] not in _ITEMS
    ]
