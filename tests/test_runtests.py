"""README's test command: what runs when a Python of the matrix is missing."""

from __future__ import annotations

import configparser
import sys
from pathlib import Path

import pytest

import runtests


def tox_env_list() -> list[str]:
    """Return tox.ini's env_list as ``tox -l`` prints it, braces expanded."""
    config = configparser.ConfigParser()
    config.read(runtests.ROOT / "tox.ini")
    envs: list[str] = []
    for line in config["tox"]["env_list"].split():
        head, _, rest = line.partition("{")
        choices, _, tail = rest.partition("}")  # no braces: one empty choice, the name itself
        envs.extend(f"{head}{choice}{tail}" for choice in choices.split(","))
    return envs


ENVS = tox_env_list()
EVERY_PYTHON = {"3.10", "3.11", "3.12", "3.13"}


def test_the_env_list_is_read_as_tox_reads_it() -> None:
    assert ENVS[:3] == ["py310-django42-full", "py311-django42", "py311-django52"]
    assert "py312-django60" in ENVS
    assert ENVS[-4:] == ["py313-django61-full", "mypy", "lint", "docs"]


def test_every_pair_tox_runs_is_one_its_django_supports() -> None:
    unsupported = [
        name
        for name in ENVS
        if (python := runtests.python_of(name))
        and not runtests.supports(name.split("-")[1].removeprefix("django"), python)
    ]
    assert unsupported == []


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


@pytest.mark.parametrize(
    ("toxenv", "arguments"),
    [
        ("", ["-e", "py310-django42-full,lint"]),
        ("", ["-epy310-django42-full,lint"]),
        ("", ["--env", "py310-django42-full,lint"]),
        ("", ["--env=py310-django42-full,lint"]),
        ("", ["-e", "py310-django42-full", "--env=lint"]),
        ("py310-django42-full,lint", []),
        ("docs", ["-epy310-django42-full,lint"]),  # -e wins, as with tox
    ],
)
def test_each_way_of_choosing_environments_is_planned_like_the_env_list(
    toxenv: str, arguments: list[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # tox -l lists the -e environments, else TOXENV's.
    listing = 'if [ -n "$2" ]; then echo "$2"; else echo "$TOXENV"; fi | tr , "\\n"'
    calls = fake_tox(tmp_path, monkeypatch, listing)
    monkeypatch.setenv("TOXENV", toxenv)
    monkeypatch.setattr(runtests, "expose_pythons", lambda env: {"3.11"})
    monkeypatch.setattr(sys, "argv", ["runtests.py", "-r", *arguments, "--", "-e", "-x"])
    assert runtests.main() == 0
    listed, run = calls.read_text().splitlines()
    selection = "" if toxenv and not arguments else " -e py310-django42-full,lint"
    assert listed == f"-l{selection} docker="
    # The stand-in runs, and the Docker tests in it; what follows -- is the tests'.
    assert run == "-e py311-django42-full,lint -r -- -e -x docker=py311-django42-full"


def test_environments_all_skipped_run_nothing_and_fail(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    calls = fake_tox(tmp_path, monkeypatch, "echo py310-django42")
    monkeypatch.setattr(runtests, "expose_pythons", lambda env: {"3.11"})
    monkeypatch.setattr(sys, "argv", ["runtests.py", "-epy310-django42"])
    assert runtests.main() == 1
    assert len(calls.read_text().splitlines()) == 1  # tox -l only
    assert capsys.readouterr().out == (
        "runtests: FAILED: ran nothing; skipped py310-django42 (no python3.10)\n"
    )


def test_a_failing_tox_l_is_one_line_saying_what_to_do(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # tox's own errors: on stdout, the names on the line after.
    fake_tox(
        tmp_path,
        monkeypatch,
        "echo 'ROOT: HandledError| provided environments not found in configuration file:'\n"
        "echo nope\nexit 254",
    )
    monkeypatch.setattr(sys, "argv", ["runtests.py", "-enope"])
    with pytest.raises(SystemExit) as raised:
        runtests.main()
    assert raised.value.code == (
        "runtests: tox -l failed (exit 254): ROOT: HandledError| provided environments not "
        "found in configuration file: nope; check the -e names and tox.ini, or remove "
        ".venv-tox to install tox again"
    )


def test_a_crashing_tox_l_is_one_line_with_its_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake_tox(
        tmp_path,
        monkeypatch,
        "echo 'Traceback (most recent call last):' >&2\n"
        "echo 'ModuleNotFoundError: No module named tox' >&2\nexit 1",
    )
    monkeypatch.setattr(sys, "argv", ["runtests.py"])
    with pytest.raises(SystemExit) as raised:
        runtests.main()
    assert raised.value.code == (
        "runtests: tox -l failed (exit 1): ModuleNotFoundError: No module named tox; "
        "check the -e names and tox.ini, or remove .venv-tox to install tox again"
    )


def test_a_tox_that_cannot_start_is_one_line_saying_what_to_do(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    tox = fake_tox(tmp_path, monkeypatch, "").parent / ".venv-tox" / "bin" / "tox"
    # As when an upgrade removed the Python that .venv-tox was made from.
    tox.write_text(f"#!{tmp_path / 'gone' / 'python'}\n")
    monkeypatch.setattr(sys, "argv", ["runtests.py"])
    with pytest.raises(SystemExit) as raised:
        runtests.main()
    assert raised.value.code == (
        f"runtests: cannot run {tox}: No such file or directory; "
        "remove .venv-tox to install tox again"
    )


def fake_tox(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, listing: str) -> Path:
    """Put a tox into a .venv-tox under ``tmp_path``; return the file of its calls.

    It writes each call's arguments after ``-c tox.ini`` and the Docker
    tests' environment to the file, and answers ``-l`` by running ``listing``.
    """
    calls = tmp_path / "calls"
    tox = tmp_path / ".venv-tox" / "bin" / "tox"
    tox.parent.mkdir(parents=True)
    tox.write_text(
        "#!/bin/sh\n"
        "shift 2\n"
        f'echo "$*" docker="${{{runtests.DOCKER_ENVIRONMENT}-}}" >> {calls}\n'
        f'if [ "$1" = -l ]; then shift; {listing}\nfi\n'
    )
    tox.chmod(0o755)
    monkeypatch.setattr(runtests, "TOX_VENV", tmp_path / ".venv-tox")
    monkeypatch.setenv("TOX_SKIP_MISSING_INTERPRETERS", "true")
    monkeypatch.delenv(runtests.DOCKER_ENVIRONMENT, raising=False)
    return calls
