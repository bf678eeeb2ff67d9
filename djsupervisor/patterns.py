"""Match a changed file's path against autoreload's glob patterns.

A pattern without a slash matches the file's name anywhere (``*.py``); a
pattern with a slash matches its path relative to the watched directory
(``*/migrations/*.py``), ``*`` crossing slashes as in :mod:`fnmatch`.

Both sides use it: the watcher, to decide which changes to report, and the
orchestrator inside supervisord, to decide which programs they reload.
Standard library only.
"""

from __future__ import annotations

from collections.abc import Iterable
from fnmatch import fnmatchcase


def matches(pattern: str, path: str, names: Iterable[str] | None = None) -> bool:
    """Tell whether ``pattern`` matches ``path`` ('a/b/c.py', relative, '/' separated).

    A pattern without a slash is matched against each of ``names`` (the
    file's name if not given).
    """
    if "/" in pattern:
        return fnmatchcase(path, pattern)
    candidates = (path.rpartition("/")[2],) if names is None else names
    return any(fnmatchcase(name, pattern) for name in candidates)


def split(value: str) -> list[str]:
    """Return the patterns of an option's value: separated by commas or white space."""
    return [pattern for pattern in value.replace(",", " ").split() if pattern]
