from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from djsupervisor.errors import ConfigError
from djsupervisor.runtime import RuntimeDir, project_key, write_private


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
