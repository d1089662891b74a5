"""What failover and the relays say to each other: a reply worth relaying (``Served``), and how
relaying it ended (``Relayed``)."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Literal

from olga_cli.errors import UpstreamFailure
from olga_cli.gateway.upstream.client import ProviderKey, UpstreamReply
from olga_cli.gateway.upstream.exchange import Exchange
from olga_cli.gateway.upstream.routing import Target
from olga_cli.records import Attempt


@dataclass(slots=True)
class Served:
    """A reply that may be relayed: status and headers are in, the body is not read yet."""

    target: Target
    exchange: Exchange
    reply: UpstreamReply
    attempt: Attempt
    key: ProviderKey | None
    started: float  # perf_counter when the request was sent

    def took(self) -> None:
        """The attempt's latency: the time olga spent waiting on the provider, up to now."""
        took(self.attempt, self.started)


@dataclass(frozen=True, slots=True)
class Relayed:
    """How relaying a served reply ended, as far as the provider's health and retrying go."""

    ending: Literal["delivered", "broke_early", "broke_late", "caller_left"]
    failure: UpstreamFailure | None = None  # what broke the reply (broke_early, broke_late)

    @property
    def retry(self) -> bool:
        """Nothing of the reply reached the caller: another attempt may serve them."""
        return self.ending == "broke_early"


DELIVERED = Relayed("delivered")
CALLER_LEFT = Relayed("caller_left")


def describe(failure: UpstreamFailure) -> str:
    """A failure as an attempt's ``error`` shows it."""
    return f"{failure.kind}: {failure}"


def took(attempt: Attempt, started: float) -> None:
    """An attempt's latency: the time olga spent waiting on the provider, up to now."""
    attempt.latency_ms = (time.perf_counter() - started) * 1000.0
