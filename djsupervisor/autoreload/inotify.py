"""Tell whether inotify watches every directory asked for, and say so when not.

Running out of inotify watches part-way through a recursive watch looks
different with each watchdog release: 6.x and 7.1.1 raise ``OSError(ENOSPC,
"inotify watch limit reached")``, 7.1.0 watches what it could and edits
elsewhere go unseen. Counting this process's watches in /proc against the
directories shows the silent shortfall; counting what the kernel still
grants gives the same figures whichever way watchdog failed, so the log
says the same.
"""

from __future__ import annotations

import ctypes
import errno
import os
from collections.abc import Iterable, Iterator
from pathlib import Path

SELF = Path("/proc/self")
SETTING = "fs.inotify.max_user_watches"  # the per-user limit, for sysctl(8)
# inotify_add_watch(2) flags for a probe: watch directories only, for any one event.
IN_CREATE = 0x00000100
IN_ONLYDIR = 0x01000000


def directories(roots: Iterable[Path]) -> int:
    """Return how many directories a recursive watch of ``roots`` needs: one per directory."""
    return sum(1 for _ in _walk(roots))


def _walk(roots: Iterable[Path]) -> Iterator[str]:
    for root in roots:
        for parent, names, _ in os.walk(root):
            yield parent
            # watchdog, like os.walk here, does not follow symbolic links.
            names[:] = [name for name in names if not os.path.islink(os.path.join(parent, name))]


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


def limit_reached(held: int | None, needed: int) -> str:
    """Say that the watch limit stopped a watch of ``needed`` directories, and how to raise it.

    ``held`` is how many watches were placed before the kernel refused more,
    or None where that cannot be known.
    """
    counts = f"{held} of {needed}" if held is not None else f"not all {needed}"
    return f"the inotify watch limit was reached: {counts} directories watched; raise {SETTING}"


def capacity(roots: Iterable[Path], needed: int) -> int | None:
    """Return how many of the ``needed`` directories under ``roots`` this process can watch.

    That is the watches it holds (watchdog 6 keeps those it placed before
    failing) plus those the kernel still grants, up to ``needed``; None where
    either cannot be known. Call it with the native observer stopped.
    """
    held = watches()
    if held is None or held >= needed:
        return held
    granted = _grantable(roots, needed - held)
    return None if granted is None else held + granted


def _grantable(roots: Iterable[Path], wanted: int) -> int | None:
    """Return how many directories under ``roots`` a new inotify instance gets, to ``wanted``."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        fd = libc.inotify_init1(os.O_CLOEXEC)
    except (OSError, AttributeError):  # not Linux
        return None
    if fd < 0:
        return None  # e.g. out of inotify instances
    granted = 0
    try:
        for directory in _walk(roots):
            if granted >= wanted:
                break
            if libc.inotify_add_watch(fd, os.fsencode(directory), IN_CREATE | IN_ONLYDIR) >= 0:
                granted += 1
            elif ctypes.get_errno() == errno.ENOSPC:
                break
    finally:
        os.close(fd)
    return granted
