"""Money as integers of picodollars (1e-12 USD), never floats.

Every amount olga stores, sums or compares is an ``int`` of picodollars, so balances, reservations
and the ledger add up exactly and SQLite's ``SUM`` over them is exact too. Catalog prices are USD per
million tokens, so a price with up to six decimals is a whole number of picodollars per token; a cost
is computed in ``Decimal`` from the exact prices and multipliers and rounded once, half up, to the
picodollar. The largest amount a signed 64-bit column holds is about 9.2 million USD.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

PICO_PER_USD = 10**12
_QUANTUM = Decimal(1)


def to_decimal(value: object, *, what: str = "amount") -> Decimal:
    """Read a price, multiplier or amount exactly: ints and decimal strings, never through a float."""
    if isinstance(value, bool):
        raise ValueError(f"{what} must be a number, not {value!r}")
    if isinstance(value, float):
        # JSON numbers reach us as floats only if parsed without parse_float=Decimal; repr() is the
        # shortest string that round-trips, which is what the author of "0.15" wrote.
        value = repr(value)
    try:
        number = Decimal(str(value).strip())
    except (InvalidOperation, ValueError):
        raise ValueError(f"{what} must be a decimal number such as 0.15, not {value!r}") from None
    if not number.is_finite():
        raise ValueError(f"{what} must be a finite number, not {value!r}")
    return number


def usd_to_pico(value: object, *, what: str = "amount") -> int:
    """``"1.50"`` -> 1_500_000_000_000. Refuses negative amounts and more than 12 decimals."""
    number = to_decimal(value, what=what)
    if number < 0:
        raise ValueError(f"{what} must not be negative, got {value}")
    scaled = number * PICO_PER_USD
    if scaled != scaled.to_integral_value():
        raise ValueError(f"{what} has more than 12 decimals: {value}")
    return int(scaled)


def pico_to_usd(pico: int) -> str:
    """1_950_000 -> ``"0.00000195"``: exact, no exponent, no trailing zeros."""
    sign = "-" if pico < 0 else ""
    whole, frac = divmod(abs(pico), PICO_PER_USD)
    if not frac:
        return f"{sign}{whole}"
    return f"{sign}{whole}.{frac:012d}".rstrip("0")


def pico_to_display(pico: int, *, places: int = 6) -> str:
    """For humans: ``$0.000002`` (half up, away from zero); exact amounts stay in ``pico_to_usd``.
    In integers: it runs for every access-log line, where Decimal's quantize took several µs."""
    unit = 10 ** (12 - places)
    shown, rest = divmod(abs(pico), unit)
    if rest * 2 >= unit:
        shown += 1
    sign = "-" if pico < 0 else ""
    if places <= 0:
        return f"${sign}{shown * 10**-places}"
    whole, fraction = divmod(shown, 10**places)
    return f"${sign}{whole}.{fraction:0{places}d}"


def per_mtok_to_pico_per_token(price_per_mtok: Decimal) -> Decimal:
    """USD per million tokens -> picodollars per token (exact; may be fractional)."""
    return price_per_mtok * (PICO_PER_USD // 10**6)


def round_pico(value: Decimal) -> int:
    return int(value.quantize(_QUANTUM, rounding=ROUND_HALF_UP))
