"""Which changes count, which directories are watched, and how changes form bursts."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from watchdog.events import (
    DirDeletedEvent,
    DirMovedEvent,
    FileClosedEvent,
    FileClosedNoWriteEvent,
    FileModifiedEvent,
    FileMovedEvent,
    FileOpenedEvent,
)

from djsupervisor.autoreload.watcher import (
    Burst,
    ChangeHandler,
    PathFilter,
    library_dirs,
    watched_dirs,
)
from djsupervisor.graph import Change

ROOT = Path("/srv/project")
DEFAULT = PathFilter(roots=(ROOT,), patterns=("*.py",), ignore=(".*", "#*", "*~"))


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("app/views.py", True),
        ("manage.py", True),
        ("notes.txt", False),
        ("app/.views.py.swp", False),
        ("app/views.py~", False),
        ("app/#views.py#", False),
        (".venv/lib/python3.12/site-packages/django/__init__.py", False),
        (".git/hooks/pre-commit.py", False),
        ("app/__pycache__/views.cpython-312.pyc", False),
    ],
)
def test_default_patterns(path: str, expected: bool) -> None:
    assert DEFAULT.matches(str(ROOT / path)) is expected


def test_patterns_with_a_slash_match_the_relative_path() -> None:
    path_filter = PathFilter(
        roots=(ROOT,), patterns=("*.py", "templates/*.html"), ignore=("media/*",)
    )
    assert path_filter.matches(str(ROOT / "templates/base.html"))
    assert not path_filter.matches(str(ROOT / "other/base.html"))
    assert not path_filter.matches(str(ROOT / "media/upload.py"))


def test_paths_outside_roots_or_in_libraries_never_match() -> None:
    path_filter = PathFilter(
        roots=(ROOT,), patterns=("*.py",), ignore=(), libraries=(ROOT / "env/lib",)
    )
    assert not path_filter.matches("/elsewhere/views.py")
    assert not path_filter.matches(str(ROOT / "env/lib/django/views.py"))


def test_watched_dirs_skip_libraries_nested_and_missing_dirs(tmp_path: Path) -> None:
    for name in ("project/app", "project/env/lib", "other_app", "env/lib/pkg"):
        (tmp_path / name).mkdir(parents=True)
    found = watched_dirs(
        [
            tmp_path / "project",
            tmp_path / "project/app",  # inside the project: one recursive watch covers it
            tmp_path / "other_app",  # an app outside the project, e.g. installed with -e
            tmp_path / "env/lib/pkg",  # an installed package
            tmp_path / "missing",
        ],
        libraries=[tmp_path / "env/lib"],
    )
    assert found == [tmp_path / "other_app", tmp_path / "project"]


def test_library_dirs_include_stdlib_and_site_packages() -> None:
    libraries = library_dirs()
    assert Path(threading.__file__).resolve().parent in libraries
    assert any(lib.name == "site-packages" for lib in libraries)


def test_handler_reacts_to_changes_not_to_reads(tmp_path: Path) -> None:
    burst = Burst(quiet=0)
    handler = ChangeHandler(PathFilter((tmp_path,), ("*.py",), (".*",)), burst)
    views = str(tmp_path / "views.py")
    for event in (FileOpenedEvent(views), FileClosedNoWriteEvent(views)):
        handler.dispatch(event)
    handler.dispatch(FileModifiedEvent(str(tmp_path / "notes.txt")))
    assert burst.wait_end() == []
    handler.dispatch(FileModifiedEvent(views))
    handler.dispatch(FileClosedEvent(views))
    # An editor saving through a hidden temporary file: the rename counts.
    handler.dispatch(FileMovedEvent(str(tmp_path / ".views.py.tmp"), views))
    assert burst.wait_end() == [views]


def test_handler_looks_inside_directories_moved_in(tmp_path: Path) -> None:
    burst = Burst(quiet=0)
    handler = ChangeHandler(PathFilter((tmp_path,), ("*.py",), (".*",)), burst)
    (tmp_path / "assets").mkdir()
    (tmp_path / "assets/logo.png").write_bytes(b"")
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg/models.py").write_text("")
    handler.dispatch(DirMovedEvent(str(tmp_path / ".old"), str(tmp_path / "assets")))
    handler.dispatch(DirDeletedEvent(str(tmp_path / "gone")))
    assert burst.wait_end() == []
    handler.dispatch(DirMovedEvent(str(tmp_path / ".old"), str(tmp_path / "pkg")))
    assert burst.wait_end() == [str(tmp_path / "pkg")]


def test_burst_ends_after_a_quiet_period_and_merges_repeats() -> None:
    burst = Burst(quiet=0.05)
    burst.add("a.py")

    def more_changes() -> None:
        for name in ("b.py", "a.py", "c.py"):
            burst.add(name)

    writer = threading.Thread(target=more_changes)
    writer.start()
    burst.wait_start()
    writer.join()
    assert burst.wait_end() == ["a.py", "b.py", "c.py"]
    assert burst.wait_end() == []


def test_a_change_is_reported_relative_to_the_project_or_to_its_apps_directory() -> None:
    apps = Path("/srv/site-apps/blog")
    path_filter = PathFilter(
        roots=(ROOT, apps),
        patterns=("*.py",),
        ignore=(".*",),
        templates=(ROOT / "templates",),
        project_dir=ROOT,
    )
    assert path_filter.change(str(ROOT / "jobs" / "migrations" / "0002.py")) == Change(
        "jobs/migrations/0002.py"
    )
    # An app from outside the project keeps its own name in front.
    assert path_filter.change(str(apps / "migrations" / "0002.py")) == Change(
        "blog/migrations/0002.py"
    )
    assert path_filter.change(str(ROOT / "templates" / "base.html")) == Change(
        "templates/base.html", template=True
    )
    assert path_filter.change(str(ROOT / "notes.txt")) is None
    assert path_filter.change(str(ROOT / ".git" / "hooks" / "x.py")) is None
