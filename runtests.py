"""Run the whole test suite: tox, from a virtualenv of its own, over every Python found.

    python3 runtests.py [tox arguments]

It creates ``.venv-tox`` with tox in it (nothing is installed into the
Python that runs this script), looks for each Python of the matrix on PATH
(``python3.X``) and among pyenv's installed versions, says which are missing,
and runs tox. The environments of a missing Python are skipped, except where
``TOX_SKIP_MISSING_INTERPRETERS=false`` (CI sets it: there a missing Python is
a failure).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
TOX_VENV = ROOT / ".venv-tox"
PYTHONS = ("3.10", "3.11", "3.12", "3.13")  # the matrix of tox.ini, as in pyproject.toml
TOX = "tox>=4.2"


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


def expose_pythons(env: dict[str, str]) -> None:
    """Add the directories of pyenv's Pythons to tox's PATH; say which Pythons are missing."""
    from_pyenv = pyenv_pythons()
    extra = []
    for minor in PYTHONS:
        name = f"python{minor}"
        # pyenv's shims are on PATH for every version, but run only the global one.
        on_path = shutil.which(name, path=env["PATH"])
        if on_path and runs(on_path):
            continue
        if minor in from_pyenv and runs(from_pyenv[minor]):
            # The directory itself, not a link to the interpreter: virtualenv's
            # discovery looks for the interpreter's home beside it.
            extra.append(str(from_pyenv[minor].parent))
        else:
            print(f"runtests: {name} not found (PATH, pyenv): its environments are skipped")
    # Appended: whatever the user's PATH names first still comes first.
    env["PATH"] = os.pathsep.join([env["PATH"], *extra])


def main() -> int:
    if not (TOX_VENV / "bin" / "tox").exists():
        venv.create(TOX_VENV, with_pip=True)
        pip = [str(TOX_VENV / "bin" / "python"), "-m", "pip", "install", "--quiet"]
        subprocess.run([*pip, TOX], check=True)
    env = dict(os.environ)
    env.setdefault("TOX_SKIP_MISSING_INTERPRETERS", "true")
    expose_pythons(env)
    tox = [str(TOX_VENV / "bin" / "tox"), "-c", str(ROOT / "tox.ini"), *sys.argv[1:]]
    return subprocess.run(tox, env=env, check=False).returncode


if __name__ == "__main__":
    sys.exit(main())
