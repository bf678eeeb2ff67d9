"""README's test command: what runs when a Python of the matrix is missing."""

from __future__ import annotations

import pytest

import runtests

# tox -l, as tox.ini lists them.
ENVS = [
    "py310-django42-full",
    "py311-django42",
    "py311-django52",
    "py312-django42",
    "py312-django52",
    "py312-django60",
    "py313-django42",
    "py313-django52",
    "py313-django60",
    "py313-django61-full",
    "mypy",
    "lint",
    "docs",
]
EVERY_PYTHON = {"3.10", "3.11", "3.12", "3.13"}


def test_with_every_python_everything_runs_as_listed() -> None:
    chosen = runtests.plan(ENVS, EVERY_PYTHON)
    assert (chosen.run, chosen.instead, chosen.skipped) == (ENVS, {}, [])
    assert chosen.docker == "py313-django61-full"
    assert chosen.summary(passed=True) == f"runtests: passed: ran {', '.join(ENVS)}"


def test_only_one_python_runs_both_full_suites_on_it() -> None:
    chosen = runtests.plan(ENVS, {"3.11"})
    # py311-django42 and py311-django52 run inside the stand-ins.
    assert chosen.run == ["py311-django42-full", "py311-django52-full", "mypy", "lint", "docs"]
    assert chosen.instead == {
        "py310-django42-full": "py311-django42-full",
        # Django 6.1 needs Python 3.12: the newest Django that runs on 3.11.
        "py313-django61-full": "py311-django52-full",
    }
    assert chosen.docker == "py311-django52-full"  # the Docker tests run in the stand-in
    summary = chosen.summary(passed=False)
    assert summary.startswith(
        "runtests: FAILED: ran py311-django42-full, py311-django52-full, mypy, lint, docs; "
        "py311-django42-full instead of py310-django42-full (no python3.10); "
        "py311-django52-full instead of py313-django61-full (no python3.13); skipped "
        "py312-django42 (no python3.12), "
    )
    assert "\n" not in summary


@pytest.mark.parametrize(
    ("found", "oldest", "newest"),
    [
        ({"3.12"}, "py312-django42-full", "py312-django61-full"),
        ({"3.11", "3.13"}, "py311-django42-full", "py313-django61-full"),
        ({"3.10", "3.12"}, "py310-django42-full", "py312-django61-full"),
    ],
)
def test_the_stand_in_is_the_nearest_python_with_the_nearest_django(
    found: set[str], oldest: str, newest: str
) -> None:
    chosen = runtests.plan(ENVS, found)
    assert [name for name in chosen.run if name.endswith("-full")] == [oldest, newest]
