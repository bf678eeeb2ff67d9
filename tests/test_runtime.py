from __future__ import annotations

import errno
import os
import stat
from pathlib import Path

import pytest
from django.test import override_settings

from djsupervisor.config import kept
from djsupervisor.config.build import build
from djsupervisor.errors import ConfigError, WriteError
from djsupervisor.options import Options
from djsupervisor.runtime import RuntimeDir, cannot_write, project_key, write_private


def runtime_dir(project_dir: Path, base: str) -> Path:
    """Return the project's runtime directory, created."""
    runtime = RuntimeDir.for_project(project_dir, base)
    runtime.create()
    return runtime.path


def test_runtime_dir_is_private_and_per_project(short_dir: Path) -> None:
    one = runtime_dir(Path("/srv/shop"), str(short_dir))
    two = runtime_dir(Path("/home/me/shop"), str(short_dir))
    assert one != two
    assert one.name.startswith("shop-") and two.name.startswith("shop-")
    for path in (one, two):
        assert stat.S_IMODE(path.stat().st_mode) == 0o700
    assert runtime_dir(Path("/srv/shop"), str(short_dir)) == one


def test_naming_the_runtime_dir_creates_nothing(short_dir: Path) -> None:
    runtime = RuntimeDir.for_project(Path("/srv/shop"), str(short_dir / "base"))
    assert runtime.config.parent == runtime.path and runtime.logs.parent == runtime.path
    assert not (short_dir / "base").exists()


def test_a_relative_base_is_relative_to_the_project() -> None:
    runtime = RuntimeDir.for_project(Path("/srv/shop"), "run")
    assert runtime.path.parent == Path("/srv/shop/run")


def test_project_key_is_stable_and_safe() -> None:
    assert project_key(Path("/a/my project!")) == project_key(Path("/a/my project!"))
    assert project_key(Path("/a/my project!")).startswith("my_project_-")


def test_directory_open_to_others_is_refused(short_dir: Path) -> None:
    path = runtime_dir(Path("/srv/shop"), str(short_dir))
    path.chmod(0o755)
    with pytest.raises(ConfigError, match=r"is open to other users .*chmod 700"):
        RuntimeDir.for_project(Path("/srv/shop"), str(short_dir))


def test_symlink_is_refused(short_dir: Path) -> None:
    target = short_dir / "elsewhere"
    target.mkdir(mode=0o700)
    os.symlink(target, short_dir / project_key(Path("/srv/shop")))
    with pytest.raises(ConfigError, match="is not a directory owned by you"):
        RuntimeDir.for_project(Path("/srv/shop"), str(short_dir))


def test_socket_path_too_long_is_refused(short_dir: Path) -> None:
    base = short_dir / ("x" * 90)
    with pytest.raises(ConfigError, match="too long for a unix socket"):
        RuntimeDir.for_project(Path("/srv/shop"), str(base))


def test_a_private_file_is_replaced_whole(tmp_path: Path) -> None:
    path = tmp_path / "supervisord.conf"
    write_private(path, "[old]\n")
    with path.open() as reader:  # another command reading it meanwhile
        write_private(path, "[new]\n")
        assert reader.read() == "[old]\n"  # not truncated under it
    assert path.read_text() == "[new]\n"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert [p.name for p in tmp_path.iterdir()] == ["supervisord.conf"]


def test_kept_options_round_trip(short_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    runtime = RuntimeDir.for_project(Path("/srv/shop"), str(short_dir))
    assert kept.load(runtime) is None  # nothing kept: a supervisord of an older version
    runtime.create()
    monkeypatch.chdir(short_dir)
    monkeypatch.delenv("PWD", raising=False)
    started = Options(
        project_dir="/srv/shop",
        config_file="dev.conf",
        pidfile="run/app.pid",  # relative to where the start ran
        daemonize=True,
        exclude=("worker", "beat"),
        nolaunch=("web",),
        noreload=True,
    )
    kept.store(runtime, started)
    assert stat.S_IMODE(runtime.options.stat().st_mode) == 0o600
    assert kept.load(runtime) == Options(
        project_dir="/srv/shop",
        config_file="dev.conf",  # relative to the project, like the start's
        pidfile=str(short_dir / "run" / "app.pid"),
        exclude=("worker", "beat"),
        nolaunch=("web",),
        noreload=True,
    )


def test_an_option_given_takes_the_kept_ones_place() -> None:
    started = Options(pidfile="/run/app.pid", exclude=("worker",), noreload=True)
    assert kept.merge(started, Options()) == started
    given = Options(logfile="/log/app.log", exclude=("beat",), launch=("worker",))
    assert kept.merge(started, given) == Options(
        pidfile="/run/app.pid",
        logfile="/log/app.log",
        exclude=("beat",),  # the whole list: worker is no longer excluded
        launch=("worker",),
        noreload=True,
    )


@pytest.mark.parametrize(
    "text",
    ["not json", "[]", '{"exclude": "worker"}', '{"noreload": "yes"}', '{"pidfile": 1}'],
)
def test_a_broken_options_file_says_which_and_what_to_do(short_dir: Path, text: str) -> None:
    runtime = RuntimeDir.for_project(Path("/srv/shop"), str(short_dir))
    runtime.create()
    write_private(runtime.options, text)
    with pytest.raises(ConfigError, match=f"{runtime.options} does not hold .*delete it"):
        kept.load(runtime)


def test_names_a_later_version_added_are_ignored(short_dir: Path) -> None:
    runtime = RuntimeDir.for_project(Path("/srv/shop"), str(short_dir))
    runtime.create()
    write_private(runtime.options, '{"exclude": ["worker"], "colour": true, "daemonize": true}')
    assert kept.load(runtime) == Options(exclude=("worker",))


def test_a_rebuild_builds_with_the_kept_options(short_dir: Path) -> None:
    runtime = RuntimeDir.for_project(Path("/srv/shop"), str(short_dir))
    built: list[Options] = []
    given = Options(nolaunch=("web",))
    kept.rebuild(given, runtime, built.append)
    assert built == [given]  # nothing kept: the command line alone, as before
    runtime.create()
    kept.store(runtime, Options(pidfile="/run/app.pid", exclude=("worker",), daemonize=True))
    kept.rebuild(given, runtime, built.append)
    assert built[-1] == Options(pidfile="/run/app.pid", exclude=("worker",), nolaunch=("web",))


def test_a_kept_option_naming_a_removed_program_says_where_it_came_from(
    short_dir: Path,
) -> None:
    runtime = RuntimeDir.for_project(Path("/srv/shop"), str(short_dir))
    runtime.create()
    kept.store(runtime, Options(exclude=("worker",)))

    def build(options: Options) -> None:
        raise ConfigError("--exclude worker: no such program (programs: web)")

    with pytest.raises(ConfigError, match="--exclude worker is kept from supervisord's start"):
        kept.rebuild(Options(), runtime, build)
    with pytest.raises(ConfigError, match=r"\(programs: web\)$"):  # typed now: no note
        kept.rebuild(Options(exclude=("worker",)), runtime, build)


def test_writing_a_config_keeps_its_options(tmp_path: Path, short_dir: Path) -> None:
    (tmp_path / "supervisord.conf").write_text("[program:web]\ncommand=sleep 1000\n")
    options = Options(project_dir=str(tmp_path), exclude=("web",), daemonize=True)
    with override_settings(SUPERVISOR_RUNTIME_DIR=str(short_dir), DEBUG=False):
        config = build(options)
        assert not config.runtime.path.exists()  # building writes nothing
        config.write()
        assert kept.load(config.runtime) == Options(project_dir=str(tmp_path), exclude=("web",))


def test_a_file_that_cannot_be_written_is_one_error_naming_it(tmp_path: Path) -> None:
    target = tmp_path / "missing" / "supervisord.conf"
    with pytest.raises(WriteError, match=f"^cannot write {target}: No such file or directory$"):
        write_private(target, "text")
    full = cannot_write(target, OSError(errno.ENOSPC, os.strerror(errno.ENOSPC)))
    assert str(full) == (
        f"cannot write {target}: No space left on device; the disk is full, free some space"
    )


def test_a_stored_secret_is_read_without_writing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    runtime = RuntimeDir(tmp_path)
    assert runtime.keep_secret("first") == "first"

    def full_disk(path: Path, text: str) -> None:
        raise cannot_write(path, OSError(errno.ENOSPC, os.strerror(errno.ENOSPC)))

    monkeypatch.setattr("djsupervisor.runtime.write_private", full_disk)
    assert runtime.keep_secret("second") == "first"  # 'reload' on a full disk gets this far
