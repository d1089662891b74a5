"""Files that hold secrets (the store, the config) are created with mode 0600 and written atomically."""

from __future__ import annotations

import os
from pathlib import Path

PRIVATE_FILE = 0o600
PRIVATE_DIR = 0o700


def ensure_home(home: Path) -> None:
    home.mkdir(parents=True, exist_ok=True, mode=PRIVATE_DIR)


def write_private(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` through a 0600 temporary file and an atomic rename."""
    ensure_home(path.parent)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, PRIVATE_FILE)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    os.chmod(path, PRIVATE_FILE)


def touch_private(path: Path) -> None:
    """Create ``path`` empty with mode 0600 if it does not exist (before SQLite opens it).

    An existing file is never opened here: closing any descriptor of a database file drops every
    POSIX lock this process holds on it, the locks of its open SQLite connections included; another
    process closing its connection would then take itself for the last one and delete the WAL under
    them (records written since would vanish, and reads fail with "disk I/O error")."""
    ensure_home(path.parent)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, PRIVATE_FILE)
    except FileExistsError:
        pass
    else:
        os.close(fd)
    os.chmod(path, PRIVATE_FILE)
