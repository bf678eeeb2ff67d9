"""``export FORMAT --output DIR``: render the format's templates and write its files there.

The templates are Django templates under ``djsupervisor/export/``: a project
overrides one by putting a file of the same name in one of its template
directories. Nothing is written outside the output directory.
"""

from __future__ import annotations

import argparse
import re
from functools import cache
from pathlib import Path
from typing import Any, NoReturn

from django.core.exceptions import ImproperlyConfigured
from django.template import Context, Engine, TemplateDoesNotExist, loader

from ..config.build import build
from ..config.render import Host
from ..errors import ConfigError
from ..options import Options
from ..runtime import write_whole
from .formats import CONTAINER_FORMATS, FORMATS, Target, for_containers
from .model import not_exported, services

TEMPLATES = Path(__file__).parents[1] / "templates"
TEMPLATE_PREFIX = "djsupervisor/export/"


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
        default="/app",
        metavar="W",
        help="The project directory where the programs run (containers' default: /app).",
    )
    parser.add_argument(
        "--python",
        default="python",
        metavar="P",
        help="The Python that runs them there (containers' default: python).",
    )


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
    if Path(parsed.output).exists() and not Path(parsed.output).is_dir():
        raise ConfigError(f"export: --output {parsed.output} is a file; name a directory")
    if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_.-]*", parsed.name):
        raise ConfigError(f"export: --name {parsed.name!r}: use letters, digits, '.', '_', '-'")
    return parsed


def export(options: Options, parsed: argparse.Namespace) -> tuple[list[Path], list[str]]:
    """Write the format's files; return them, and the warnings for what it could not say."""
    container = parsed.format in CONTAINER_FORMATS
    host = Host(parsed.workdir, parsed.python) if container else None
    config = build(options, console=False, host=host)
    output = Path(parsed.output).absolute()
    workdir = parsed.workdir if container else str(config.project_dir)
    target = Target(
        parsed.name, parsed.image or f"{parsed.name}:latest", workdir, parsed.python, str(output)
    )
    if container:
        target = for_containers(
            target, bool(parsed.image), parsed.base_image, str(config.project_dir), databases()
        )
    result = FORMATS[parsed.format](services(config, workdir), target)
    warnings = [*not_exported(config), *result.warnings]
    if config.copies:
        warnings.append(
            "files named with the templated filter are not exported: render them where "
            "the programs run"
        )
    env_files = {
        (config.project_dir / path).resolve()
        for environment in config.environments.values()
        for path in environment.files
    }
    for name in result.files:
        if (output / name).resolve() in env_files:
            raise ConfigError(
                f"export: {output / name} is an environment file the programs read; "
                "export to another directory (--output)"
            )
    output.mkdir(parents=True, exist_ok=True)
    written = []
    for name, (template, context, mode) in result.files.items():
        path = output / name
        write_whole(path, render(template, context), mode)
        written.append(path)
    return written, warnings


def render(name: str, context: dict[str, Any]) -> str:
    """Render ``djsupervisor/export/NAME``: the project's own copy if it has one."""
    try:
        return str(loader.get_template(TEMPLATE_PREFIX + name).render(context))
    except (TemplateDoesNotExist, ImproperlyConfigured):
        # A project without TEMPLATES (or not loading app templates): the package's.
        template = package_engine().get_template(TEMPLATE_PREFIX + name)
        return str(template.render(Context(context)))


def databases() -> dict[str, dict[str, Any]]:
    """Return the project's DATABASES setting."""
    from django.conf import settings

    return dict(settings.DATABASES)


@cache
def package_engine() -> Engine:
    """Return an engine for the package's export templates alone."""
    return Engine(
        dirs=[str(TEMPLATES)],
        libraries={"djsupervisor_export": "djsupervisor.templatetags.djsupervisor_export"},
    )
