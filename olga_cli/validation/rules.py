"""The vocabulary of the request tables: small rules that check one JSON value each.

A table is built once from these (``chat.py``, ``messages.py``, ...) and checking a body walks only
the fields it names. Fields a table does not name are not looked at, so what providers add passes
through; ``null`` is accepted for every optional field, as the OpenAI API accepts it.

A rule raises ``Invalid`` with what the value must be; the containers on the way up add their key or
index to its path, so the error names the field as ``messages[3].content[0].text``. Nothing is built
while a body is valid: the path exists only on the way out of an error.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from typing import Any


class Invalid(Exception):
    """A value that is not what its rule expects; ``path`` is filled in on the way up, innermost first."""

    def __init__(self, expected: str) -> None:
        super().__init__(expected)
        self.expected = expected
        self.path: list[str | int] = []

    @property
    def param(self) -> str:
        out = ""
        for part in reversed(self.path):
            out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else part)
        return out


class Rule:
    """One JSON value's shape. ``what`` completes "must be ..."; ``kinds`` are the Python types it takes."""

    __slots__ = ("kinds", "what")

    def __init__(self, what: str, kinds: tuple[type, ...]) -> None:
        self.what = what
        self.kinds = kinds

    def check(self, value: Any) -> None:
        if not isinstance(value, self.kinds) or (isinstance(value, bool) and bool not in self.kinds):
            raise Invalid(self.what)


class Anything(Rule):
    __slots__ = ()

    def __init__(self) -> None:
        super().__init__("any JSON value", (object,))

    def check(self, value: Any) -> None:
        return None


class Text(Rule):
    __slots__ = ()

    def __init__(self, what: str = "a string") -> None:
        super().__init__(what, (str,))

    def check(self, value: Any) -> None:
        if value.__class__ is not str:
            raise Invalid(self.what)


class Boolean(Rule):
    __slots__ = ()

    def __init__(self) -> None:
        super().__init__("true or false", (bool,))


class OneOf(Rule):
    """A string from a closed set."""

    __slots__ = ("values",)

    def __init__(self, *values: str) -> None:
        super().__init__("one of " + ", ".join(repr(v) for v in values), (str,))
        self.values = frozenset(values)

    def check(self, value: Any) -> None:
        if value.__class__ is not str or value not in self.values:
            raise Invalid(self.what)


class Number(Rule):
    """An int or a finite float within ``[low, high]`` (either end may be open)."""

    __slots__ = ("high", "integer", "low")

    def __init__(self, low: float | None = None, high: float | None = None, *, integer: bool = False) -> None:
        noun = "an integer" if integer else "a number"
        if low is not None and high is not None:
            what = f"{noun} from {low:g} to {high:g}"
        elif low is not None:
            what = f"{noun} of at least {low:g}"
        elif high is not None:
            what = f"{noun} of at most {high:g}"
        else:
            what = noun
        super().__init__(what, (int,) if integer else (int, float))
        self.low, self.high, self.integer = low, high, integer

    def check(self, value: Any) -> None:
        kind = value.__class__
        if not (kind is int or (kind is float and not self.integer and math.isfinite(value))):
            raise Invalid(self.what)
        if (self.low is not None and value < self.low) or (self.high is not None and value > self.high):
            raise Invalid(self.what)


def Integer(low: int | None = None, high: int | None = None) -> Number:
    return Number(low, high, integer=True)


class Obj(Rule):
    """A JSON object: the named fields checked when present (``null`` allowed unless required);
    others pass."""

    __slots__ = ("fields", "required")

    def __init__(
        self,
        fields: Mapping[str, Rule] | None = None,
        *,
        required: Iterable[str] = (),
        what: str = "an object",
    ) -> None:
        super().__init__(what, (dict,))
        self.fields = dict(fields or {})
        self.required = tuple(required)

    def check(self, value: Any) -> None:
        if value.__class__ is not dict:
            raise Invalid(self.what)
        self.check_fields(value)

    def check_fields(self, value: dict[str, Any]) -> None:
        for name in self.required:
            if value.get(name) is None:
                error = Invalid(self.fields[name].what if name in self.fields else "present")
                error.path.append(name)
                raise error
        fields = self.fields
        for name, item in value.items():
            rule = fields.get(name)
            if rule is None or item is None:
                continue
            if rule.__class__ is Text and item.__class__ is str:
                continue  # the commonest case, without a call
            try:
                rule.check(item)
            except Invalid as error:
                error.path.append(name)
                raise


class ListOf(Rule):
    __slots__ = ("item", "min_items")

    def __init__(self, item: Rule, *, what: str | None = None, min_items: int = 0) -> None:
        super().__init__(what or _list_what(item.what), (list,))
        if min_items:
            self.what = f"a non-empty {self.what.removeprefix('a ')}"
        self.item, self.min_items = item, min_items

    def check(self, value: Any) -> None:
        if value.__class__ is not list or len(value) < self.min_items:
            raise Invalid(self.what)
        check = self.item.check
        for index, item in enumerate(value):
            try:
                check(item)
            except Invalid as error:
                error.path.append(index)
                raise


class Either(Rule):
    """One of several rules, picked by the value's JSON type; when more than one takes that type, the
    first that accepts the value wins."""

    __slots__ = ("by_type", "rules")

    def __init__(self, *rules: Rule, what: str | None = None) -> None:
        kinds = tuple(kind for rule in rules for kind in rule.kinds)
        super().__init__(what or " or ".join(rule.what for rule in rules), kinds)
        self.rules = rules
        # The rules that take each JSON type, found once: checking a value is then one lookup.
        samples: tuple[Any, ...] = ("", 0, 0.5, True, [], {}, None)
        self.by_type = {
            type(sample): tuple(rule for rule in rules if _takes(rule, sample)) for sample in samples
        }

    def check(self, value: Any) -> None:
        candidates = self.by_type.get(value.__class__, ())
        if len(candidates) == 1:
            try:
                candidates[0].check(value)
            except Invalid as error:
                if not error.path:  # wrong at this level: say every shape it may take
                    raise Invalid(self.what) from None
                raise  # wrong deeper down: that error is the more precise one
            return
        for rule in candidates:
            try:
                rule.check(value)
                return
            except Invalid:
                continue
        raise Invalid(self.what)


class Tagged(Rule):
    """An object whose ``tag`` field (``type``, ``role``) picks the rule for the rest.

    A tag the table does not know passes with only its tag checked (``other``), unless ``closed``:
    providers add block and item types faster than olga learns them.
    """

    __slots__ = ("closed", "default_tag", "other", "tag", "variants")

    def __init__(
        self,
        tag: str,
        variants: Mapping[str, Obj],
        *,
        what: str,
        closed: bool = False,
        default_tag: str | None = None,
        other: Obj | None = None,
    ) -> None:
        super().__init__(what, (dict,))
        self.tag, self.variants, self.closed = tag, dict(variants), closed
        self.default_tag, self.other = default_tag, other

    def check(self, value: Any) -> None:
        if value.__class__ is not dict:
            raise Invalid(self.what)
        kind = value.get(self.tag, self.default_tag)
        if kind.__class__ is not str:
            error = Invalid(self._tags_what())
            error.path.append(self.tag)
            raise error
        variant = self.variants.get(kind)
        if variant is None:
            if self.closed:
                error = Invalid(self._tags_what())
                error.path.append(self.tag)
                raise error
            variant = self.other
        if variant is not None:
            variant.check_fields(value)

    def _tags_what(self) -> str:
        names = ", ".join(repr(name) for name in self.variants)
        return f"one of {names}" if self.closed else f"a string such as {names}"


def _takes(rule: Rule, value: Any) -> bool:
    if isinstance(value, bool):
        return bool in rule.kinds or object in rule.kinds
    return isinstance(value, rule.kinds)


def _list_what(item: str) -> str:
    """``a string`` -> ``a list of strings``; longer descriptions are quoted whole."""
    for article in ("an ", "a "):
        noun = item.removeprefix(article)
        if noun != item and " " not in noun:
            return f"a list of {noun}s"
    return f"a list, each item {item}"
