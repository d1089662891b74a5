"""The prices of each catalog version olga has charged with, kept in ``<home>/catalogs/VERSION.json``.

Every record names the catalog version it was priced with; ``olga models update`` keeps the version it
replaces and the one it writes, so ``olga generation`` can explain an old cost with the prices of its
day even after they changed.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

from olga_cli.catalog import Catalog, catalog_from_text
from olga_cli.errors import CatalogError
from olga_cli.files import write_private

_SAFE = re.compile(r"[^A-Za-z0-9._+-]")


def _path(home: Path, version: str) -> Path:
    return home / "catalogs" / f"{_SAFE.sub('_', version) or 'unversioned'}.json"


def save_version(home: Path, catalog: Catalog) -> None:
    """Keep ``catalog``'s prices under its version, once (a version's prices never change)."""
    path = _path(home, catalog.version)
    if not path.exists():
        write_private(path, (json.dumps(catalog.to_document(), indent=1) + "\n").encode())


def load_version(home: Path, version: str) -> Catalog | None:
    """The catalog of ``version`` as it was kept, or None when olga never kept it."""
    path = _path(home, version)
    if not path.is_file():
        return None
    try:
        return catalog_from_text(path.read_text("utf-8"), str(path))
    except CatalogError:
        return None
