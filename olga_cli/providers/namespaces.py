"""Codex's ``namespace`` tools (a group of function tools under one name) for targets without them.

Each function of a namespace becomes a plain function tool named ``namespace__name``; a call to that
name comes back to the caller as a call of ``name`` in ``namespace``. The mapping is rebuilt from the
caller's own request, so nothing is kept between requests.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from olga_cli.providers.translate_common import JSON

SEPARATOR = "__"


def flat_name(namespace: str, name: str) -> str:
    return f"{namespace}{SEPARATOR}{name}"


def flatten(tool: JSON) -> list[JSON]:
    """The function tools of a namespace tool, renamed; other entries are left out."""
    namespace = str(tool.get("name", ""))
    out: list[JSON] = []
    for inner in tool.get("tools") or []:
        if isinstance(inner, dict) and inner.get("type", "function") == "function":
            out.append(
                {**inner, "type": "function", "name": flat_name(namespace, str(inner.get("name", "")))}
            )
    return out


def name_map(request: Mapping[str, Any]) -> dict[str, tuple[str, str]]:
    """Flattened name -> (namespace, name), for the namespace tools of a Responses request."""
    mapping: dict[str, tuple[str, str]] = {}
    for tool in request.get("tools") or []:
        if isinstance(tool, dict) and tool.get("type") == "namespace":
            namespace = str(tool.get("name", ""))
            for inner in tool.get("tools") or []:
                if isinstance(inner, dict):
                    name = str(inner.get("name", ""))
                    mapping[flat_name(namespace, name)] = (namespace, name)
    return mapping


def call_fields(name: str, mapping: Mapping[str, tuple[str, str]]) -> JSON:
    """The ``name`` (and ``namespace``) of a function_call item for the caller."""
    found = mapping.get(name)
    if found is None:
        return {"name": name}
    return {"name": found[1], "namespace": found[0]}
