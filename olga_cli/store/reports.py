"""The reporting queries behind `olga logs`, `olga usage`, `olga run` and retention.

Every backend answers them bounded on a store of millions of records: the newest N records are a
walk down an index ending in ``created_at``; following the log reads only rows past a high-water
mark (a position that grows with each record committed); usage sums hourly roll-ups for whole hours
and only the first, partial hour from the records; pruning works in small batches, each its own
short transaction, and never touches the ledger or the roll-ups.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal, Protocol

from olga_cli.records import GenerationRecord

GroupBy = Literal["key", "team", "model", "provider", "app", "day", "tag", "user", "session"]
GROUPS: tuple[str, ...] = ("key", "team", "model", "provider", "app", "day", "tag", "user", "session")
# Groupings summed by the hour in ``usage_labels_hourly`` (kind = the grouping): a record without
# one is not in them, and a request with two tags counts under both.
LABEL_GROUPS: tuple[str, ...] = ("tag", "user", "session")
HOUR = 3600
PRUNE_BATCH = 2000

Row = tuple[int, GenerationRecord]  # (position, record)


@dataclass(frozen=True, slots=True)
class LogFilter:
    """What `olga logs` narrows to. ``models`` match the served or the requested model."""

    key_id: str | None = None
    models: tuple[str, ...] = ()
    status: tuple[int, int] | None = None  # inclusive range; (404, 404) for one code
    since: float | None = None
    tag: str | None = None
    end_user: str | None = None
    session_id: str | None = None


@dataclass(slots=True)
class UsageRow:
    group: str  # key id, team id, model, provider, app, day, tag, end user or session; '' for none
    requests: int = 0
    errors: int = 0
    tokens_prompt: int = 0
    tokens_completion: int = 0
    tokens_cached: int = 0
    cost_pico: int = 0
    latency_ms_total: float = 0.0
    cache_saved_pico: int = 0  # what prompt caching took off the cost

    @property
    def tokens(self) -> int:
        return self.tokens_prompt + self.tokens_completion

    def add(self, other: UsageRow) -> None:
        self.requests += other.requests
        self.errors += other.errors
        self.tokens_prompt += other.tokens_prompt
        self.tokens_completion += other.tokens_completion
        self.tokens_cached += other.tokens_cached
        self.cost_pico += other.cost_pico
        self.latency_ms_total += other.latency_ms_total
        self.cache_saved_pico += other.cache_saved_pico


@dataclass(slots=True)
class Usage:
    since: float | None
    until: float
    by: str
    rows: list[UsageRow] = field(default_factory=list)
    names: dict[str, str] = field(default_factory=dict)  # key/team ids -> names

    @property
    def totals(self) -> UsageRow:
        total = UsageRow("total")
        for row in self.rows:
            total.add(row)
        return total

    def sort(self) -> None:
        """Days in order; any other grouping by cost, then requests, then name."""
        if self.by == "day":
            self.rows.sort(key=lambda r: r.group)
        else:
            self.rows.sort(key=lambda r: (-r.cost_pico, -r.requests, r.group))


@dataclass(frozen=True, slots=True)
class ModelSpend:
    model: str
    requests: int
    tokens_prompt: int
    tokens_completion: int
    cost_pico: int


def first_whole_hour(since: float | None) -> int | None:
    """The hour from which usage comes from the roll-ups; records before it are summed one by one."""
    return None if since is None else -(-int(since) // HOUR) * HOUR


class ReportStore(Protocol):
    async def high_water(self) -> int:
        """The newest position: `olga logs --follow` shows only what is committed after it."""

    async def latest(self, filters: LogFilter, *, limit: int) -> list[Row]:
        """The newest ``limit`` records matching ``filters``, oldest first."""

    async def after(
        self, filters: LogFilter, *, after_rowid: int, up_to: int, limit: int = 1000
    ) -> list[Row]:
        """Records committed in ``(after_rowid, up_to]`` that match, in commit order (for --follow).

        The caller advances its mark to ``up_to`` even when nothing matched, so a quiet filter never
        re-reads the same rows.
        """

    async def usage(self, *, since: float | None, until: float, by: GroupBy) -> Usage:
        """Requests, tokens and cost since ``since`` (None: all time), grouped ``by``; exact integer sums."""

    async def spend_by_model(self, key_id: str) -> list[ModelSpend]:
        """What one key's requests cost, per model (the summary `olga run` prints)."""

    async def prune(self, *, before: float, bodies_only: bool = False, batch: int = PRUNE_BATCH) -> int:
        """Delete records created before ``before`` (or blank their bodies); returns how many changed.

        The ledger keeps every charge and the roll-ups every total, so balances and usage reports are
        unchanged by pruning.
        """

    async def count_before(self, before: float) -> int:
        """How many records are older than ``before`` (for `prune --dry-run`)."""
