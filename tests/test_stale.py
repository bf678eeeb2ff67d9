"""Recovering from a killed supervisord: only a pidfile it left behind sets off the clean-up."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from djsupervisor.control.stale import clear_stale_state
from djsupervisor.proctable import ProcessId, is_alive, stop_process_groups

from .support import wait_for

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")

Orphan = tuple[int, str]  # its pid, and the URL of its supervisord


@pytest.fixture
def orphan(tmp_path: Path) -> Iterator[Orphan]:
    """Start a process as if a supervisord at tmp_path ran it; return its pid and that config."""
    url = f"unix://{tmp_path / 'supervisor.sock'}"
    process = subprocess.Popen(
        ["sleep", "1000"], env={**os.environ, "SUPERVISOR_SERVER_URL": url}, start_new_session=True
    )
    try:
        # Popen may return while the kernel is still setting up the new
        # program's environment, which /proc shows empty until then.
        environ = Path(f"/proc/{process.pid}/environ")
        wait_for(lambda: f"SUPERVISOR_SERVER_URL={url}".encode() in environ.read_bytes(), url)
        yield process.pid, url
    finally:
        stop_process_groups([ProcessId.of(process.pid)])
        process.wait()


def test_without_a_pidfile_nothing_is_stopped(orphan: Orphan, tmp_path: Path) -> None:
    pid, url = orphan
    assert clear_stale_state(tmp_path / "supervisord.pid", url) == []
    assert is_alive(pid)


def test_a_dead_supervisords_pidfile_stops_its_programs(orphan: Orphan, tmp_path: Path) -> None:
    pid, url = orphan
    pidfile = tmp_path / "supervisord.pid"
    pidfile.write_text("999999999\n")  # beyond pid_max: no such process
    assert [p.pid for p in clear_stale_state(pidfile, url)] == [pid]
    assert not is_alive(pid)
    assert not pidfile.exists()


def test_a_live_supervisords_pidfile_is_left_alone(orphan: Orphan, tmp_path: Path) -> None:
    pid, url = orphan
    pidfile = tmp_path / "supervisord.pid"
    pidfile.write_text(f"{os.getpid()}\n")  # a supervisord still starting up
    assert clear_stale_state(pidfile, url) == []
    assert is_alive(pid)
    assert pidfile.exists()
