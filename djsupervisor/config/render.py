"""Render config files through Django's template engine."""

from __future__ import annotations

import contextvars
import os
import sys
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.signals import setting_changed
from django.dispatch import receiver
from django.template import Context, Engine, TemplateSyntaxError
from django.template.backends.django import get_installed_libraries

from ..errors import ConfigError, ParseError, TemplateError
from ..inside.sockets import LISTEN_FD
from ..options import Options
from .legacy import old_tags_note
from .quoting import mark, unmark


@dataclass(frozen=True)
class Host:
    """Where the rendered config runs: the project's directory and Python there.

    Exporting for a container renders the files as they are inside the image
    (``--workdir``, ``--python``); otherwise they are this machine's.
    """

    project_dir: str
    python: str = sys.executable


@dataclass
class Renderer:
    """Render files with one shared context; keep ``templated`` copies for ``copies_dir``.

    Rendering writes nothing: the copies wait in :attr:`copies` until the
    config is written.
    """

    project_dir: Path
    copies_dir: Path
    options: Options = field(default_factory=Options)
    host: Host | None = None  # None: this machine
    copies: dict[Path, str] = field(default_factory=dict)  # rendered text by destination
    rendering: list[Path] = field(default_factory=list)  # the files being rendered, outermost first
    notes: list[str] = field(default_factory=list)  # what can go from them (legacy.py)

    def context(self, app_dir: Path | None = None) -> dict[str, Any]:
        """Return the template context (docs/templating.rst)."""
        # Paths are marked: on a command line they come out quoted (quoting.py).
        return {
            "PROJECT_DIR": mark(self.host.project_dir if self.host else str(self.project_dir)),
            "APP_DIR": mark(str(app_dir)) if app_dir else "",
            # sys.executable, not its resolved target: inside a virtualenv it is
            # the venv's python, which can import the project's packages.
            "PYTHON": mark(self.host.python if self.host else sys.executable),
            # The descriptor a program with listen= gets its socket as (--fd).
            "LISTEN_FD": LISTEN_FD,
            "SUPERVISOR_OPTIONS": self.options.as_command_line(),
            "settings": settings,
            "environ": os.environ,
        }

    def render_file(self, path: Path, app_dir: Path | None = None) -> str:
        """Return the rendered text of the file at ``path``, its context paths still marked."""
        if path in self.rendering:
            chain = " -> ".join(str(p) for p in [*self.rendering, path])
            raise TemplateError(f"{path}: templated: the file includes itself ({chain})")
        try:
            source = path.read_text(encoding="utf-8")
        except OSError as exc:
            raise ParseError(f"cannot read {path}: {exc.strerror}") from None
        except UnicodeDecodeError as exc:
            raise ParseError(f"{path} is not UTF-8 text: {exc.reason}") from None
        if note := old_tags_note(path, source):
            self.notes.append(note)
        self.rendering.append(path)
        try:
            with _rendering(self, app_dir):
                return render_string(source, self.context(app_dir), origin=str(path))
        finally:
            self.rendering.pop()

    def templated(self, name: str, app_dir: Path | None) -> str:
        """Render the project file ``name`` and return the path its copy will have."""
        source = Path(name)
        if not source.is_absolute():
            source = (app_dir or self.project_dir) / source
        source = source.resolve()
        if not source.is_file():
            raise TemplateError(f"templated: {name}: no such file (looked for {source})")
        target = self.copies_dir / _relative_name(source, self.project_dir)
        self.copies[target] = unmark(self.render_file(source, app_dir))
        return mark(str(target))


def _relative_name(source: Path, project_dir: Path) -> Path:
    """Name the rendered copy of ``source``: its path inside the project if it is there."""
    try:
        return source.relative_to(project_dir)
    except ValueError:
        return Path("_external", *source.parts[1:])


# The ``templated`` filter cannot see the template context, so the renderer at
# work (and the app directory of the file being rendered) is published here.
_current: contextvars.ContextVar[tuple[Renderer, Path | None]] = contextvars.ContextVar(
    "djsupervisor_renderer"
)


@contextmanager
def _rendering(renderer: Renderer, app_dir: Path | None) -> Iterator[None]:
    token = _current.set((renderer, app_dir))
    try:
        yield
    finally:
        _current.reset(token)


def templated(name: str) -> str:
    """Back the ``templated`` filter: render ``name`` with the current renderer."""
    try:
        renderer, app_dir = _current.get()
    except LookupError:
        raise TemplateError("the templated filter only works in supervisord.conf files") from None
    # str.__str__ turns Django's SafeString into a plain str, which pathlib needs.
    return renderer.templated(str.__str__(name), app_dir)


@cache
def engine() -> Engine:
    """Return the template engine for config files.

    Autoescaping is off (here and in the Context) because the output is an
    ini file, not HTML; ``debug``
    is on so that errors carry their line number. Template libraries of every
    installed app can be ``{% load %}``-ed, as in the project's own templates.
    """
    return Engine(
        autoescape=False,
        debug=True,
        libraries=get_installed_libraries(),
        builtins=["djsupervisor.templatetags.djsupervisor"],
    )


@receiver(setting_changed)
def forget_engine(*, setting: str, **kwargs: Any) -> None:
    """Make the engine anew when INSTALLED_APPS changes (override_settings), as Django's are."""
    if setting == "INSTALLED_APPS":
        engine.cache_clear()


def render_string(source: str, context: Mapping[str, Any], origin: str) -> str:
    """Render template ``source``; name ``origin`` and the line in any error."""
    try:
        return engine().from_string(source).render(Context(dict(context), autoescape=False))
    except ConfigError:
        raise
    except TemplateSyntaxError as exc:
        raise TemplateError(f"{origin}{_line_of(exc)}: template error: {exc}") from None
    except Exception as exc:
        # A filter or a settings property failing while rendering is still the
        # user's template at fault: report it against the file, not as a crash.
        raise TemplateError(
            f"{origin}{_line_of(exc)}: error while rendering: {type(exc).__name__}: {exc}"
        ) from None


def _line_of(exc: Exception) -> str:
    debug = getattr(exc, "template_debug", None)
    return f", line {debug['line']}" if debug else ""
