"""Run the whole test suite: tox, from a virtualenv of its own, over every Python found.

    python3 runtests.py [tox arguments]

It creates ``.venv-tox`` with tox in it (nothing is installed into the
Python that runs this script), looks for each Python of the matrix on PATH
(``python3.X``) and among pyenv's installed versions, says which are missing,
and runs tox. The environments of a missing Python are skipped, except where
``TOX_SKIP_MISSING_INTERPRETERS=false`` (CI sets it: there a missing Python is
a failure); a full environment (every test; the newest one also the coverage
gate) whose Python is missing runs on the nearest Python there is instead. The last line says what
ran, what stood in for what, and what was skipped.

``-e NAME[,NAME]`` (or ``-eNAME``, ``--env NAME``, ``--env=NAME``: tox itself
has no ``--env``), else ``TOXENV``, chooses the environments as in tox; a
missing Python's are then skipped or stood in for in the same way.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import venv
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent
TOX_VENV = ROOT / ".venv-tox"
PYTHONS = ("3.10", "3.11", "3.12", "3.13")  # the matrix of tox.ini, as in pyproject.toml
TOX = "tox>=4.2"
FULL = "full"  # the factor of the environments that run every test
DOCKER_ENVIRONMENT = "DJSUPERVISOR_DOCKER_ENV"  # tests/docker.py: where the Docker tests run
# The Pythons each Django release supports, as (oldest, newest) minor versions.
DJANGO_PYTHONS = {
    "42": ("3.8", "3.12"),
    "52": ("3.10", "3.13"),
    "60": ("3.12", "3.14"),
    "61": ("3.12", "3.14"),
}


def pyenv_pythons() -> dict[str, Path]:
    """Return pyenv's installed interpreters by minor version ('3.12': .../bin/python3.12)."""
    pyenv = shutil.which("pyenv")
    if pyenv is None:
        return {}
    done = subprocess.run([pyenv, "root"], capture_output=True, text=True, check=False)
    versions = Path(done.stdout.strip()) / "versions"
    found: dict[str, Path] = {}
    for version in sorted(versions.iterdir()) if versions.is_dir() else []:
        minor = ".".join(version.name.split(".")[:2])
        executable = version / "bin" / f"python{minor}"
        if minor in PYTHONS and executable.is_file():
            found[minor] = executable  # the newest patch release wins: sorted last
    return found


def runs(python: str | Path) -> bool:
    """Tell whether ``python`` starts."""
    done = subprocess.run([python, "-c", ""], capture_output=True, check=False)
    return done.returncode == 0


def expose_pythons(env: dict[str, str]) -> set[str]:
    """Add the directories of pyenv's Pythons to tox's PATH; return the minor versions found."""
    from_pyenv = pyenv_pythons()
    found, extra = set(), []
    for minor in PYTHONS:
        name = f"python{minor}"
        # pyenv's shims are on PATH for every version, but run only the global one.
        on_path = shutil.which(name, path=env["PATH"])
        if on_path and runs(on_path):
            found.add(minor)
        elif minor in from_pyenv and runs(from_pyenv[minor]):
            # The directory itself, not a link to the interpreter: virtualenv's
            # discovery looks for the interpreter's home beside it.
            extra.append(str(from_pyenv[minor].parent))
            found.add(minor)
    # Appended: whatever the user's PATH names first still comes first.
    env["PATH"] = os.pathsep.join([env["PATH"], *extra])
    return found


def version(minor: str) -> tuple[int, ...]:
    return tuple(int(part) for part in minor.split("."))


def python_of(env_name: str) -> str | None:
    """Return the Python an environment runs on ('py310-django42' -> '3.10'), None for others."""
    factor = env_name.split("-")[0]
    if not (factor.startswith("py3") and factor[3:].isdigit()):
        return None
    return f"3.{factor[3:]}"


def supports(django: str, python: str) -> bool:
    oldest, newest = DJANGO_PYTHONS[django]
    return version(oldest) <= version(python) <= version(newest)


@dataclass
class Plan:
    """The environments to run, and what the missing Pythons changed."""

    run: list[str] = field(default_factory=list)
    instead: dict[str, str] = field(default_factory=dict)  # missing full env -> its stand-in
    skipped: list[str] = field(default_factory=list)
    docker: str = ""  # the environment that runs the Docker tests: the newest full one

    def summary(self, passed: bool) -> str:
        """Say in one line what ran, what stood in for what, and what was skipped."""
        ran = ", ".join(self.run) or "nothing"
        parts = [f"runtests: {'passed' if passed else 'FAILED'}: ran {ran}"]
        parts += [
            f"{stand_in} instead of {missing} (no python{python_of(missing)})"
            for missing, stand_in in self.instead.items()
        ]
        if self.skipped:
            names = ", ".join(f"{name} (no python{python_of(name)})" for name in self.skipped)
            parts.append(f"skipped {names}")
        return "; ".join(parts)


def plan(envs: Iterable[str], found: set[str]) -> Plan:
    """Run what ``found`` Pythons allow; a full environment's missing Python is stood in for.

    The stand-in is the nearest Python there is to the missing one, with the
    same Django if it supports that Python, else the Django nearest to it
    that does. An environment it makes redundant (the same pair without the
    full suite) is not run twice.
    """
    result = Plan()
    for name in envs:
        python = python_of(name)
        if python is None or python in found:
            result.run.append(name)
        elif FULL in name.split("-") and found:
            nearest = min(
                sorted(found), key=lambda minor: abs(version(minor)[1] - version(python)[1])
            )
            django = name.split("-")[1].removeprefix("django")
            usable = [d for d in DJANGO_PYTHONS if supports(d, nearest)]
            if django not in usable:
                django = min(usable, key=lambda d: abs(int(d) - int(django)))
            stand_in = f"py{nearest.replace('.', '')}-django{django}-{FULL}"
            result.instead[name] = stand_in
            result.run.append(stand_in)
        else:
            result.skipped.append(name)
    covered = {name.removesuffix(f"-{FULL}") for name in result.instead.values()}
    result.run = [name for name in result.run if name not in covered]
    full = [name for name in envs if FULL in name.split("-")]
    if full:
        result.docker = result.instead.get(full[-1], full[-1])
    return result


def split_selection(arguments: list[str]) -> tuple[list[str], list[str]]:
    """Split tox's arguments into the ``-e`` values that choose environments and the rest.

    Past ``--`` the arguments are the test commands', not tox's.
    """
    chosen: list[str] = []
    rest: list[str] = []
    index = 0
    while index < len(arguments):
        argument = arguments[index]
        if argument == "--":
            rest += arguments[index:]
            break
        if argument in ("-e", "--env") and index + 1 < len(arguments):
            chosen.append(arguments[index + 1])
            index += 1
        elif argument.startswith("--env="):
            chosen.append(argument.removeprefix("--env="))
        elif argument.startswith("-e") and len(argument) > 2:
            chosen.append(argument[2:])  # -eNAME: tox has no other option that starts so
        else:
            rest.append(argument)
        index += 1
    return chosen, rest


def run_tox(
    command: list[str], env: dict[str, str], capture: bool = False
) -> subprocess.CompletedProcess[str]:
    """Run tox; exit with one line saying how to repair it if it cannot start."""
    try:
        return subprocess.run(command, env=env, capture_output=capture, text=True, check=False)
    except OSError as error:  # gone, or its venv's Python is (an upgrade removed it)
        raise SystemExit(
            f"runtests: cannot run {command[0]}: {error.strerror}; "
            f"remove {TOX_VENV.name} to install tox again"
        ) from None


def list_environments(tox: list[str], selection: list[str], env: dict[str, str]) -> list[str]:
    """Return what tox would run: the ``-e`` environments, else TOXENV's, else its env_list.

    A failure exits with one line: tox's error, and how to repair it.
    """
    done = run_tox([*tox, "-l", *selection], env, capture=True)
    if done.returncode != 0:
        # A crash's traceback ends with its error; tox's own errors are on stdout.
        lines = done.stderr.strip().splitlines()[-1:] or done.stdout.split("\n")
        error = " ".join(line.strip() for line in lines if line.strip())
        raise SystemExit(
            f"runtests: tox -l failed (exit {done.returncode}): {error}; "
            f"check the -e names and tox.ini, or remove {TOX_VENV.name} to install tox again"
        )
    return done.stdout.split()


def main() -> int:
    if not (TOX_VENV / "bin" / "tox").exists():
        venv.create(TOX_VENV, with_pip=True)
        pip = [str(TOX_VENV / "bin" / "python"), "-m", "pip", "install", "--quiet"]
        if subprocess.run([*pip, TOX], check=False).returncode != 0:
            raise SystemExit(
                f"runtests: installing {TOX} into {TOX_VENV.name} failed (pip's error is above); "
                "check the network and pip's index settings, then run again"
            )
    env = dict(os.environ)
    env.setdefault("TOX_SKIP_MISSING_INTERPRETERS", "true")
    found = expose_pythons(env)
    tox = [str(TOX_VENV / "bin" / "tox"), "-c", str(ROOT / "tox.ini")]
    chosen_names, arguments = split_selection(sys.argv[1:])
    # Once, as -e: tox itself has no --env, and a second -e would add to the first.
    selection = ["-e", ",".join(chosen_names)] if chosen_names else []
    chosen: Plan | None = None
    if env["TOX_SKIP_MISSING_INTERPRETERS"] != "false":
        chosen = plan(list_environments(tox, selection, env), found)
        if not chosen.run:
            print(chosen.summary(passed=False), flush=True)
            return 1  # every environment asked for was skipped: nothing was tested
        selection = ["-e", ",".join(chosen.run)]
        env[DOCKER_ENVIRONMENT] = chosen.docker  # a stand-in runs them in its place
    status = run_tox([*tox, *selection, *arguments], env).returncode
    if chosen is not None:
        # Last, and flushed: what a redirected log ends with too.
        print(chosen.summary(passed=status == 0), flush=True)
    return status


if __name__ == "__main__":
    sys.exit(main())
