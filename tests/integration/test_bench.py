"""Smoke runs of the bench scripts with tiny sizes, so that they never rot.

Only that they run and print their table is checked: timings are never
asserted in the test suite.
"""

from __future__ import annotations

import subprocess
import sys

import pytest

from .conftest import REPO

pytestmark = pytest.mark.integration

BENCH_TIMEOUT = 300  # seconds
SMOKE_SIZES = ["--edits", "2", "--idle", "1", "--burst", "20", "--tree", "3", "--settle", "0.5"]


def test_autoreload_bench_prints_its_table() -> None:
    done = subprocess.run(
        [sys.executable, "bench/autoreload.py", *SMOKE_SIZES],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=BENCH_TIMEOUT,
    )
    assert done.returncode == 0, done.stderr
    for row in ("edit -> new HTTP answer", "idle watcher CPU", "restarts after rewriting 20"):
        assert row in done.stdout
