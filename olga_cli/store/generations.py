"""Generation records and their charges, written together in batches (one transaction per batch).

Other parts of the gateway add rows of their own to a batch (an admission, an alert, a violation, a
provider key's health): each is an ``Extra`` naming what it writes, never SQL, so that every backend
commits it with the records in its own dialect.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal, Protocol

from olga_cli.records import GenerationRecord

ExtraKind = Literal["admission", "admissions_prune", "alert", "violation", "health_mark"]


@dataclass(slots=True)
class Extra:
    """A row another part of the gateway wants committed in the same batch (usage counters...).

    ``params`` are in the order of the kind's statement; the builders (``limits.admission_insert``,
    ``guardrails.violation_insert``...) are the only ones to make them.
    """

    kind: ExtraKind
    params: tuple[Any, ...]


class RecordStore(Protocol):
    async def write_batch(self, records: Sequence[GenerationRecord], extras: Sequence[Extra] = ()) -> None:
        """Records, their ledger charges and the extras in the order given, all or nothing."""

    async def get_generation(self, ref: str, *, key_id: str | None = None) -> GenerationRecord | None:
        """By olga id or by the provider's response id; only one key's records when ``key_id`` is set."""

    async def recent_generations(
        self,
        *,
        limit: int = 50,
        key_id: str | None = None,
        model: str | None = None,
        status: int | None = None,
        since: float | None = None,
        after_rowid: int | None = None,
    ) -> list[tuple[int, GenerationRecord]]:
        """Newest ``limit`` records matching the filters, oldest first, each with its position."""
