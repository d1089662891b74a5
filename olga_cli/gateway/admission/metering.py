"""Credits on the hot path: reserve a request's worst case before the call, settle on real usage after.

All of it is arithmetic on in-memory integers with no ``await`` between check and reserve, so
concurrent requests can never jointly spend more than a key's balance.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from olga_cli.catalog import DEFAULT_MAX_OUTPUT, ModelEntry
from olga_cli.errors import InsufficientCredits
from olga_cli.gateway.snapshot import KeyState
from olga_cli.jsonwire import Spans
from olga_cli.money import pico_to_usd
from olga_cli.providers.usage import Usage
from olga_cli.records import GenerationRecord
from olga_cli.store.sanitise import MAX_INTEGER


def requested_output(body: dict[str, Any]) -> int | None:
    """``max_tokens`` in any API's spelling, if the request sets one."""
    for name in ("max_completion_tokens", "max_tokens", "max_output_tokens"):
        value = body.get(name)
        if isinstance(value, int) and not isinstance(value, bool) and value > 0:
            return value
    return None


def requested_max_output(body: dict[str, Any], entry: ModelEntry) -> int:
    """``max_tokens`` (any API's spelling) within the model's max output, else the model's max output.
    A model never writes more than its maximum, so nothing beyond it is reserved."""
    requested = requested_output(body)
    most = entry.max_output_tokens or DEFAULT_MAX_OUTPUT
    return most if requested is None else min(requested, most) if entry.max_output_tokens else requested


# What one image can cost in input tokens, at most, whatever its size in the body (a URL is a few bytes):
# OpenAI's dearest per-image rate (gpt-4o-mini, high detail: 2,833 + 5,667 a tile, 8 tiles at most)
# is 48,169; Anthropic's images stay under 1,600 tokens.
IMAGE_TOKENS = 50_000
# A file or document by URL or id can fill the model's context window; this when the catalog gives none.
FILE_TOKENS = 1_000_000
# Where content parts live: Chat and Messages in "messages", Responses in "input". Tools and the system
# prompt (most of an agent's body) hold no parts, so the walk skips them. (Walking the parsed messages
# costs less than searching the raw bytes for part types: each substring search of a 150 KB body
# takes 50-130 µs, as '"' and '\\' are everywhere in JSON, and escapes could spell a type anyway.)
_PART_HOLDERS = ("messages", "input")
_IMAGES = frozenset({"image", "image_url", "input_image"})
_FILES = frozenset({"file", "input_file", "document"})


def input_token_bound(
    raw_body: bytes,
    body: Any = None,
    context_window: int | None = None,
    *,
    media: tuple[int, int] | None = None,
) -> int:
    """An upper bound on prompt tokens: no tokenizer in use makes a token of less than one byte of text,
    and images and files (by URL or id, which cost far more than their bytes) add their own worst case,
    up to the model's context window. ``media`` is ``media_of(body)`` when the caller has it already
    (one request, several targets)."""
    bound = len(raw_body)
    if media is None and body is None:
        return bound
    images, files = media if media is not None else media_of(body)
    extra = images * IMAGE_TOKENS + files * (context_window or FILE_TOKENS)
    if not extra:
        return bound
    return min(bound + extra, max(bound, context_window)) if context_window else bound + extra


def media_of(body: Any, spans: Spans | None = None) -> tuple[int, int]:
    """Images and files of a request body, looked for where content parts live. A member whose bytes
    ``spans`` kept is first searched as bytes: with no part type's name in it, nothing is walked (an
    agent's history is thousands of blocks, and the walk cost more than the search)."""
    if not isinstance(body, dict):
        return count_media(body)
    holders = [body.get(name) for name in _PART_HOLDERS if spans is None or not _no_parts(spans.raw(name))]
    return count_media(holders)


# A part's type as JSON text spells its name between quotes, unless a letter is escaped (``\u0069``,
# which no client writes but any may): a member with an escaped letter or underscore is walked.
_PART_NAMES = tuple(f'"{name}"'.encode() for name in sorted(_IMAGES | _FILES))
_ESCAPED_LETTER = re.compile(rb"\\u00[4-7]")


def _no_parts(data: bytes | None) -> bool:
    """Whether ``data`` (a member's JSON) certainly holds no image or file part."""
    if data is None:
        return False
    return not any(name in data for name in _PART_NAMES) and _ESCAPED_LETTER.search(data) is None


def count_media(body: Any) -> tuple[int, int]:
    """Content parts that are images, and parts that are files or documents, anywhere in a request body."""
    images = files = 0
    stack = [body]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            kind = node.get("type")
            kind = kind if isinstance(kind, str) else None
            if kind in _IMAGES:
                images += 1
            elif kind in _FILES:
                files += 1
            else:  # a part's own insides (an Anthropic document's "source": {"type": "file"}) are not parts
                stack.extend(value for value in node.values() if isinstance(value, (dict, list)))
        elif isinstance(node, list):
            stack.extend(value for value in node if isinstance(value, (dict, list)))
    return images, files


# Below this many output tokens an answer is too short to be worth starting: a small key's request
# that cannot afford even this much is refused (402) rather than cut to a stub.
USEFUL_OUTPUT = 512


@dataclass(slots=True)
class Reservation:
    key: KeyState
    amount: int
    settled: bool = False

    def release(self) -> None:
        if not self.settled:
            self.key.reserved -= self.amount
            self.key.in_flight -= 1
            self.settled = True


def rate_multiplier(key: KeyState, team_multiplier: Decimal | None) -> Decimal:
    multiplier = key.row.rate_multiplier
    return multiplier * team_multiplier if team_multiplier is not None else multiplier


def reserve(key: KeyState, worst_case: int, *, max_output: int) -> Reservation:
    balance = key.balance
    if balance is not None and worst_case > balance:
        raise InsufficientCredits(
            f"Insufficient credits: this request may cost up to ${pico_to_usd(worst_case)} "
            f"({max_output} output tokens at most) but the key's balance is ${pico_to_usd(max(balance, 0))}. "
            f"Top up with `olga credits topup {key.row.name} USD` or lower max_tokens."
        )
    key.reserved += worst_case
    key.in_flight += 1
    return Reservation(key, worst_case)


def settle(reservation: Reservation, cost: int) -> None:
    """Replace the reservation by the real cost (which the ledger row written with the record holds)."""
    reservation.release()
    reservation.key.spent += cost


@dataclass(frozen=True, slots=True)
class Affordable:
    cost: int  # what to reserve
    output: int  # the most output tokens to ask the provider for


def afford(
    key: KeyState, entry: ModelEntry, *, input_tokens: int, wanted: int, multiplier: Decimal
) -> Affordable | None:
    """The most output (up to ``wanted``) the key's balance covers beside ``input_tokens`` of prompt,
    when that is still a useful answer; None when it is not (or the key has no balance to mind).

    The prompt is priced as read from the provider's cache, where the model has a cached price: an
    agent resends a mostly cached prompt turn after turn, and pricing it in full would stop a small
    key with a fifth of its money left. Every charge is capped at its reservation (``capped``), so
    a dearer prompt costs olga the difference, never the balance.
    """
    balance = key.balance
    if balance is None:
        return None

    def cost(output: int) -> int:
        usage = Usage(input_tokens, output, cached_tokens=input_tokens)
        return entry.cost_pico(usage, rate_multiplier=multiplier)

    low, high = min(USEFUL_OUTPUT, wanted), wanted
    if cost(low) > balance:
        return None
    while low < high:  # the largest output whose cost the balance covers (cost grows with output)
        middle = (low + high + 1) // 2
        if cost(middle) <= balance:
            low = middle
        else:
            high = middle - 1
    return Affordable(cost(low), low)


def reserve_affordable(key: KeyState, affordable: Affordable) -> Reservation:
    key.reserved += affordable.cost
    key.in_flight += 1
    return Reservation(key, affordable.cost)


def capped(record: GenerationRecord, cost: int, reservation: Reservation | None) -> int:
    """The charge for ``cost``: never more than was reserved for the request, which is what the key's
    balance was checked against. Usage beyond the bound is kept in the record and flagged."""
    _clamp_tokens(record)
    if reservation is None or cost <= reservation.amount:
        return cost
    record.flags.append(
        f"charge_capped: the usage reported ({record.tokens_prompt} prompt, {record.tokens_completion} "
        f"completion tokens) costs ${pico_to_usd(cost)}, more than the ${pico_to_usd(reservation.amount)} "
        "reserved for this request; the charge is capped at the reservation"
    )
    return reservation.amount


def _clamp_tokens(record: GenerationRecord) -> None:
    """Token counts a provider reported beyond what the store can hold (2**63) are clamped, and flagged."""
    for name in ("tokens_prompt", "tokens_completion", "tokens_cached", "tokens_cache_write"):
        value = getattr(record, name)
        if value > MAX_INTEGER:
            setattr(record, name, MAX_INTEGER)
            record.flags.append(f"usage_clamped: {name} reported beyond {MAX_INTEGER}, stored as that")


def cost_of(entry: ModelEntry, usage: Usage, multiplier: Decimal) -> int:
    return entry.cost_pico(usage, rate_multiplier=multiplier)
