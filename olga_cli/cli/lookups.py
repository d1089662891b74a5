"""What a user typed, turned into what olga stores: keys and teams by name or id, amounts of USD,
multipliers, durations, whole numbers and model lists checked against the catalog.

Every command reads its arguments through here, so a mistake reads the same wherever it is made:
one ``UserError`` naming the flag, what was wrong and what to type instead.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING

from olga_cli.errors import UserError
from olga_cli.money import PICO_PER_USD

if TYPE_CHECKING:
    from olga_cli.store.base import Store
    from olga_cli.store.keys import KeyRow, TeamRow

# A plain decimal: no sign, no exponent (1e3 is a typo more often than a thousand dollars).
_USD = re.compile(r"^\s*\$?(\d+(?:\.\d*)?|\.\d+)\s*$")
_NUMBER = re.compile(r"^\s*(\d+(?:\.\d*)?|\.\d+)\s*$")
_DURATION = re.compile(r"^\s*(\d+)\s*([smhdw])\s*$")
_UNIT = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
MAX_USD = 1_000_000  # the store's integers hold about 9.2 million USD; a million is plenty for one entry


def did_you_mean(word: str, candidates: Iterable[str]) -> str:
    """`` (did you mean 'mock/echo'?)`` when something close exists, else nothing."""
    close = difflib.get_close_matches(word, list(candidates), n=3, cutoff=0.6)
    if not close:
        return ""
    return " (did you mean " + " or ".join(f"'{c}'" for c in close) + "?)"


# -- names in the store -------------------------------------------------------------------------


async def find_key(db: Store, ref: str) -> KeyRow:
    row = await db.keys.get_key(ref)
    if row is None:
        names = [k.name for k in await db.keys.list_keys()]
        raise UserError(f"no key named or with id '{ref}'{did_you_mean(ref, names)}; see `olga keys list`")
    return row


async def find_team(db: Store, ref: str) -> TeamRow:
    team = await db.keys.get_team(ref)
    if team is None:
        names = [t.name for t in await db.keys.list_teams()]
        close = did_you_mean(ref, names)
        if close:
            raise UserError(f"no team named or with id '{ref}'{close}; see `olga teams list`")
        raise UserError(f"no team named or with id '{ref}'; create it with `olga teams create {ref}`")
    return team


async def find_team_id(db: Store, ref: str | None) -> str | None:
    return None if ref is None else (await find_team(db, ref)).id


def check_name(text: str, *, what: str) -> str:
    """A name for a key or team: not empty, no control characters, no surrounding spaces kept."""
    name = text.strip()
    if not name:
        raise UserError(f"a {what} name cannot be empty; give one such as 'laptop' or 'research'")
    if not name.isprintable():
        raise UserError(f"a {what} name cannot hold control characters; got {text!r}")
    if name.startswith(("sk-olga-", "-")):
        raise UserError(f"a {what} name cannot start with '{name[:8]}'; pick a plain name such as 'laptop'")
    return name


# -- numbers ------------------------------------------------------------------------------------


def parse_usd(text: str, *, flag: str, allow_zero: bool = False) -> int:
    """``"5"``, ``"0.50"`` or ``"$2"`` -> picodollars. Negative, exponents and over 12 decimals refused."""
    match = _USD.match(text)
    if match is None:
        if text.strip().startswith("-"):
            raise UserError(f"{flag} must be a positive amount of USD, not {text}")
        raise UserError(f"{flag} takes a plain amount of USD such as 5 or 0.50, not {text!r}")
    number = Decimal(match.group(1))
    scaled = number * PICO_PER_USD
    if scaled != scaled.to_integral_value():
        raise UserError(f"{flag} has more than 12 decimals: {text}")
    if number > MAX_USD:
        raise UserError(f"{flag} is more than {MAX_USD:,} USD at once: {text}; split it into several top-ups")
    if not number and not allow_zero:
        raise UserError(f"{flag} must be more than 0 USD")
    return int(scaled)


def parse_credits(text: str | None, *, flag: str = "--credits") -> int | None:
    return None if text is None else parse_usd(text, flag=flag, allow_zero=True)


def parse_multiplier(text: str | None) -> Decimal | None:
    if text is None:
        return None
    match = _NUMBER.match(text)
    if match is None:
        raise UserError(f"--rate-multiplier takes a plain number such as 1.2 or 0.5, not {text!r}")
    value = Decimal(match.group(1))
    if value <= 0:
        raise UserError("--rate-multiplier must be greater than 0")
    return value


def parse_duration(text: str, *, flag: str) -> int:
    """``30d`` -> seconds. Units: s, m, h, d, w."""
    match = _DURATION.match(text)
    if not match or int(match.group(1)) <= 0:
        raise UserError(f"{flag} takes a duration such as 90m, 12h, 30d or 2w, not {text!r}")
    return int(match.group(1)) * _UNIT[match.group(2)]


def positive(value: int | None, *, flag: str) -> int | None:
    if value is not None and value <= 0:
        raise UserError(f"{flag} must be a positive whole number")
    return value


# -- models -------------------------------------------------------------------------------------


def parse_models(text: str | None, *, home: Path | None = None) -> tuple[str, ...] | None:
    """A comma-separated allow-list; with ``home``, each name is checked against the catalog and the
    configured providers, so a typo is refused instead of giving a key that gets 403 on everything."""
    if text is None:
        return None
    models = tuple(dict.fromkeys(m.strip() for m in text.split(",") if m.strip()))
    if not models:
        raise UserError("--models takes a comma-separated list such as openai/gpt-4o-mini,mock/echo")
    if home is not None:
        for model in models:
            check_model(model, home=home)
    return models


def check_model(model: str, *, home: Path) -> None:
    """Refuse a model name no request could ever match, suggesting the closest known names."""
    from olga_cli.catalog import load_catalog
    from olga_cli.config import load_config
    from olga_cli.errors import CatalogError

    try:
        catalog = load_catalog(home)
    except CatalogError as exc:
        raise UserError(str(exc)) from None
    config = load_config(home)
    providers = {e.provider for e in catalog.entries()} | set(catalog.wildcard_providers())
    providers |= set(config.providers)
    provider, slash, name = model.partition("/")
    if slash and name == "*":
        if provider in providers:
            return
        raise UserError(
            f"--models: no provider '{provider}'{did_you_mean(provider, providers)}; see `olga providers list`"
        )
    if catalog.resolve(model) is not None or any(rule.model == model for rule in config.routes):
        return
    names = [e.id for e in catalog.entries()] + [a for e in catalog.entries() for a in e.aliases]
    raise UserError(
        f"--models: olga knows no model '{model}'{did_you_mean(model, names)}; "
        "see `olga models list` (or 'provider/*' for all of a provider's)"
    )
