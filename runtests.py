"""Run the whole test suite: tox, from a virtualenv of its own, over every Python found.

    python3 runtests.py [tox arguments]

It creates ``.venv-tox`` with tox in it (nothing is installed into the
Python that runs this script), looks for each Python of the matrix on PATH
(``python3.X``) and among pyenv's installed versions, says which are missing,
and runs tox. The environments of a missing Python are skipped, except where
``TOX_SKIP_MISSING_INTERPRETERS=false`` (CI sets it: there a missing Python is
a failure); a full environment (every test, the coverage gate) whose Python is
missing runs on the nearest Python there is instead. The last line says what
ran, what stood in for what, and what was skipped.
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
        parts = [f"runtests: {'passed' if passed else 'FAILED'}: ran {', '.join(self.run)}"]
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


def main() -> int:
    if not (TOX_VENV / "bin" / "tox").exists():
        venv.create(TOX_VENV, with_pip=True)
        pip = [str(TOX_VENV / "bin" / "python"), "-m", "pip", "install", "--quiet"]
        subprocess.run([*pip, TOX], check=True)
    env = dict(os.environ)
    env.setdefault("TOX_SKIP_MISSING_INTERPRETERS", "true")
    found = expose_pythons(env)
    tox = [str(TOX_VENV / "bin" / "tox"), "-c", str(ROOT / "tox.ini")]
    arguments = sys.argv[1:]
    chosen: Plan | None = None
    if env["TOX_SKIP_MISSING_INTERPRETERS"] != "false" and not {"-e", "--env"} & set(arguments):
        listed = subprocess.run([*tox, "-l"], env=env, capture_output=True, text=True, check=True)
        chosen = plan(listed.stdout.split(), found)
        arguments = ["-e", ",".join(chosen.run), *arguments]
        env[DOCKER_ENVIRONMENT] = chosen.docker  # a stand-in runs them in its place
    status = subprocess.run([*tox, *arguments], env=env, check=False).returncode
    if chosen is not None:
        # Last, and flushed: what a redirected log ends with too.
        print(chosen.summary(passed=status == 0), flush=True)
    return status


if __name__ == "__main__":
    sys.exit(main())
