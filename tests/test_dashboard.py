"""The admin page's data and actions, without a running supervisord."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.test import override_settings

from djsupervisor.dashboard import START_COMMAND, ActionError, act, snapshot


def test_without_supervisord_the_page_says_how_to_start_it(short_dir: Path) -> None:
    with override_settings(SUPERVISOR_RUNTIME_DIR=str(short_dir)):
        data = snapshot(None)
    assert data["running"] is False
    assert data["problem"].startswith("supervisord is not running for this project")
    assert data["start"] == START_COMMAND
    assert list(short_dir.iterdir()) == []  # looking creates nothing


def test_an_unknown_action_is_refused_before_anything_is_asked() -> None:
    with pytest.raises(ActionError, match="unknown action 'explode'; use start, stop, restart"):
        act("explode", "web")
