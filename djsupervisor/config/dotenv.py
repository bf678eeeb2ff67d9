"""Read environment files in the dotenv syntax honcho, foreman and docker use.

``KEY=value`` lines; ``export`` in front is allowed; ``#`` starts a comment
(on a line of its own, or after an unquoted value and a space). Single quotes
keep a value as it is; double quotes allow ``\\n``, ``\\"`` and ``\\\\``
escapes and may span lines; ``${VAR}`` and ``${VAR:-default}`` expand, in
double-quoted and unquoted values, to an earlier key of the file or the
environment of ``manage.py``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path

from ..errors import EnvFileError

KEY = re.compile(r"[A-Za-z_][A-Za-z0-9_.]*")
EXPANSION = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")
ESCAPES = {"n": "\n", "t": "\t", '"': '"', "\\": "\\"}


def read(path: Path, environ: Mapping[str, str]) -> dict[str, str]:
    """Return the variables the file at ``path`` sets, in order."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise EnvFileError(f"cannot read environment file {path}: {exc.strerror}") from None
    except UnicodeDecodeError as exc:
        raise EnvFileError(f"environment file {path} is not UTF-8 text: {exc.reason}") from None
    return parse(text, str(path), environ)


def parse(text: str, source: str, environ: Mapping[str, str]) -> dict[str, str]:
    """Return the variables ``text`` sets; name ``source`` and the line in any error."""
    values: dict[str, str] = {}
    lines = text.splitlines()
    index = 0
    while index < len(lines):
        lineno, line = index + 1, lines[index].strip()
        index += 1
        if not line or line.startswith("#"):
            continue
        if line.startswith("export "):
            line = line[len("export ") :].lstrip()
        key, equals, rest = line.partition("=")
        key, rest = key.strip(), rest.strip()
        if not equals or not KEY.fullmatch(key):
            raise EnvFileError(f"{source}, line {lineno}: expected KEY=value, not {line!r}")
        if rest.startswith("'"):
            value, closed, after = rest[1:].partition("'")
            if not closed:
                raise EnvFileError(f"{source}, line {lineno}: {key}: no closing single quote")
        elif rest.startswith('"'):
            body = rest[1:]
            while not _closing_quote(body):  # a value spanning lines
                if index >= len(lines):
                    raise EnvFileError(f"{source}, line {lineno}: {key}: no closing double quote")
                body += "\n" + lines[index]
                index += 1
            end = _closing_quote(body) or 0
            value = _expand(_unescape(body[: end - 1]), values, environ)
            after = body[end:]
        else:
            value = _expand(re.split(r"\s+#", rest, maxsplit=1)[0].strip(), values, environ)
            after = ""
        if after.strip() and not after.strip().startswith("#"):
            raise EnvFileError(f"{source}, line {lineno}: {key}: text after the closing quote")
        values[key] = value
    return values


def _closing_quote(body: str) -> int | None:
    """Return the index just past the unescaped double quote ending ``body``'s value."""
    escaped = False
    for position, char in enumerate(body):
        if escaped:
            escaped = False
        elif char == "\\":
            escaped = True
        elif char == '"':
            return position + 1
    return None


def _unescape(text: str) -> str:
    return re.sub(r"\\(.)", lambda m: ESCAPES.get(m[1], "\\" + m[1]), text)


def _expand(text: str, values: Mapping[str, str], environ: Mapping[str, str]) -> str:
    def value(match: re.Match[str]) -> str:
        name, default = match[1], match[2]
        found = values.get(name, environ.get(name))
        return found if found else (default or "")

    return EXPANSION.sub(value, text)
