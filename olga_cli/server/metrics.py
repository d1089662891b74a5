"""``GET /metrics``: Prometheus text exposition (format 0.0.4) of what the gateway has served.

Fed by two things: an observer the gateway calls with each committed record (requests, tokens,
cost, latency and time-to-first-token histograms, upstream attempts and errors) and a middleware
that counts proxied requests in flight. Our own ~150 lines rather than prometheus-client: its
registry is a module global, and cost is kept here as an exact integer of picodollars and printed
as an exact decimal of USD.

Labels are bounded: routes are path templates (a pinned provider becomes ``{provider}``), models
and providers come from the catalog and config, statuses are HTTP codes. Key names are never labels.
"""

from __future__ import annotations

import asyncio
import bisect
import itertools
import math
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from aiohttp import web

from olga_cli.money import pico_to_usd
from olga_cli.records import GenerationRecord
from olga_cli.server.request import Handler, Request, Response

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
LATENCY_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0)
OVERHEAD_BUCKETS = (0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1)
TTFT_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 5.0, 10.0, 30.0)
_API_PATHS = ("chat/completions", "responses", "messages", "v1/messages", "embeddings")
_PINNED = re.compile(r"^/v1/([^/]+)/(" + "|".join(re.escape(p) for p in _API_PATHS) + ")$")

Labels = tuple[str, ...]


def route_template(path: str) -> str:
    """``/api/v1/openai/chat/completions`` -> ``/v1/{provider}/chat/completions``."""
    if path.startswith("/api/v1/"):
        path = path[4:]
    match = _PINNED.match(path)
    if match and match.group(1) not in ("chat", "v1"):
        return f"/v1/{{provider}}/{match.group(2)}"
    return path


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def _labels(names: Sequence[str], values: Sequence[str], extra: str = "") -> str:
    pairs = [f'{n}="{_escape(v)}"' for n, v in zip(names, values)]
    if extra:
        pairs.append(extra)
    return "{" + ",".join(pairs) + "}" if pairs else ""


def _number(value: float | int) -> str:
    if isinstance(value, int):
        return str(value)
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    return repr(value)


@dataclass
class Counter:
    name: str
    help: str
    labelnames: tuple[str, ...]
    values: dict[Labels, int | float] = field(default_factory=dict)

    def inc(self, labels: Labels, amount: int | float = 1) -> None:
        self.values[labels] = self.values.get(labels, 0) + amount

    def lines(self) -> Iterable[str]:
        yield f"# HELP {self.name} {self.help}"
        yield f"# TYPE {self.name} counter"
        for labels, value in sorted(self.values.items()):
            yield f"{self.name}{_labels(self.labelnames, labels)} {_number(value)}"


@dataclass
class MoneyCounter(Counter):
    """A counter of picodollars, exposed in USD as an exact decimal."""

    def lines(self) -> Iterable[str]:
        yield f"# HELP {self.name} {self.help}"
        yield f"# TYPE {self.name} counter"
        for labels, value in sorted(self.values.items()):
            yield f"{self.name}{_labels(self.labelnames, labels)} {pico_to_usd(int(value))}"


@dataclass
class _Series:
    buckets: list[int]
    total: float = 0.0
    count: int = 0


@dataclass
class Histogram:
    name: str
    help: str
    labelnames: tuple[str, ...]
    bounds: tuple[float, ...]
    series: dict[Labels, _Series] = field(default_factory=dict)

    def observe(self, labels: Labels, value: float) -> None:
        series = self.series.get(labels)
        if series is None:
            series = self.series[labels] = _Series([0] * len(self.bounds))
        # One bucket counted (the first bound at or above the value), made cumulative when rendered:
        # a search, where counting into every bucket above took a Python loop over them all.
        index = bisect.bisect_left(self.bounds, value)
        if index < len(series.buckets):
            series.buckets[index] += 1
        series.total += value
        series.count += 1

    def lines(self) -> Iterable[str]:
        yield f"# HELP {self.name} {self.help}"
        yield f"# TYPE {self.name} histogram"
        for labels, series in sorted(self.series.items()):
            cumulative = itertools.accumulate(series.buckets)
            for bound, count in (*zip(self.bounds, cumulative), (math.inf, series.count)):
                le = 'le="' + _number(bound) + '"'
                yield f"{self.name}_bucket{_labels(self.labelnames, labels, le)} {count}"
            yield f"{self.name}_sum{_labels(self.labelnames, labels)} {_number(series.total)}"
            yield f"{self.name}_count{_labels(self.labelnames, labels)} {series.count}"


class Metrics:
    """Everything ``/metrics`` shows; one per app, fed by ``observe`` and the in-flight middleware."""

    def __init__(self) -> None:
        self.in_flight = 0
        self.requests = Counter(
            "olga_requests_total",
            "Requests answered, by route, model, provider and HTTP status.",
            ("route", "model", "provider", "status"),
        )
        self.tokens = Counter(
            "olga_tokens_total",
            "Tokens metered, by model, provider and kind (prompt, completion, cached).",
            ("model", "provider", "kind"),
        )
        self.cost = MoneyCounter(
            "olga_cost_usd_total",
            "Cost charged in USD (exact), by model and provider.",
            ("model", "provider"),
        )
        self.latency = Histogram(
            "olga_request_duration_seconds",
            "Time from request received to response finished.",
            ("route", "model", "provider"),
            LATENCY_BUCKETS,
        )
        self.ttft = Histogram(
            "olga_time_to_first_token_seconds",
            "Time to the first streamed token.",
            ("model", "provider"),
            TTFT_BUCKETS,
        )
        self.overhead = Histogram(
            "olga_overhead_seconds",
            "olga's own time per request: the whole request less the time spent waiting on providers.",
            ("route",),
            OVERHEAD_BUCKETS,
        )
        self.attempts = Counter(
            "olga_upstream_attempts_total",
            "Calls to providers, by provider and outcome (HTTP status or failure kind).",
            ("provider", "outcome"),
        )
        self.upstream_errors = Counter(
            "olga_upstream_errors_total",
            "Failed calls to providers, by provider and reason.",
            ("provider", "reason"),
        )

    def observe(self, record: GenerationRecord) -> None:
        """The gateway's observer: called once per committed record."""
        model = record.model or record.model_requested or ""
        provider = record.provider or ""
        route = route_template(record.endpoint)
        self.requests.inc((route, model, provider, str(record.status)))
        for kind, count in (
            ("prompt", record.tokens_prompt),
            ("completion", record.tokens_completion),
            ("cached", record.tokens_cached),
        ):
            if count:
                self.tokens.inc((model, provider, kind), count)
        if record.cost_pico:
            self.cost.inc((model, provider), record.cost_pico)
        self.latency.observe((route, model, provider), record.latency_ms / 1000)
        self.overhead.observe((route,), record.overhead_ms / 1000)
        if record.ttft_ms is not None:
            self.ttft.observe((model, provider), record.ttft_ms / 1000)
        for attempt in record.attempts:
            kind = (attempt.error or "").split(":", 1)[0].strip() or "error"
            outcome = str(attempt.status) if attempt.status is not None else kind
            self.attempts.inc((attempt.provider, outcome))
            if attempt.status is None:
                self.upstream_errors.inc((attempt.provider, kind))
            elif attempt.status >= 400:
                self.upstream_errors.inc((attempt.provider, f"http_{attempt.status}"))

    def render(self) -> str:
        lines = [
            "# HELP olga_requests_in_flight Proxied requests being answered right now.",
            "# TYPE olga_requests_in_flight gauge",
            f"olga_requests_in_flight {self.in_flight}",
            "# HELP olga_event_loop_tasks asyncio tasks alive in the process: requests, streams, background work.",
            "# TYPE olga_event_loop_tasks gauge",
            f"olga_event_loop_tasks {_tasks()}",
        ]
        for metric in (
            self.requests,
            self.tokens,
            self.cost,
            self.latency,
            self.ttft,
            self.overhead,
            self.attempts,
            self.upstream_errors,
        ):
            lines.extend(metric.lines())
        return "\n".join(lines) + "\n"


def _tasks() -> int:
    try:
        return len(asyncio.all_tasks())
    except RuntimeError:  # rendered with no loop running: not by the server
        return 0


_METRICS = web.AppKey("olga_metrics", Metrics)


def install_metrics(app: web.Application) -> Metrics:
    """Keep a ``Metrics`` on the app; returns it for the gateway's observers."""
    metrics = Metrics()
    app[_METRICS] = metrics
    return metrics


def metrics_of(app: web.Application) -> Metrics:
    return app[_METRICS]


def counted(handler: Handler) -> Handler:
    """``handler`` counted in ``olga_requests_in_flight`` while it runs: every POST route is a proxied
    API call; GETs (health, models, metrics) are not counted."""

    async def handle(request: Request) -> Response | None:
        metrics = request.app[_METRICS]
        metrics.in_flight += 1
        try:
            return await handler(request)
        finally:
            metrics.in_flight -= 1

    return handle


async def metrics_handler(request: Request) -> Response:
    return Response(body=metrics_of(request.app).render().encode(), headers={"Content-Type": CONTENT_TYPE})
