"""Watch the project's code and tell supervisord what changed, after each burst of changes.

The watcher only says what changed: the orchestrator inside supervisord
decides which programs that reloads, and stops and starts them by their
dependencies (inside/orchestrator.py).
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import NoReturn

from django.apps import apps
from django.template.autoreload import get_template_directories

from ..conf import conf
from ..config.build import Config
from ..config.reloading import watched_patterns
from ..control.forked import stop_with_parent
from ..errors import SupervisordError
from .watcher import Burst, ChangeHandler, PathFilter, library_dirs, start_observer, watched_dirs

# A burst ends after this long without a change. A checkout writes its files
# milliseconds apart, so it stays one burst; a person saving twice is slower.
QUIET_PERIOD = 0.1  # seconds
SHOWN_CHANGES = 3  # changed files named in the log for one burst

Log = Callable[[str], None]


def run(config: Config, log: Log) -> NoReturn:
    """Watch the code and report each burst of changes to supervisord."""
    if os.environ.get("SUPERVISOR_ENABLED"):
        stop_with_parent()
    patterns, templates = watched_patterns(config.graph)
    if not patterns and not templates:
        log("no program to reload: every program has autoreload=false; idle")
        threading.Event().wait()  # stay RUNNING without a crash loop, at no cost
    libraries = library_dirs()
    template_dirs = sorted(get_template_directories()) if templates else []
    candidates = [config.project_dir, *(Path(app.path) for app in apps.get_app_configs())]
    candidates += [config.project_dir / extra for extra in conf.SUPERVISOR_AUTORELOAD_DIRS]
    dirs = watched_dirs([*candidates, *template_dirs], libraries)
    path_filter = PathFilter(
        roots=tuple(dirs),
        patterns=tuple(patterns),
        ignore=tuple(conf.SUPERVISOR_AUTORELOAD_IGNORE_PATTERNS),
        libraries=tuple(libraries),
        templates=tuple(path.resolve() for path in template_dirs),
        project_dir=config.project_dir.resolve(),
    )
    burst = Burst(QUIET_PERIOD)
    start_observer(dirs, ChangeHandler(path_filter, burst), log)
    watched = ", ".join(patterns + (["templates"] if templates else []))
    log(f"watching {', '.join(map(str, dirs))} for {watched}")
    while True:
        burst.wait_start()
        changed = burst.wait_end()
        changes = [change for path in changed if (change := path_filter.change(path))]
        try:
            reloaded = config.client.code_changed(changes)
        except SupervisordError as exc:
            log(f"could not reload: {exc}")
            continue
        names = ", ".join(reloaded) or "nothing"
        log(f"reloaded {names} ({describe(changed, config.project_dir)})")


def describe(changed: Sequence[str], project_dir: Path) -> str:
    """Return a short account of the changed files for the log."""
    names = [os.path.relpath(path, project_dir) for path in changed[:SHOWN_CHANGES]]
    more = len(changed) - len(names)
    return "changed: " + ", ".join(names) + (f" and {more} more" if more else "")
