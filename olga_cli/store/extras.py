"""What other parts of the gateway add to a batch of records (an admission, an alert, a violation, a
provider key's health): each an ``Extra`` naming what it writes, never SQL, so that every backend
commits it with the records in its own dialect.

Apart from the records (``generations``) so that the concerns that make them (limits, guardrails,
health) load without the records' own types: `olga keys list` reads limits, never records.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

ExtraKind = Literal[
    "admission",
    "admissions_prune",
    "alert",
    "violation",
    "health_mark",
    "hold_settle",
    "slice_draw",
    "response_item",
]


@dataclass(slots=True)
class Extra:
    """A row another part of the gateway wants committed in the same batch (usage counters...).

    ``params`` are in the order of the kind's statement; the builders (``limits.admission_insert``,
    ``guardrails.violation_insert``...) are the only ones to make them.
    """

    kind: ExtraKind
    params: tuple[Any, ...]
