"""What configs written for django-supervisor spell that djsupervisor does itself.

django-supervisor's templates loaded its filters with
``{% load djsupervisor_tags %}``; some configs spelled out its autoreload
program, ``manage.py supervisor autoreload``. Both still work: the tag
library is there (templatetags/djsupervisor_tags.py), and the old program's
section gives way to djsupervisor's own. Each is noted, saying what can go
(check ``djsupervisor.W004``).
"""

from __future__ import annotations

import re
import shlex
from pathlib import Path

from ..options import AUTORELOAD
from .ini import Sections

OLD_TAG_LIBRARY = "djsupervisor_tags"
LOADS_OLD_TAGS = re.compile(r"{%\s*load\s+(?:[^%]*\s)?" + OLD_TAG_LIBRARY + r"(?:\s[^%]*)?%}")
OLD_AUTORELOAD_SECTION = f"program:{AUTORELOAD}"


def old_tags_note(path: Path, source: str) -> str | None:
    """Return what can go if the template ``source`` loads django-supervisor's tag library."""
    if not LOADS_OLD_TAGS.search(source):
        return None
    return (
        f"{path}: {{% load {OLD_TAG_LIBRARY} %}} can go: "
        "djsupervisor's filters need no {% load %}"
    )


def drop_old_autoreload(sections: Sections, path: Path) -> str | None:
    """Remove django-supervisor's autoreload program from ``sections``; say what can go.

    Its command, ``manage.py supervisor autoreload``, is no djsupervisor
    command: djsupervisor adds its own autoreload program in debug mode.
    A ``[program:autoreload]`` without that command (``exclude=true`` to
    turn autoreload off) is djsupervisor's and stays.
    """
    options = sections.get(OLD_AUTORELOAD_SECTION)
    if options is None or not runs_old_autoreload(options.get("command", "")):
        return None
    del sections[OLD_AUTORELOAD_SECTION]
    return (
        f"{path}: [{OLD_AUTORELOAD_SECTION}] can go: djsupervisor runs its own "
        "autoreload program in debug mode"
    )


def runs_old_autoreload(command: str) -> bool:
    """Tell whether ``command`` is ``... manage.py supervisor [options] autoreload``."""
    try:
        words = shlex.split(command)
    except ValueError:
        return False  # not for this module to report
    for index, word in enumerate(words):
        if word.endswith("manage.py") and words[index + 1 : index + 2] == ["supervisor"]:
            return AUTORELOAD in words[index + 2 :]
    return False
