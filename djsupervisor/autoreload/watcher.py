"""Watch the project's code for changes and group them into bursts."""

from __future__ import annotations

import errno
import os
import site
import sysconfig
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path, PurePath

from watchdog.events import FileSystemEvent, FileSystemEventHandler
from watchdog.observers import Observer
from watchdog.observers.api import BaseObserver
from watchdog.observers.polling import PollingObserver

from ..graph import Change
from ..patterns import matches
from . import inotify

POLL_INTERVAL = 1.0  # seconds between scans when native watches are unavailable
# Events that mean a file's content or presence changed. Reading or importing
# a file only opens and closes it (watchdog 7 reports those too): ignore them.
CHANGE_EVENTS = frozenset({"modified", "created", "moved", "deleted", "closed", "attrib"})


def library_dirs() -> list[Path]:
    """Return the directories of the standard library and installed packages."""
    paths = sysconfig.get_paths()
    found = [paths[key] for key in ("stdlib", "platstdlib", "purelib", "platlib") if key in paths]
    found += [*site.getsitepackages(), site.getusersitepackages()]
    return [Path(p).resolve() for p in dict.fromkeys(found)]


def watched_dirs(candidates: Iterable[Path], libraries: Sequence[Path]) -> list[Path]:
    """Return the existing ``candidates`` outside ``libraries``, without nested ones.

    Installed packages change only through pip; watching them would cost
    thousands of watches for nothing. A directory inside another one is
    covered by the outer, recursive watch.
    """
    roots: list[Path] = []
    for path in sorted({Path(c).resolve() for c in candidates}):
        if not path.is_dir() or any(path.is_relative_to(lib) for lib in libraries):
            continue
        if not any(path.is_relative_to(root) for root in roots):
            roots.append(path)
    return roots


@dataclass(frozen=True)
class PathFilter:
    """Decide which changed paths to report, and how: relative path, template or not.

    A path is reported relative to ``project_dir``; one outside it (an app
    installed from elsewhere) relative to the directory holding its watched
    root, so that it starts with the app's own name (``app/migrations/...``).
    A pattern without a slash is matched against the file name (``patterns``)
    or against every directory and file name on that relative path
    (``ignore``), so ``.*`` also ignores ``.git/`` and ``.venv/``; a pattern
    with a slash is matched against the whole relative path. Any file in one
    of ``templates`` (Django's template directories) is reported too, marked
    as a template.
    """

    roots: tuple[Path, ...]
    patterns: tuple[str, ...]
    ignore: tuple[str, ...]
    libraries: tuple[Path, ...] = ()
    templates: tuple[Path, ...] = ()
    project_dir: Path | None = None

    def change(self, path: str) -> Change | None:
        """Return the change to report for ``path``, or None if it does not count."""
        found = Path(path)
        relative = self._relative(found)
        if relative is None:
            return None
        text = relative.as_posix()
        if any(matches(pattern, text, relative.parts) for pattern in self.ignore):
            return None
        template = any(found.is_relative_to(directory) for directory in self.templates)
        if template or any(matches(pattern, text) for pattern in self.patterns):
            return Change(text, template)
        return None

    def matches(self, path: str) -> bool:
        return self.change(path) is not None

    def matches_tree(self, directory: str) -> bool:
        """Return whether ``directory`` (just moved into place) holds a matching file."""
        if self._relative(Path(directory)) is None:
            return False
        for parent, _, files in os.walk(directory):
            if any(self.matches(os.path.join(parent, name)) for name in files):
                return True
        return False

    def _relative(self, path: Path) -> PurePath | None:
        if any(path.is_relative_to(lib) for lib in self.libraries):
            return None  # e.g. a virtualenv inside the project directory
        for root in self.roots:
            if path.is_relative_to(root):
                if self.project_dir is not None and path.is_relative_to(self.project_dir):
                    return path.relative_to(self.project_dir)
                return path.relative_to(root.parent if self.project_dir else root)
        return None


class Burst:
    """Collect changed paths from watcher threads; hand them over in bursts.

    A burst starts with the first change and ends once no change has arrived
    for ``quiet`` seconds, so a checkout of 500 files is one burst.
    """

    def __init__(self, quiet: float) -> None:
        self.quiet = quiet
        self._changed: list[str] = []
        self._last = 0.0
        self._condition = threading.Condition()

    def add(self, path: str) -> None:
        with self._condition:
            self._changed.append(path)
            self._last = time.monotonic()
            self._condition.notify()

    def wait_start(self) -> None:
        """Block until a change arrives."""
        with self._condition:
            self._condition.wait_for(lambda: bool(self._changed))

    def wait_end(self) -> list[str]:
        """Block until the burst has been quiet; return its changed paths, distinct."""
        with self._condition:
            while (remaining := self._last + self.quiet - time.monotonic()) > 0:
                self._condition.wait(remaining)
            changed, self._changed = self._changed, []
        return list(dict.fromkeys(changed))


class ChangeHandler(FileSystemEventHandler):
    """Pass the paths of relevant changes to a burst."""

    def __init__(self, path_filter: PathFilter, burst: Burst) -> None:
        self.path_filter = path_filter
        self.burst = burst

    def on_any_event(self, event: FileSystemEvent) -> None:
        if event.event_type not in CHANGE_EVENTS:
            return
        paths = [os.fsdecode(event.src_path)]
        if event.event_type == "moved":
            paths.append(os.fsdecode(event.dest_path))
        for path in paths:
            if event.is_directory:
                # A directory moved in brings its files without an event for
                # each; one deleted has had its files' deletions reported.
                relevant = event.event_type == "moved" and self.path_filter.matches_tree(path)
            else:
                relevant = self.path_filter.matches(path)
            if relevant:
                self.burst.add(path)
                return


class FileHandler(FileSystemEventHandler):
    """Call ``on_change`` when the file at ``path`` is written or replaced."""

    def __init__(self, path: Path, on_change: Callable[[], None]) -> None:
        self.path = os.fsdecode(path)
        self.on_change = on_change

    def on_any_event(self, event: FileSystemEvent) -> None:
        if event.event_type not in {"created", "modified", "closed", "moved"}:
            return
        # A file written whole under a draft name arrives by a move (runtime.write_whole).
        target = event.dest_path if event.event_type == "moved" else event.src_path
        if os.fsdecode(target) == self.path:
            self.on_change()


def watch_file(path: Path, on_change: Callable[[], None]) -> BaseObserver:
    """Start watching the file at ``path`` (its directory, not recursively), or poll it.

    Quietly: start_observer says once, for the code, that native watches
    fall short.
    """
    handler = FileHandler(path, on_change)
    observer = Observer()
    try:
        observer.schedule(handler, str(path.parent), recursive=False)
        observer.start()
    except OSError:
        observer.stop()
        observer = PollingObserver(timeout=POLL_INTERVAL)
        observer.schedule(handler, str(path.parent), recursive=False)
        observer.start()
    return observer


def start_observer(
    dirs: Sequence[Path],
    handler: FileSystemEventHandler,
    log: Callable[[str], None],
) -> BaseObserver:
    """Start watching ``dirs`` natively, or by polling if native watches fall short.

    Native watches can run out (the inotify watch limit is per user); polling
    then keeps autoreload working at a cost, and the log says so once, in the
    same words whether watchdog raised or watched part of the tree.
    """
    observer = Observer()
    needed = inotify.directories(dirs)
    try:
        _schedule(observer, dirs, handler)
    except OSError as exc:
        observer.stop()
        if exc.errno != errno.ENOSPC:  # ENOSPC: inotify_add_watch(2) is out of watches
            return _poll(dirs, handler, log, exc.strerror or str(exc))
    else:
        held = inotify.watches() if type(observer).__name__ == "InotifyObserver" else None
        if held is None or held >= needed:
            return observer
        # Some watchdog releases (7.1.0) watch what they could and say nothing.
        observer.stop()
    return _poll(dirs, handler, log, inotify.limit_reached(inotify.capacity(dirs, needed), needed))


def _poll(
    dirs: Sequence[Path],
    handler: FileSystemEventHandler,
    log: Callable[[str], None],
    reason: str,
) -> BaseObserver:
    log(f"native file watching unavailable ({reason}); polling every {POLL_INTERVAL:g} s instead")
    observer = PollingObserver(timeout=POLL_INTERVAL)
    _schedule(observer, dirs, handler)
    return observer


def _schedule(
    observer: BaseObserver, dirs: Sequence[Path], handler: FileSystemEventHandler
) -> None:
    for path in dirs:
        observer.schedule(handler, str(path), recursive=True)
    observer.start()
