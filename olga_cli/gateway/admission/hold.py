"""A request's hold in the team's store (team mode), as the request's Context carries it."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(slots=True)
class Hold:
    id: str  # the generation id
    ended: bool = False  # settled with the record, or released
