"""Tell whether inotify watches every directory asked for.

watchdog 7 no longer raises when the inotify watch limit runs out part-way
through a recursive watch: it watches what it could, and edits elsewhere go
unseen. Counting this process's watches in /proc against the directories
shows the shortfall.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

SELF = Path("/proc/self")


def directories(roots: Iterable[Path]) -> int:
    """Return how many directories a recursive watch of ``roots`` needs: one per directory."""
    count = 0
    for root in roots:
        for parent, names, _ in os.walk(root):
            count += 1
            # watchdog, like os.walk here, does not follow symbolic links.
            names[:] = [name for name in names if not os.path.islink(os.path.join(parent, name))]
    return count


def watches() -> int | None:
    """Return how many inotify watches this process holds, or None where that cannot be known."""
    try:
        descriptors = os.listdir(SELF / "fd")
    except OSError:
        return None
    total = 0
    for fd in descriptors:
        try:
            if os.readlink(SELF / "fd" / fd) != "anon_inode:inotify":
                continue
            lines = (SELF / "fdinfo" / fd).read_text().splitlines()
        except OSError:
            continue  # closed meanwhile
        total += sum(line.startswith("inotify wd:") for line in lines)
    return total
