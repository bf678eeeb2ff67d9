from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from djsupervisor.errors import ConfigError
from djsupervisor.runtime import project_key, runtime_dir


def test_runtime_dir_is_private_and_per_project(tmp_path: Path) -> None:
    one = runtime_dir(Path("/srv/shop"), str(tmp_path))
    two = runtime_dir(Path("/home/me/shop"), str(tmp_path))
    assert one != two
    assert one.name.startswith("shop-") and two.name.startswith("shop-")
    for path in (one, two):
        assert stat.S_IMODE(path.stat().st_mode) == 0o700
    assert runtime_dir(Path("/srv/shop"), str(tmp_path)) == one


def test_project_key_is_stable_and_safe() -> None:
    assert project_key(Path("/a/my project!")) == project_key(Path("/a/my project!"))
    assert project_key(Path("/a/my project!")).startswith("my_project_-")


def test_directory_open_to_others_is_refused(tmp_path: Path) -> None:
    path = runtime_dir(Path("/srv/shop"), str(tmp_path))
    path.chmod(0o755)
    with pytest.raises(ConfigError, match=r"is open to other users .*chmod 700"):
        runtime_dir(Path("/srv/shop"), str(tmp_path))


def test_symlink_is_refused(tmp_path: Path) -> None:
    target = tmp_path / "elsewhere"
    target.mkdir(mode=0o700)
    os.symlink(target, tmp_path / project_key(Path("/srv/shop")))
    with pytest.raises(ConfigError, match="is not a directory owned by you"):
        runtime_dir(Path("/srv/shop"), str(tmp_path))


def test_socket_path_too_long_is_refused(tmp_path: Path) -> None:
    base = tmp_path / ("x" * 90)
    with pytest.raises(ConfigError, match="too long for a unix socket"):
        runtime_dir(Path("/srv/shop"), str(base))
