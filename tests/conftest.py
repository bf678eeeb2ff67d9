from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import django
import pytest

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.settings")
django.setup()


@pytest.fixture
def short_dir() -> Iterator[Path]:
    """Return a new directory with a short path: a unix socket's path must fit in 108 bytes."""
    path = Path(tempfile.mkdtemp(prefix="djs-"))
    yield path
    shutil.rmtree(path)


@pytest.fixture
def runtime_base(short_dir: Path) -> Iterator[str]:
    """Put the projects' runtime directories in a new short directory (SUPERVISOR_RUNTIME_DIR)."""
    from django.test import override_settings

    with override_settings(SUPERVISOR_RUNTIME_DIR=str(short_dir)):
        yield str(short_dir)
