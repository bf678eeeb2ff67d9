"""System checks: ``manage.py check`` builds the supervisord config and reports what is wrong.

The ids are stable and listed in the docs (``docs/checks.rst``).
"""

from __future__ import annotations

import difflib
import os
from collections.abc import Iterable
from typing import Any

from django.core.checks import CheckMessage, Error, Warning, register

from .conf import conf
from .errors import ConfigError

# Program options supervisor reads (supervisor 4.2's options.py), by section kind.
STREAM_OPTIONS = (
    *("logfile", "logfile_maxbytes", "logfile_backups", "capture_maxbytes"),
    *("events_enabled", "syslog"),
)
PROGRAM_OPTIONS = frozenset(
    {
        *("command", "process_name", "numprocs", "numprocs_start", "priority", "autostart"),
        *("autorestart", "startsecs", "startretries", "exitcodes", "stopsignal"),
        *("stopwaitsecs", "stopasgroup", "killasgroup", "user", "redirect_stderr"),
        *("directory", "umask", "environment", "serverurl"),
        *(f"{stream}_{option}" for stream in ("stdout", "stderr") for option in STREAM_OPTIONS),
    }
)
KIND_OPTIONS = {
    "program": PROGRAM_OPTIONS,
    "eventlistener": PROGRAM_OPTIONS | {"events", "buffer_size", "result_handler"},
    "fcgi-program": PROGRAM_OPTIONS | {"socket", "socket_backlog", "socket_mode", "socket_owner"},
}
UNKNOWN_OPTION = "djsupervisor.W001"
RELOADING_RUNSERVER = "djsupervisor.W003"
LEFTOVER = "djsupervisor.W004"
SUPERVISED = "SUPERVISOR_ENABLED"  # set by supervisord in the environment of its programs


@register("djsupervisor")
def check_supervisor_config(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    """Build the project's supervisord config as ``manage.py supervisor`` would."""
    if os.environ.get(SUPERVISED):
        # A program supervisord runs (runserver, a worker's migrate): its
        # supervisord's config was checked when it started and is checked
        # again by reload and update. Checking here would cost every start of
        # the program a config build (tens of ms), and an error in a file
        # being edited would keep the web server from coming back after a
        # restart.
        return []
    # Imported here: every manage.py command loads this module, few run checks.
    from .config.build import build
    from .options import Options

    messages = [message_for(exc) for exc in setting_errors()]
    if messages:
        return messages
    try:
        config = build(Options())  # writes nothing
    except ConfigError as exc:
        return [message_for(exc)]
    return config_messages(config.merged.sections, config.notes)


def config_messages(
    sections: dict[str, dict[str, str]], notes: Iterable[str] = ()
) -> list[CheckMessage]:
    """Return what is wrong in a config that builds: typos, runserver's own reloader, presets'.

    ``notes`` say what can go from the files (django-supervisor's spellings).

    The presets' checks (any app whose config is a ``djsupervisor.presets.PresetConfig``)
    see the merged config: two programs running one queue's scheduler, for one.
    """
    from .presets import installed_presets

    return [
        *unknown_options(sections),
        *reloading_runservers(sections),
        *(
            Warning(note, hint="remove it (see 'Coming from django-supervisor')", id=LEFTOVER)
            for note in notes
        ),
        *(
            message
            for preset in installed_presets()
            for message in preset.preset_messages(sections)
        ),
    ]


def setting_errors() -> Iterable[ConfigError]:
    """Read djsupervisor's settings and the installed presets'; yield what is wrong."""
    from .presets import installed_presets, read_settings

    yield from read_settings(conf)
    for preset in installed_presets():
        yield from preset.setting_errors()


def message_for(exc: ConfigError) -> CheckMessage:
    kind = Warning if exc.check_id.split(".")[1].startswith("W") else Error
    return kind(str(exc), id=exc.check_id)


def unknown_options(sections: dict[str, dict[str, str]]) -> Iterable[CheckMessage]:
    """Warn about program options neither supervisord nor djsupervisor knows (typos)."""
    from .config.merge import process_sections
    from .config.program_options import OWN_OPTIONS

    for section, _ in process_sections(sections):
        known = KIND_OPTIONS[section.partition(":")[0]] | set(OWN_OPTIONS)
        for option in sections[section]:
            if option in known:
                continue
            close = difflib.get_close_matches(option, known, n=1)
            yield Warning(
                f"[{section}] has the unknown option {option!r}; supervisord ignores it",
                hint=f"did you mean {close[0]!r}?" if close else "remove it",
                id=UNKNOWN_OPTION,
            )


def reloading_runservers(sections: dict[str, dict[str, str]]) -> Iterable[CheckMessage]:
    """Warn about ``runserver`` programs that run Django's own reloader under supervisord."""
    from .config.merge import process_sections

    for section, _ in process_sections(sections):
        words = sections[section].get("command", "").split()
        if "runserver" in words and not {"--noreload", "--no-reload"} & set(words):
            yield Warning(
                f"[{section}] runs runserver with its own reloader: supervisord would watch "
                "the reloader, not the server, and restarts would leave servers behind",
                hint="add --noreload; djsupervisor's autoreload restarts it when code changes",
                id=RELOADING_RUNSERVER,
            )
