"""Turning typed-in values into the plain types olga's parameters take (str, int, float, bool, Path,
lists of str), without Pydantic.

Typer 0.29 builds a Pydantic ``TypeAdapter`` for every parameter it converts, which imports Pydantic
(and, through its plugin loader, ``importlib.metadata``): about 150 ms of every command's start, more
than `olga keys list` may take in all. Every olga parameter is one of a few plain types, converted
here as Click would; anything else keeps Typer's own conversion.
"""

from __future__ import annotations

import types
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Union, get_args, get_origin

# Typer keeps its conversion machinery private; these two are what its parameters call, pinned by
# tests/cli/test_startup.py (which fails if a Typer upgrade changes them).
from typer._click.exceptions import BadParameter
from typer._coercion import RuntimeParam

_PLAIN = (str, int, float, bool, Path)
_TRUE = {"1", "true", "t", "yes", "y", "on"}
_FALSE = {"0", "false", "f", "no", "n", "off"}


def plain_type(annotation: Any) -> tuple[type, bool] | None:
    """``(str, False)`` for ``str | None``, ``(str, True)`` for ``list[str]``; None for anything else."""
    if get_origin(annotation) in (Union, types.UnionType):
        inner = [a for a in get_args(annotation) if a is not type(None)]
        return plain_type(inner[0]) if len(inner) == 1 else None
    if get_origin(annotation) is list:
        (item,) = get_args(annotation) or (None,)
        return (item, True) if item in _PLAIN and item is not bool else None
    return (annotation, False) if annotation in _PLAIN else None


def convert(value: Any, target: type) -> Any:
    """One value to ``target``, or ValueError with the words Click would use."""
    if isinstance(value, target) and not (target is int and isinstance(value, bool)):
        return value
    text = str(value).strip()
    if target is bool:
        if text.lower() in _TRUE or text.lower() in _FALSE:
            return text.lower() in _TRUE
        raise ValueError(f"{value!r} is not a valid boolean")
    if target is int:
        try:
            return int(text)
        except ValueError:
            raise ValueError(f"{value!r} is not a valid integer") from None
    if target is float:
        try:
            return float(text)
        except ValueError:
            raise ValueError(f"{value!r} is not a valid number") from None
    return target(value)  # str, Path


@dataclass(frozen=True)
class PlainRuntimeParam(RuntimeParam):
    """Typer's conversion step for one parameter of a plain type."""

    target: type = str
    many: bool = False

    def _coerce_value(self, value: Any, param: Any, ctx: Any) -> Any:
        try:
            if self.many:
                return [convert(item, self.target) for item in value]
            return convert(value, self.target)
        except ValueError as exc:
            raise BadParameter(str(exc), ctx=ctx, param=param) from None


def plain_conversion(param: Any) -> None:
    """Give ``param`` the Pydantic-free conversion when its type is a plain one (once)."""
    descriptor = getattr(param, "type_descriptor", None)
    if descriptor is None or getattr(param, "_runtime_param", "absent") is not None:
        return
    if descriptor.file_annotation is not None or descriptor.is_choice:
        return
    found = plain_type(descriptor.annotation)
    if found is None:
        return
    target, many = found
    param._runtime_param = PlainRuntimeParam(
        parameter_info=descriptor.parameter_info,
        annotation=descriptor.annotation,
        target=target,
        many=many,
    )
