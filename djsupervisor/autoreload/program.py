"""Watch the project's code and reload the programs after each burst of changes."""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import NoReturn

from django.apps import apps

from ..conf import conf
from ..config.build import Config
from ..errors import SupervisordError
from ..supervisord.client import namespec
from ..supervisord.forked import stop_with_parent
from .reloader import Reloader, reload_targets
from .watcher import Burst, ChangeHandler, PathFilter, library_dirs, start_observer, watched_dirs

# A burst ends after this long without a change. A checkout writes its files
# milliseconds apart, so it stays one burst; a person saving twice is slower.
QUIET_PERIOD = 0.1  # seconds
SHOWN_CHANGES = 3  # changed files named in the log for one burst

Log = Callable[[str], None]


def run(config: Config, only: Sequence[str], log: Log) -> NoReturn:
    """Watch the code and reload the target programs after each burst of changes."""
    if os.environ.get("SUPERVISOR_ENABLED"):
        stop_with_parent()
    targets = reload_targets(config, only, skip=own_namespec())
    if not targets:
        log("no program to reload: every program has autoreload=false; idle")
        threading.Event().wait()  # stay RUNNING without a crash loop, at no cost
    libraries = library_dirs()
    candidates = [config.project_dir, *(Path(app.path) for app in apps.get_app_configs())]
    candidates += [config.project_dir / extra for extra in conf.SUPERVISOR_AUTORELOAD_DIRS]
    dirs = watched_dirs(candidates, libraries)
    path_filter = PathFilter(
        roots=tuple(dirs),
        patterns=tuple(conf.SUPERVISOR_AUTORELOAD_PATTERNS),
        ignore=tuple(conf.SUPERVISOR_AUTORELOAD_IGNORE_PATTERNS),
        libraries=tuple(libraries),
    )
    burst = Burst(QUIET_PERIOD)
    start_observer(dirs, ChangeHandler(path_filter, burst), log)
    reloader = Reloader(config.client, targets, log)
    log(
        f"watching {', '.join(map(str, dirs))} for {', '.join(path_filter.patterns)}; "
        f"reloading {', '.join(t.namespec for t in targets)}"
    )
    while True:
        burst.wait_start()
        try:
            reloader.begin()
            changed = burst.wait_end()
            reloaded = reloader.finish()
        except SupervisordError as exc:
            log(f"could not reload: {exc}")
            burst.wait_end()  # this burst's changes are lost with the reload
            continue
        names = ", ".join(reloaded) or "nothing"
        log(f"reloaded {names} ({describe(changed, config.project_dir)})")


def describe(changed: Sequence[str], project_dir: Path) -> str:
    """Return a short account of the changed files for the log."""
    names = [os.path.relpath(path, project_dir) for path in changed[:SHOWN_CHANGES]]
    more = len(changed) - len(names)
    return "changed: " + ", ".join(names) + (f" and {more} more" if more else "")


def own_namespec() -> str | None:
    """Return this process's name in supervisord, if supervisord started it."""
    group, name = os.environ.get("SUPERVISOR_GROUP_NAME"), os.environ.get("SUPERVISOR_PROCESS_NAME")
    return namespec(group, name) if group and name else None
