"""The model catalog: which models exist, what they cost, how large they are.

Loaded once from the packaged ``model_catalog.json``, overlaid field by field by
``<home>/model_catalog.json``. Prices are read as ``Decimal`` straight from the JSON text
(``parse_float=Decimal``), never through a float. An entry named ``provider/*`` prices every model of
that provider (``ollama/*`` is free), so a local server's models need no entry each.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from decimal import Decimal
from importlib import resources
from pathlib import Path
from typing import Any

from olga_cli.errors import CatalogError
from olga_cli.money import per_mtok_to_pico_per_token, pico_to_usd, round_pico, to_decimal
from olga_cli.providers.usage import Usage
from olga_cli.records import GenerationRecord

_REQUIRED_FOR_NEW = ("provider", "input_per_mtok", "output_per_mtok")
DEFAULT_MAX_OUTPUT = 4096


@dataclass(frozen=True, slots=True)
class ModelEntry:
    id: str  # "provider/model"
    provider: str
    upstream: str
    input_per_mtok: Decimal
    output_per_mtok: Decimal
    cached_input_per_mtok: Decimal | None
    cache_write_per_mtok: Decimal | None
    multiplier: Decimal
    context_window: int | None
    max_output_tokens: int | None
    aliases: tuple[str, ...]
    endpoints: tuple[str, ...]
    # Where a provider prices reasoning (thinking) tokens apart from the rest of the output.
    reasoning_per_mtok: Decimal | None = None
    # The model reasons before answering and takes a reasoning budget (OpenAI's reasoning_effort,
    # Anthropic's thinking): what a translation may carry thinking or effort over to.
    reasoning: bool = False
    # (input, cached input, cache write, output, reasoning) in whole picodollars per token, when every price is
    # whole at that scale (six decimals or fewer per million) and the entry's multiplier is 1: then
    # a request's cost is integer arithmetic, exact, without Decimal on the request path.
    whole_pico_rates: tuple[int, int, int, int, int] | None = field(
        default=None, init=False, compare=False, repr=False
    )

    def __post_init__(self) -> None:
        cached = self.cached_input_per_mtok if self.cached_input_per_mtok is not None else self.input_per_mtok
        write = self.cache_write_per_mtok if self.cache_write_per_mtok is not None else self.input_per_mtok
        reasoning = self.reasoning_per_mtok if self.reasoning_per_mtok is not None else self.output_per_mtok
        rates = [
            per_mtok_to_pico_per_token(p)
            for p in (self.input_per_mtok, cached, write, self.output_per_mtok, reasoning)
        ]
        if self.multiplier == 1 and all(r == r.to_integral_value() for r in rates):
            object.__setattr__(self, "whole_pico_rates", tuple(int(r) for r in rates))

    @property
    def is_free(self) -> bool:
        return not (self.input_per_mtok or self.output_per_mtok)

    def cost_pico(self, usage: Usage, *, rate_multiplier: Decimal = Decimal(1)) -> int:
        """The contract's formula, exact: each input token priced once, at the rate that applies."""
        rates = self.whole_pico_rates
        if rates is not None and rate_multiplier == 1:
            return (
                usage.uncached_prompt_tokens * rates[0]
                + usage.cached_tokens * rates[1]
                + usage.cache_write_tokens * rates[2]
                + usage.plain_completion_tokens * rates[3]
                + usage.reasoning_tokens * rates[4]
            )
        cached_rate = (
            self.cached_input_per_mtok if self.cached_input_per_mtok is not None else self.input_per_mtok
        )
        write_rate = (
            self.cache_write_per_mtok if self.cache_write_per_mtok is not None else self.input_per_mtok
        )
        reasoning_rate = (
            self.reasoning_per_mtok if self.reasoning_per_mtok is not None else self.output_per_mtok
        )
        per_mtok = (
            usage.uncached_prompt_tokens * self.input_per_mtok
            + usage.cached_tokens * cached_rate
            + usage.cache_write_tokens * write_rate
            + usage.plain_completion_tokens * self.output_per_mtok
            + usage.reasoning_tokens * reasoning_rate
        )
        return round_pico(per_mtok_to_pico_per_token(per_mtok) * rate_multiplier * self.multiplier)

    def worst_case_pico(self, input_tokens: int, max_output: int, *, rate_multiplier: Decimal) -> int:
        """What a request can cost at most: all input at the full rate plus ``max_output`` tokens."""
        return self.cost_pico(Usage(input_tokens, max_output), rate_multiplier=rate_multiplier)

    def to_json(self) -> dict[str, Any]:
        def dec(value: Decimal | None) -> str | None:
            return None if value is None else str(value)

        return {
            "id": self.id,
            "provider": self.provider,
            "upstream": self.upstream,
            "input_per_mtok": dec(self.input_per_mtok),
            "output_per_mtok": dec(self.output_per_mtok),
            "cached_input_per_mtok": dec(self.cached_input_per_mtok),
            "cache_write_per_mtok": dec(self.cache_write_per_mtok),
            "reasoning_per_mtok": dec(self.reasoning_per_mtok),
            "multiplier": dec(self.multiplier),
            "context_window": self.context_window,
            "max_output_tokens": self.max_output_tokens,
            "aliases": list(self.aliases),
            "endpoints": list(self.endpoints),
            "reasoning": self.reasoning,
        }


class Catalog:
    """Resolves ``provider/model``, a bare name or an alias to one priced entry."""

    def __init__(self, entries: dict[str, ModelEntry], version: str = "") -> None:
        self.version = version
        self._by_id = {k: v for k, v in entries.items() if not k.endswith("/*")}
        self._wildcards = {k[:-2]: v for k, v in entries.items() if k.endswith("/*")}
        self._by_name: dict[str, ModelEntry] = {}
        for entry in self._by_id.values():
            for name in (entry.upstream, *entry.aliases):
                # First one wins, in id order, so a bare name resolves the same way on every start.
                self._by_name.setdefault(name, entry)

    def __len__(self) -> int:
        return len(self._by_id)

    def entries(self) -> list[ModelEntry]:
        return list(self._by_id.values())

    def wildcard_providers(self) -> list[str]:
        return list(self._wildcards)

    def to_document(self) -> dict[str, Any]:
        """The whole catalog (wildcards too) in the file format, e.g. to keep the prices of a version."""
        models = {e.id: e.to_json() for e in self._by_id.values()}
        models.update({f"{p}/*": {**e.to_json(), "upstream": None} for p, e in self._wildcards.items()})
        for fields in models.values():
            fields.pop("id")
        return {"version": self.version, "models": models}

    def resolve(self, model: str) -> ModelEntry | None:
        """``openai/gpt-4o-mini``, ``gpt-4o-mini`` or an alias; ``ollama/llama3`` by wildcard."""
        entry = self._by_id.get(model)
        if entry is not None:
            return entry
        provider, slash, name = model.partition("/")
        if slash:
            wildcard = self._wildcards.get(provider)
            if wildcard is not None and name:
                return _with_name(wildcard, provider, name)
        return self._by_name.get(model)

    def resolve_for_provider(self, provider: str, model: str) -> ModelEntry | None:
        """The entry for ``model`` as served by ``provider`` (a routed or pinned request)."""
        entry = self._by_id.get(f"{provider}/{model}")
        if entry is not None:
            return entry
        wildcard = self._wildcards.get(provider)
        if wildcard is not None:
            return _with_name(wildcard, provider, model)
        entry = self.resolve(model)
        return entry


def _with_name(wildcard: ModelEntry, provider: str, name: str) -> ModelEntry:
    return ModelEntry(
        id=f"{provider}/{name}",
        provider=provider,
        upstream=name,
        input_per_mtok=wildcard.input_per_mtok,
        output_per_mtok=wildcard.output_per_mtok,
        cached_input_per_mtok=wildcard.cached_input_per_mtok,
        cache_write_per_mtok=wildcard.cache_write_per_mtok,
        multiplier=wildcard.multiplier,
        context_window=wildcard.context_window,
        max_output_tokens=wildcard.max_output_tokens,
        aliases=(),
        endpoints=wildcard.endpoints,
        reasoning_per_mtok=wildcard.reasoning_per_mtok,
        reasoning=wildcard.reasoning,
    )


def _entry(model_id: str, raw: dict[str, Any], source: str) -> ModelEntry:
    def price(name: str, *, required: bool) -> Decimal | None:
        value = raw.get(name)
        if value is None:
            if required:
                raise CatalogError(f"{source}: model {model_id!r} needs {name!r}")
            return None
        try:
            number = to_decimal(value, what=f"{model_id}.{name}")
        except ValueError as exc:
            raise CatalogError(f"{source}: {exc}") from None
        if number < 0:
            raise CatalogError(f"{source}: {model_id}.{name} must not be negative")
        return number

    def integer(name: str) -> int | None:
        value = raw.get(name)
        if value is None:
            return None
        if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
            raise CatalogError(f"{source}: {model_id}.{name} must be a positive whole number")
        return value

    provider = raw.get("provider")
    if not isinstance(provider, str) or not provider:
        raise CatalogError(f"{source}: model {model_id!r} needs a 'provider'")
    default_upstream = model_id.split("/", 1)[1] if "/" in model_id else model_id
    upstream = raw.get("upstream") or default_upstream
    aliases = raw.get("aliases") or []
    endpoints = raw.get("endpoints") or ["chat"]
    if not isinstance(aliases, list) or not all(isinstance(a, str) for a in aliases):
        raise CatalogError(f"{source}: {model_id}.aliases must be a list of names")
    if not isinstance(endpoints, list) or not all(isinstance(e, str) for e in endpoints):
        raise CatalogError(f"{source}: {model_id}.endpoints must be a list of names")
    multiplier = price("multiplier", required=False)
    reasoning = raw.get("reasoning", False)
    if not isinstance(reasoning, bool):
        raise CatalogError(f"{source}: {model_id}.reasoning must be true or false")
    return ModelEntry(
        id=model_id,
        provider=provider,
        upstream=str(upstream),
        input_per_mtok=price("input_per_mtok", required=True) or Decimal(0),
        output_per_mtok=price("output_per_mtok", required=True) or Decimal(0),
        cached_input_per_mtok=price("cached_input_per_mtok", required=False),
        cache_write_per_mtok=price("cache_write_per_mtok", required=False),
        multiplier=Decimal(1) if multiplier is None else multiplier,
        context_window=integer("context_window"),
        max_output_tokens=integer("max_output_tokens"),
        aliases=tuple(aliases),
        endpoints=tuple(endpoints),
        reasoning_per_mtok=price("reasoning_per_mtok", required=False),
        reasoning=reasoning,
    )


def _read(text: str, source: str) -> dict[str, Any]:
    try:
        document = json.loads(text, parse_float=Decimal)
    except json.JSONDecodeError as exc:
        raise CatalogError(f"{source} is not valid JSON: {exc}") from None
    if not isinstance(document, dict) or not isinstance(document.get("models"), dict):
        raise CatalogError(f'{source} must be a JSON object with a "models" object')
    return document


def merge(base: dict[str, dict[str, Any]], overlay: dict[str, Any], source: str) -> dict[str, dict[str, Any]]:
    merged = {k: dict(v) for k, v in base.items()}
    for model_id, fields in overlay.items():
        if not isinstance(fields, dict):
            raise CatalogError(f"{source}: entry {model_id!r} must be an object")
        if model_id in merged:
            merged[model_id].update(fields)
        else:
            missing = [name for name in _REQUIRED_FOR_NEW if fields.get(name) is None]
            if missing:
                raise CatalogError(f"{source}: new model {model_id!r} needs {', '.join(missing)}")
            merged[model_id] = dict(fields)
    return merged


def catalog_from_text(text: str, source: str) -> Catalog:
    """A whole catalog document (such as a kept version) read on its own, without the packaged one."""
    document = _read(text, source)
    models: dict[str, dict[str, Any]] = document["models"]
    entries = {model_id: _entry(model_id, fields, source) for model_id, fields in models.items()}
    return Catalog(entries, str(document.get("version", "")))


def load_catalog(home: Path | None) -> Catalog:
    """The packaged catalog, overlaid by ``<home>/model_catalog.json`` if it exists."""
    packaged = _read(
        resources.files("olga_cli").joinpath("model_catalog.json").read_text("utf-8"), "model_catalog.json"
    )
    raw: dict[str, dict[str, Any]] = packaged["models"]
    version = str(packaged.get("version", ""))
    if home is not None:
        overlay_path = home / "model_catalog.json"
        if overlay_path.is_file():
            overlay = _read(overlay_path.read_text("utf-8"), str(overlay_path))
            raw = merge(raw, overlay["models"], str(overlay_path))
            version = str(overlay.get("version", version))
    return Catalog(
        {model_id: _entry(model_id, fields, "model catalog") for model_id, fields in raw.items()}, version
    )


# -- a record's cost explained (`olga generation`), with the formula the gateway charges by ------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class CostLine:
    what: str  # "input", "cached input", "cache write", "output"
    tokens: int
    price_per_mtok: Decimal
    pico: Decimal  # before multipliers; exact, may be fractional


@dataclass(frozen=True, slots=True)
class CostBreakdown:
    """How a record's cost follows from today's catalog prices and multipliers."""

    model_id: str
    lines: tuple[CostLine, ...]
    model_multiplier: Decimal
    rate_multiplier: Decimal  # the key's, times its team's
    computed_pico: int
    recorded_pico: int
    catalog_version: str = ""  # whose prices these are: the record's own version when olga kept it

    @property
    def matches(self) -> bool:
        return self.computed_pico == self.recorded_pico

    def to_json(self) -> dict[str, Any]:
        return {
            "model": self.model_id,
            "lines": [
                {
                    "what": line.what,
                    "tokens": line.tokens,
                    "usd_per_mtok": str(line.price_per_mtok),
                    "cost": exact_usd(line.pico),
                }
                for line in self.lines
            ],
            "model_multiplier": str(self.model_multiplier),
            "rate_multiplier": str(self.rate_multiplier),
            "computed_cost": pico_to_usd(self.computed_pico),
            "recorded_cost": pico_to_usd(self.recorded_pico),
            "matches_current_prices": self.matches,
            "catalog_version": self.catalog_version,
        }


def cost_breakdown(
    record: GenerationRecord, entry: ModelEntry, rate_multiplier: Decimal, catalog_version: str = ""
) -> CostBreakdown:
    """The record's cost, line by line, from ``entry``'s prices (the same formula the gateway charges)."""
    cached_rate = (
        entry.cached_input_per_mtok if entry.cached_input_per_mtok is not None else entry.input_per_mtok
    )
    write_rate = (
        entry.cache_write_per_mtok if entry.cache_write_per_mtok is not None else entry.input_per_mtok
    )
    usage = Usage(
        record.tokens_prompt,
        record.tokens_completion,
        record.tokens_cached,
        record.tokens_cache_write,
        reasoning_tokens=record.tokens_reasoning if entry.reasoning_per_mtok is not None else 0,
    )
    lines = [
        CostLine(
            "input",
            usage.uncached_prompt_tokens,
            entry.input_per_mtok,
            per_mtok_to_pico_per_token(usage.uncached_prompt_tokens * entry.input_per_mtok),
        ),
    ]
    if usage.cached_tokens:
        lines.append(
            CostLine(
                "cached input",
                usage.cached_tokens,
                cached_rate,
                per_mtok_to_pico_per_token(usage.cached_tokens * cached_rate),
            )
        )
    if usage.cache_write_tokens:
        lines.append(
            CostLine(
                "cache write",
                usage.cache_write_tokens,
                write_rate,
                per_mtok_to_pico_per_token(usage.cache_write_tokens * write_rate),
            )
        )
    lines.append(
        CostLine(
            "output",
            usage.plain_completion_tokens,
            entry.output_per_mtok,
            per_mtok_to_pico_per_token(usage.plain_completion_tokens * entry.output_per_mtok),
        )
    )
    if usage.reasoning_tokens and entry.reasoning_per_mtok is not None:
        lines.append(
            CostLine(
                "reasoning",
                usage.reasoning_tokens,
                entry.reasoning_per_mtok,
                per_mtok_to_pico_per_token(usage.reasoning_tokens * entry.reasoning_per_mtok),
            )
        )
    return CostBreakdown(
        model_id=entry.id,
        lines=tuple(lines),
        model_multiplier=entry.multiplier,
        rate_multiplier=rate_multiplier,
        computed_pico=entry.cost_pico(usage, rate_multiplier=rate_multiplier),
        recorded_pico=record.cost_pico,
        catalog_version=catalog_version,
    )


def exact_usd(pico: Decimal) -> str:
    """Picodollars, possibly fractional, as an exact decimal string of USD (no $, no exponent)."""
    return pico_to_usd(int(pico)) if pico == int(pico) else f"{(pico / 10**12).normalize():f}"
