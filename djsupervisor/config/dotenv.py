"""Read environment files with python-dotenv, the parser Django projects load ``.env`` with.

So a ``.env`` means the same to djsupervisor as to the project's settings:
``KEY=value`` lines, ``export`` in front, comments, single and double quotes
(with their escapes), and ``${VAR}`` / ``${VAR:-default}`` expanded to an
earlier key of the file or the environment of ``manage.py``, as python-dotenv
defines them. What python-dotenv would skip with a warning is an error here,
naming the file and the line; no message holds a line's text, since a value
may be a secret.
"""

from __future__ import annotations

import io
import re
from collections.abc import Mapping
from pathlib import Path

from dotenv.parser import Original, parse_stream
from dotenv.variables import parse_variables

from ..errors import EnvFileError

NEWLINE = re.compile(r"\r\n|\n|\r")


def read(path: Path, environ: Mapping[str, str]) -> dict[str, str]:
    """Return the variables the file at ``path`` sets, in order."""
    try:
        text = path.read_bytes().decode("utf-8")
    except OSError as exc:
        raise EnvFileError(f"cannot read environment file {path}: {exc.strerror}") from None
    except UnicodeDecodeError as exc:
        raise EnvFileError(f"environment file {path} is not UTF-8 text: {exc.reason}") from None
    return parse(text, str(path), environ)


def parse(text: str, source: str, environ: Mapping[str, str]) -> dict[str, str]:
    """Return the variables ``text`` sets; name ``source`` and the line in any error.

    A line without ``=`` (``KEY`` alone) sets nothing, as with python-dotenv.
    """
    values: dict[str, str] = {}
    scope = dict(environ)  # what ${VAR} sees: the environment, then the file's earlier keys
    for binding in parse_stream(io.StringIO(text)):
        where = f"{source}, line {_line(binding.original)}"
        if binding.error:
            raise EnvFileError(
                f"{where}: not a KEY=value line, or a quote without its closing quote "
                "or with text after it"
            )
        key, value = binding.key, binding.value
        if key is None or value is None:
            continue
        if "\0" in key:
            raise EnvFileError(f"{where}: a variable's name holds a NUL byte; remove it")
        value = "".join(atom.resolve(scope) for atom in parse_variables(value))
        if "\0" in value:
            raise EnvFileError(
                f"{where}: {key}: the value holds a NUL byte, which no environment can carry; "
                "remove it"
            )
        values[key] = scope[key] = value
    return values


def _line(original: Original) -> int:
    """Return the line a binding's text starts on, past the blank lines python-dotenv counts in."""
    text = original.string
    blank = text[: len(text) - len(text.lstrip())]
    return original.line + len(NEWLINE.findall(blank))
