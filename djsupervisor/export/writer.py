"""``export FORMAT --output DIR``: render the format's templates and write its files there.

The templates are Django templates under ``djsupervisor/export/``: a project
overrides one by putting a file of the same name in one of its template
directories. Nothing is written outside the output directory.
"""

from __future__ import annotations

import argparse
import contextlib
import errno
import os
import sys
from functools import cache
from pathlib import Path
from typing import Any

from django.core.exceptions import ImproperlyConfigured
from django.template import Context, Engine, TemplateDoesNotExist, loader

from ..conf import ProjectSettings
from ..config.build import Config, build
from ..config.discovery import find_project_dir
from ..config.environment import read_environments
from ..config.render import Host
from ..errors import ConfigError
from ..options import Options
from ..schedules import zone_name
from .common import Target
from .containers import CONTAINER_FORMATS, for_containers
from .formats import FORMATS
from .model import Service, not_exported, services

TEMPLATES = Path(__file__).parents[1] / "templates"
TEMPLATE_PREFIX = "djsupervisor/export/"


def export(options: Options, parsed: argparse.Namespace) -> tuple[list[Path], list[str]]:
    """Write the format's files; return them, and the warnings for what it could not say."""
    project = ProjectSettings.read()
    project_dir = find_project_dir(options.project_dir, project.settings_module)
    container = parsed.format in CONTAINER_FORMATS
    # Containers: the image's paths. A Procfile: this project, run by the
    # python on PATH (an activated virtualenv). systemd needs this one's path.
    workdir = parsed.workdir or ("/app" if container else str(project_dir))
    python = parsed.python or (sys.executable if parsed.format == "systemd" else "python")
    config = build(options, console=False, host=Host(workdir, python), project=project)
    warnings = list(not_exported(config))
    if parsed.env_file:
        config.environments = read_environments(config.merged, Path(parsed.env_file).absolute())
    output = Path(parsed.output).absolute()
    target = Target(
        parsed.name,
        parsed.image or f"{parsed.name}:latest",
        workdir,
        python,
        str(output),
        project_dir=str(config.project_dir),
        relative=parsed.format == "procfile" and not parsed.workdir,
        zone=zone_name(),
    )
    if container:
        target = for_containers(
            target,
            bool(parsed.image),
            parsed.base_image,
            str(config.project_dir),
            project.databases,
        )
    exported = services(config, workdir)
    warnings += production_warnings(config, parsed, exported, project)
    result = FORMATS[parsed.format](exported, target)
    warnings += result.warnings
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
    texts = {
        output / name: (render(template, context), mode)
        for name, (template, context, mode) in result.files.items()
    }
    write_all(output, texts)
    return list(texts), warnings


def production_warnings(
    config: Config, parsed: argparse.Namespace, exported: list[Service], project: ProjectSettings
) -> list[str]:
    """Carry the settings module to every program; warn about a development export.

    ``--settings`` (Django has already read it) or the export's own
    DJANGO_SETTINGS_MODULE: a program's own ``environment=`` wins, and the
    environment file's value wins over the export's default.
    """
    module = parsed.settings or os.environ.get("DJANGO_SETTINGS_MODULE", "")
    for service in exported:
        if not module or "DJANGO_SETTINGS_MODULE" in service.environment:
            continue
        if parsed.settings:
            service.secrets.pop("DJANGO_SETTINGS_MODULE", None)
        elif "DJANGO_SETTINGS_MODULE" in service.secrets:
            continue
        service.environment = {"DJANGO_SETTINGS_MODULE": module, **service.environment}
    warnings = []
    if project.debug:
        warnings.append(
            f"DEBUG is on in the settings {module or '(none)'}: the programs exported are "
            "the development ones; pass --settings=MODULE of your production settings, or "
            "export with what turns DEBUG off"
        )
    project_env = config.project_dir / project.env_file if project.env_file else None
    read = {path.resolve() for e in config.environments.values() for path in e.files}
    if not parsed.env_file and project_env and project_env.resolve() in read:
        warnings.append(
            f"the values of {project_env}, this machine's environment file, are exported; "
            "pass --env-file=FILE with the production values"
        )
    return warnings


def write_all(output: Path, texts: dict[Path, tuple[str, int]]) -> None:
    """Write every file into ``output`` (made if missing), or none: raise one line saying why.

    Each file is first written under a draft name, then all are renamed into
    place: a failure leaves no file and no directory of this export behind.
    """
    made: list[Path] = []
    drafts: dict[Path, Path] = {}
    path = output
    try:
        for path in reversed([p for p in (output, *output.parents) if not p.exists()]):
            path.mkdir()
            made.append(path)
        for path in texts:
            if path.is_dir():  # found now, not after the other files are in place
                raise IsADirectoryError(errno.EISDIR, os.strerror(errno.EISDIR))
        for path, (text, mode) in texts.items():
            draft = path.with_name(f".{path.name}.{os.getpid()}")
            draft.unlink(missing_ok=True)  # left by a killed export of the same pid
            fd = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
            drafts[path] = draft
            with os.fdopen(fd, "w", encoding="utf-8") as file:
                file.write(text)
        for path, draft in drafts.items():
            os.replace(draft, path)
    except OSError as exc:
        for draft in drafts.values():
            draft.unlink(missing_ok=True)
        for directory in reversed(made):
            with contextlib.suppress(OSError):
                directory.rmdir()
        raise ConfigError(
            f"export: cannot write {path} (--output {output}): {exc.strerror}; "
            "name a directory you can write to"
        ) from None


def render(name: str, context: dict[str, Any]) -> str:
    """Render ``djsupervisor/export/NAME``: the project's own copy if it has one."""
    try:
        return str(loader.get_template(TEMPLATE_PREFIX + name).render(context))
    except (TemplateDoesNotExist, ImproperlyConfigured):
        # A project without TEMPLATES (or not loading app templates): the package's.
        template = package_engine().get_template(TEMPLATE_PREFIX + name)
        return str(template.render(Context(context)))


@cache
def package_engine() -> Engine:
    """Return an engine for the package's export templates alone."""
    return Engine(
        dirs=[str(TEMPLATES)],
        libraries={"djsupervisor_export": "djsupervisor.templatetags.djsupervisor_export"},
    )
