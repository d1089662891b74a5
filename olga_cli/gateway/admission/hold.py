"""A request's hold in the team's store (team mode), as the request's Context carries it."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(slots=True)
class Hold:
    id: str  # the generation id
    key_id: str = ""
    ended: bool = False  # settled with the record, or released
    counted_in_redis: bool = False  # its --rpm/--tpm minute is in Redis: settled or released there too
    tokens_count: bool = False  # the key has --tpm: the estimate is replaced by what was used
