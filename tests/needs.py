"""Skip a test that needs a tool the machine lacks, except in CI, which installs them all."""

from __future__ import annotations

import os

import pytest

# .ci/run installs every tool the tests use and sets this: there a missing
# tool fails the test instead of skipping it.
TOOLS_REQUIRED = os.environ.get("DJSUPERVISOR_REQUIRE_TOOLS") == "1"


def require(found: object, what: str) -> None:
    """Skip the calling test (or module) when ``found`` is false, naming ``what`` it needs.

    Under ``DJSUPERVISOR_REQUIRE_TOOLS=1`` (CI) fail instead: nothing is skipped there.
    """
    if found:
        return
    if TOOLS_REQUIRED:
        pytest.fail(f"needs {what}, which .ci/run installs", pytrace=False)
    pytest.skip(f"needs {what}", allow_module_level=True)
