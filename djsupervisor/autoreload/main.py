"""Watch the project's code and tell supervisord what changed, after each burst of changes.

The watcher only says what changed: the orchestrator inside supervisord
decides which programs that reloads, and stops and starts them by their
dependencies (inside/orchestrator.py). What it watches comes from the plan
(plan.py) the command wrote; when ``update`` writes a new one, the watcher
follows it, so changed patterns count without restarting the watcher.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import NoReturn

from watchdog.observers.api import BaseObserver

from ..errors import SupervisordError
from ..proctable import stop_with_parent
from .plan import Plan
from .watcher import (
    Burst,
    ChangeHandler,
    PathFilter,
    library_dirs,
    start_observer,
    watch_file,
    watched_dirs,
)

# A burst ends after this long without a change. A checkout writes its files
# milliseconds apart, so it stays one burst; a person saving twice is slower.
QUIET_PERIOD = 0.1  # seconds
SHOWN_CHANGES = 3  # changed files named in the log for one burst

Log = Callable[[str], None]


class Watch:
    """The watches one plan asks for: the observer of its directories and the filter of changes."""

    def __init__(self, plan: Plan, burst: Burst, log: Log) -> None:
        self.log = log
        self.libraries = library_dirs()
        self.plan = plan
        self.dirs: list[Path] = []
        self.handler = ChangeHandler(PathFilter(roots=(), patterns=(), ignore=()), burst)
        self.observer: BaseObserver | None = None
        self._watch(plan)

    def follow(self, plan: Plan) -> None:
        """Watch what a new ``plan`` asks for, and say so, unless it asks for the same."""
        if plan != self.plan:
            self.plan = plan
            self._watch(plan)

    def _watch(self, plan: Plan) -> None:
        if not plan.patterns and not plan.templates:
            self._stop()
            self.dirs = []
            self.log("no program to reload: every program has autoreload=false; idle")
            return
        dirs = watched_dirs(plan.dirs, self.libraries)
        self.handler.path_filter = PathFilter(
            roots=tuple(dirs),
            patterns=plan.patterns,
            ignore=plan.ignore,
            libraries=tuple(self.libraries),
            templates=tuple(path.resolve() for path in plan.template_dirs),
            project_dir=plan.project_dir.resolve(),
        )
        if dirs != self.dirs or self.observer is None:
            self._stop()
            self.dirs = dirs
            self.observer = start_observer(dirs, self.handler, self.log)
        self.log(f"watching {', '.join(map(str, dirs))} for {plan.watched}")

    def reread(self, path: Path) -> None:
        """Follow the plan now at ``path``; keep the current one if it cannot be read."""
        try:
            plan = Plan.read(path)
        except (OSError, ValueError) as exc:
            self.log(f"could not read the new plan: {exc}; watching as before")
            return
        self.follow(plan)

    @property
    def idle(self) -> bool:
        return self.observer is None

    def _stop(self) -> None:
        if self.observer is not None:
            self.observer.stop()
            self.observer = None


def run(plan: Plan, log: Log, plan_path: Path | None = None) -> NoReturn:
    """Watch the code as ``plan`` says and report each burst of changes to supervisord.

    With ``plan_path``, where ``plan`` was read from, follow each new plan
    written there.
    """
    if os.environ.get("SUPERVISOR_ENABLED"):
        stop_with_parent()
    burst = Burst(QUIET_PERIOD)
    watch = Watch(plan, burst, log)
    if plan_path is not None:
        # A new plan is one more change: read at the end of its burst, once.
        watch_file(plan_path, lambda: burst.add(str(plan_path)))
    while True:
        burst.wait_start()
        # Taken as the burst goes quiet: the first one imports the client then,
        # and the first restart does not wait for that.
        client = watch.plan.client
        changed = burst.wait_end()
        if plan_path is not None and str(plan_path) in changed:
            changed.remove(str(plan_path))
            watch.reread(plan_path)
            client = watch.plan.client
        if not changed or watch.idle:
            continue  # only a new plan, or changes just before one that reloads nothing
        path_filter = watch.handler.path_filter
        changes = [change for path in changed if (change := path_filter.change(path))]
        try:
            reloaded = client.code_changed(changes)
        except SupervisordError as exc:
            log(f"could not reload: {exc}")
            continue
        names = ", ".join(reloaded) or "nothing"
        log(f"reloaded {names} ({describe(changed, watch.plan.project_dir)})")


def describe(changed: Sequence[str], project_dir: Path) -> str:
    """Return a short account of the changed files for the log."""
    names = [os.path.relpath(path, project_dir) for path in changed[:SHOWN_CHANGES]]
    more = len(changed) - len(names)
    return "changed: " + ", ".join(names) + (f" and {more} more" if more else "")
