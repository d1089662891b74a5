"""The URL table's lookup: static paths by dictionary, the few with variables by pattern.

Patterns are written as aiohttp wrote them, ``/v1/{provider:[A-Za-z0-9_.-]+}/messages``; a variable
without a pattern matches one path segment. A GET route answers HEAD too.
"""

from __future__ import annotations

import re

from olga_cli.errors import MethodNotAllowed, NotFound
from olga_cli.server.request import Handler

_VARIABLE = re.compile(r"\{(?P<name>[A-Za-z_][A-Za-z0-9_]*)(?::(?P<pattern>(?:[^{}]|\{[^{}]*\})+))?\}")

Methods = dict[str, Handler]


class Router:
    def __init__(self) -> None:
        self._static: dict[str, Methods] = {}
        self._patterns: list[tuple[re.Pattern[str], Methods]] = []
        self._by_source: dict[str, Methods] = {}

    def add(self, method: str, path: str, handler: Handler) -> None:
        methods = self._by_source.get(path)
        if methods is None:
            methods = self._by_source[path] = {}
            if _VARIABLE.search(path) is None:
                self._static[path] = methods
            else:
                self._patterns.append((_compile(path), methods))
        methods[method] = handler
        if method == "GET":
            methods.setdefault("HEAD", handler)

    def resolve(self, method: str, path: str) -> tuple[Handler, dict[str, str]]:
        """The handler and the path's variables; ``NotFound`` or ``MethodNotAllowed`` otherwise.

        As aiohttp did, the first route that matches both path and method wins, in the order added."""
        allowed: set[str] = set()
        methods = self._static.get(path)
        if methods is not None:
            if method in methods:
                return methods[method], {}
            allowed.update(methods)
        for pattern, candidate in self._patterns:
            found = pattern.fullmatch(path)
            if found is not None:
                if method in candidate:
                    return candidate[method], found.groupdict()
                allowed.update(candidate)
        if allowed:
            raise MethodNotAllowed(f"{method} is not allowed on {path}; use {', '.join(sorted(allowed))}.")
        raise NotFound(
            f"No route {method} {path}. olga serves /v1/chat/completions, "
            "/v1/messages, /v1/responses, /v1/embeddings and /v1/models."
        )


def _compile(path: str) -> re.Pattern[str]:
    parts: list[str] = []
    end = 0
    for variable in _VARIABLE.finditer(path):
        parts.append(re.escape(path[end : variable.start()]))
        parts.append(f"(?P<{variable['name']}>{variable['pattern'] or '[^/]+'})")
        end = variable.end()
    parts.append(re.escape(path[end:]))
    return re.compile("".join(parts))
