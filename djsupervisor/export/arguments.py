"""``export``'s own arguments: parsed, and checked before anything is built or written."""

from __future__ import annotations

import argparse
import re
from pathlib import Path
from typing import NoReturn

from ..errors import ConfigError
from .formats import FORMATS


class Parser(argparse.ArgumentParser):
    """An argument parser that raises what it would print (one line, no usage)."""

    def error(self, message: str) -> NoReturn:
        raise ConfigError(
            f"export: {message}; e.g. 'export systemd --output deploy/systemd' "
            f"(formats: {', '.join(FORMATS)})"
        )


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add ``export``'s arguments to ``parser`` (also the one its ``--help`` shows)."""
    parser.add_argument("format", help=f"One of {', '.join(FORMATS)}.")
    parser.add_argument(
        "--output", required=True, metavar="DIR", help="The directory to write the files to."
    )
    parser.add_argument(
        "--name", metavar="N", help="What to name the services (default: the project's name)."
    )
    parser.add_argument(
        "--image", default="", metavar="I", help="The containers' image (default: NAME:latest)."
    )
    parser.add_argument(
        "--base-image",
        default="python:3.12-slim",
        metavar="B",
        help="Compose without --image: the image its Dockerfile builds on (default: %(default)s).",
    )
    parser.add_argument(
        "--workdir",
        metavar="W",
        help="The project directory where the programs run (default: /app in containers, "
        "this one for systemd; a Procfile says paths relative to its folder).",
    )
    parser.add_argument(
        "--python",
        metavar="P",
        help="The Python that runs them there (default: python, the one on PATH; this one's "
        "path for systemd).",
    )
    parser.add_argument(
        "--settings",
        metavar="MODULE",
        help="The settings module the programs run with, as DJANGO_SETTINGS_MODULE "
        "(default: the one of this export); the export reads it too.",
    )
    parser.add_argument(
        "--env-file",
        metavar="FILE",
        help="The environment file whose values the programs get (default: the project's "
        ".env, which is this machine's).",
    )
    parser.add_argument("--pythonpath", help=argparse.SUPPRESS)  # Django's own: done already


def parse(args: list[str], project_name: str) -> argparse.Namespace:
    """Return ``export``'s options, or raise naming what is wrong with them."""
    parser = Parser(prog="manage.py supervisor export", add_help=False)
    add_arguments(parser)
    parsed, unknown = parser.parse_known_args(args)
    parsed.name = parsed.name or project_name
    if unknown:
        raise ConfigError(f"export: unknown option {unknown[0]!r}")
    if parsed.format not in FORMATS:
        raise ConfigError(f"export: unknown format {parsed.format!r}; use {', '.join(FORMATS)}")
    output = Path(parsed.output)
    try:
        existing = next(path for path in (output, *output.absolute().parents) if path.exists())
        is_dir = existing.is_dir()
    except OSError as exc:  # a folder on the way this user may not look into
        raise ConfigError(f"export: --output {parsed.output}: {exc.strerror}") from None
    if not is_dir:
        what = "is a file" if existing == output else f"is below {existing}, a file"
        raise ConfigError(f"export: --output {parsed.output} {what}; name a directory")
    if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_.-]*", parsed.name):
        raise ConfigError(f"export: --name {parsed.name!r}: use letters, digits, '.', '_', '-'")
    if parsed.format == "kubernetes" and not parsed.name[0].isalpha():
        # A Service's name is a DNS label that starts with a letter; every
        # resource's name starts with the project's.
        raise ConfigError(
            f"export: --name {parsed.name!r}: Kubernetes names start with a letter; "
            "give --name one that does"
        )
    if parsed.env_file and not _is_file(Path(parsed.env_file)):
        raise ConfigError(f"export: --env-file {parsed.env_file}: no such file")
    return parsed


def _is_file(path: Path) -> bool:
    """Tell whether ``path`` is a file this user can see (pathlib raises EACCES)."""
    try:
        return path.is_file()
    except OSError:
        return False
