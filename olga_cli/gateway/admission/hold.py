"""A request's hold in the team's store (team mode), as the request's Context carries it."""

from __future__ import annotations

from dataclasses import dataclass

from olga_cli.gateway.admission.slices import Slice


@dataclass(slots=True)
class Hold:
    id: str  # the generation id
    key_id: str = ""
    ended: bool = False  # settled with the record, or released
    counted_in_redis: bool = False  # its --rpm/--tpm minute is in Redis: settled or released there too
    tokens_count: bool = False  # the key has --tpm: the estimate is replaced by what was used
    # Admitted against a slice of the key's credit (``slices.py``) rather than a hold of its own:
    # the slice, and the worst case promised from it.
    slice: Slice | None = None
    promised: int = 0
