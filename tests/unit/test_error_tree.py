"""``errors.py`` holds every error olga raises or answers, and its docstring draws that tree truly."""

from __future__ import annotations

import ast
import builtins
import inspect
import re
from pathlib import Path

import olga_cli
from olga_cli import errors

PACKAGE = Path(olga_cli.__file__).parent
# Raised and caught inside one module, never leaving it: not errors anyone meets.
PRIVATE = {
    "olga_cli/validation/rules.py": {"Invalid"},  # turned into InvalidRequest naming the field
    "olga_cli/gateway/upstream/http1.py": {"_Stale"},  # a pooled connection found closed: sent again
    "olga_cli/server/http1.py": {"_Unreadable"},  # a parser limit met: answered as InvalidRequest
}


def tree_lines() -> list[tuple[int, str, str]]:
    """(depth, class name, what the line says) for each class drawn in the docstring."""
    doc = errors.__doc__ or ""
    drawn = []
    for line in doc.splitlines():
        match = re.match(r"^    ((?:[│ ]   |[├└]── )*)([A-Z]\w+)\s*(.*)$", line)
        if match:
            drawn.append((len(match.group(1)) // 4, match.group(2), match.group(3)))
    return drawn


def exception_classes() -> dict[str, type[BaseException]]:
    return {
        name: cls
        for name, cls in vars(errors).items()
        if inspect.isclass(cls) and issubclass(cls, BaseException) and cls.__module__ == errors.__name__
    }


def test_the_docstring_draws_every_error_under_its_real_parent() -> None:
    drawn = tree_lines()
    classes = exception_classes()
    assert sorted(name for _, name, _ in drawn) == sorted(classes)
    parents: list[str] = []
    for depth, name, _ in drawn:
        parents[depth:] = [name]
        if depth:
            assert classes[name].__bases__[0] is classes[parents[depth - 1]], name
        else:
            assert classes[name].__bases__[0] is Exception, name


def test_the_docstring_gives_each_http_errors_status_and_code() -> None:
    for _, name, says in tree_lines():
        cls = exception_classes()[name]
        if issubclass(cls, errors.GatewayError) and cls is not errors.GatewayError:
            assert says.replace(":", " ").split()[:2] == [str(cls.status), cls.code], name


def test_no_error_class_lives_outside_errors_py() -> None:
    builtin = {
        name
        for name, value in vars(builtins).items()
        if isinstance(value, type) and issubclass(value, BaseException)
    }
    known = builtin | set(exception_classes())
    outside = []
    for path in PACKAGE.rglob("*.py"):
        where = str(path.relative_to(PACKAGE.parent))
        if path.name == "errors.py" and path.parent == PACKAGE:
            continue
        for node in ast.walk(ast.parse(path.read_text(), where)):
            if isinstance(node, ast.ClassDef) and node.name not in PRIVATE.get(where, ()):
                bases = [ast.unparse(base) for base in node.bases]
                if any(b.rpartition(".")[2] in known or re.search(r"(Error|Exception)$", b) for b in bases):
                    outside.append(f"{where}: {node.name}({', '.join(bases)})")
    assert outside == []
