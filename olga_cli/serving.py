"""Where the `olga serve` of a home listens while it runs, so that the commands pointing clients at it
(`olga env`, `olga run`, `olga logs --follow`) find it when it was started on another port than the
configured one (`olga serve --port 8123`).

``<home>/serving`` holds the server's process id and URL, written once it listens and removed when
it stops; a file left by a process that is gone (killed) is ignored.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

FILE = "serving"


def announce(home: Path, url: str) -> None:
    """This process serves ``home`` at ``url``."""
    with contextlib.suppress(OSError):  # a home that cannot be written: the configured port is shown
        (home / FILE).write_text(f"{os.getpid()} {url}\n")


def withdraw(home: Path) -> None:
    """This process no longer serves (the file stays if another server wrote it since)."""
    if _read(home)[0] == os.getpid():
        with contextlib.suppress(OSError):
            (home / FILE).unlink()


def running_url(home: Path) -> str | None:
    """The URL of the `olga serve` running for ``home``, if one is."""
    pid, url = _read(home)
    if pid is None or url is None:
        return None
    try:
        os.kill(pid, 0)  # signal 0: only asks whether the process exists
    except ProcessLookupError:
        return None
    except PermissionError:
        pass  # it exists, as another user
    return url


def _read(home: Path) -> tuple[int | None, str | None]:
    try:
        pid, url = (home / FILE).read_text().split()
        return int(pid), url
    except (OSError, ValueError):
        return None, None
