"""djsupervisor's own program options, read once into a typed value (docs/configuration.rst).

The merge pops them out of each program's section (supervisord would
silently ignore them) and reads them here, once: everything after it, the
graph, autoreload, the environment files and export, reads a
:class:`ProgramOptions`, never the strings. A wrong value is refused here,
naming the program, the files it came from and the option.
"""

from __future__ import annotations

import math
import os
import re
import shlex
import signal
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from urllib.parse import urlsplit

from supervisor.datatypes import boolean, signal_number

from ..errors import DependencyError, ListenError, OptionError, ReadinessError, ScheduleError
from ..graph import DEFAULT_READY_TIMEOUT, Check
from ..patterns import split
from ..schedules import Schedule, ScheduleSyntaxError, parse_schedule

OWN_BOOLEANS = ("exclude", "autoreload", "oneshot", "restart_backoff")
OWN_OPTIONS = (
    *OWN_BOOLEANS,
    *("autoreload_signal", "autoreload_patterns", "ready", "ready_timeout", "depends_on"),
    "environment_file",
    "listen",
    "schedule",
)
CONDITIONS = ("started", "ready", "done")
DEFAULT_CONDITION = "started"
CHECK_FORMS = "tcp:[HOST:]PORT, http://HOST:PORT/PATH, exec:COMMAND or log:REGEX"


@dataclass(frozen=True)
class ProgramOptions:
    """One program's own options, as values: what it is unset means is said beside each."""

    exclude: bool = False
    autoreload: bool | None = None  # unset: reloaded, unless it is a one-shot
    oneshot: bool = False
    restart_backoff: bool = True
    autoreload_signal: str | None = None  # a name such as 'HUP'; unset: a restart
    autoreload_patterns: tuple[str, ...] | None = None  # unset: the setting's, and templates
    ready: Check | None = None
    ready_timeout: float = DEFAULT_READY_TIMEOUT  # seconds
    depends_on: tuple[tuple[str, str], ...] = ()  # (program, condition)
    environment_file: tuple[Path, ...] = ()
    listen: str | None = None  # 'HOST:PORT' or 'unix:/PATH': the socket supervisord holds
    schedule: Schedule | None = None  # run at these times, as a one-shot (docs: scheduling)
    # As written, booleans and the signal in one spelling ('true', 'HUP'): for display.
    written: Mapping[str, str] = field(default_factory=dict, compare=False, repr=False)

    @property
    def dependencies(self) -> list[str]:
        """Return the names of the programs it depends on."""
        return [program for program, _ in self.depends_on]


def read_options(written: Mapping[str, str], name: str, where: str) -> ProgramOptions:
    """Return program ``name``'s own options ``written`` as values, or say which is wrong.

    ``where`` names the program and its files in messages. Of an excluded
    program only the booleans and the signal are read: it does not run.
    """
    switches = {
        key: read_boolean(written[key], key, where) for key in OWN_BOOLEANS if key in written
    }
    reload_signal = written.get("autoreload_signal")
    if reload_signal is not None:
        reload_signal = _signal(reload_signal, where)
    options = ProgramOptions(
        exclude=switches.get("exclude", False),
        autoreload=switches.get("autoreload"),
        oneshot=switches.get("oneshot", False),
        restart_backoff=switches.get("restart_backoff", True),
        autoreload_signal=reload_signal,
        written={
            **written,
            **{key: "true" if value else "false" for key, value in switches.items()},
            **({"autoreload_signal": reload_signal} if reload_signal else {}),
        },
    )
    if options.exclude:
        return options
    return replace(
        options,
        ready=parse_check(written["ready"], where) if "ready" in written else None,
        ready_timeout=(
            seconds(written["ready_timeout"], where)
            if "ready_timeout" in written
            else DEFAULT_READY_TIMEOUT
        ),
        depends_on=tuple(parse_depends_on(written.get("depends_on", ""), where)),
        environment_file=tuple(paths(written.get("environment_file", ""))),
        autoreload_patterns=_patterns(written, name),
        listen=parse_listen(written["listen"], where) if "listen" in written else None,
        schedule=_schedule(written["schedule"], where) if "schedule" in written else None,
    )


def _schedule(value: str, where: str) -> Schedule:
    try:
        return parse_schedule(value)
    except ScheduleSyntaxError as exc:
        raise ScheduleError(f"{where}: schedule={value!r} {exc}") from None


def read_boolean(value: str, option: str, where: str) -> bool:
    """Return what ``option=value`` says, read as supervisord reads it.

    true/false, yes/no, on/off and 1/0, in any case.
    """
    try:
        return bool(boolean(value))
    except ValueError:
        raise OptionError(
            f"{where}: {option}={value!r} is not a boolean; use true or false"
        ) from None


def signal_name(value: str) -> str:
    """Return the name of the signal ``value`` names or numbers, without SIG: 'HUP'.

    ValueError if it is none.
    """
    return signal.Signals(signal_number(value)).name.removeprefix("SIG")


def _signal(value: str, where: str) -> str:
    try:
        return signal_name(value)
    except ValueError:
        raise OptionError(
            f"{where}: autoreload_signal={value!r} is not a signal; use a name such as HUP or USR1"
        ) from None


def _patterns(written: Mapping[str, str], name: str) -> tuple[str, ...] | None:
    if "autoreload_patterns" not in written:
        return None
    patterns = tuple(split(written["autoreload_patterns"]))
    if not patterns:
        raise OptionError(
            f"program {name!r}: autoreload_patterns is empty; give glob patterns "
            "such as '*.py' or '*/migrations/*.py', or set autoreload=false"
        )
    return patterns


def parse_check(value: str, where: str) -> Check:
    """Return the check ``value`` describes, or say what is wrong with it."""
    kind, _, rest = value.partition(":")
    kind = kind.strip().lower()
    if kind == "tcp":
        host, _, port = rest.strip().rpartition(":")
        if port.isdigit() and 0 < int(port) < 65536:
            host = host or "127.0.0.1"
            return Check("tcp", f"{host}:{port}", host, int(port))
    elif kind in ("http", "https"):
        url = urlsplit(value.strip())
        if url.hostname and url.port:
            return Check("http", value.strip(), url.hostname, url.port)
        if url.hostname:
            return Check("http", value.strip(), url.hostname, 443 if kind == "https" else 80)
    elif kind == "exec" and rest.strip():
        _check_command_line(rest.strip(), value, where)
        return Check("exec", rest.strip())
    elif kind == "log" and rest.strip():
        try:
            re.compile(rest.strip())
        except re.error as exc:
            raise ReadinessError(
                f"{where}: ready={value!r}: not a regular expression: {exc}"
            ) from None
        return Check("log", rest.strip())
    raise ReadinessError(f"{where}: ready={value!r} is not a check; use {CHECK_FORMS}")


def parse_listen(value: str, where: str) -> str:
    """Return the address ``listen=value`` names: 'HOST:PORT' or 'unix:/PATH'.

    The host is 127.0.0.1 unless given; an IPv6 one is written in brackets.
    """
    value = value.strip()
    if value.startswith("unix:"):
        path = value.removeprefix("unix:")
        if os.path.isabs(path) and "\0" not in path:
            return f"unix:{os.path.normpath(path)}"
        raise ListenError(
            f"{where}: listen={value!r}: a unix socket's path must be absolute, "
            "e.g. unix:{{ PROJECT_DIR }}/web.sock"
        )
    host, colon, port = value.rpartition(":")
    host = host.removeprefix("[").removesuffix("]") if colon else "127.0.0.1"
    if port.isdigit() and 0 < int(port) < 65536 and (host or not colon):
        return f"[{host}]:{int(port)}" if ":" in host else f"{host}:{int(port)}"
    raise ListenError(
        f"{where}: listen={value!r} is not an address to listen on; use [HOST:]PORT "
        "(e.g. 8000 or 0.0.0.0:8000) or unix:/PATH"
    )


def _check_command_line(command: str, value: str, where: str) -> None:
    """Refuse an exec check's command the probe could not run: it splits it with shlex."""
    try:
        words = shlex.split(command)
    except ValueError as exc:
        raise ReadinessError(
            f"{where}: ready={value!r}: the command cannot be split into words ({exc}); "
            "close its quotes or escape them"
        ) from None
    if "\0" in command or not words or not words[0]:
        raise ReadinessError(f"{where}: ready={value!r}: not a command to run")


def parse_depends_on(value: str, where: str) -> list[tuple[str, str]]:
    """Return the (program, condition) pairs of a ``depends_on`` value."""
    pairs = []
    for item in filter(None, (part.strip() for part in value.split(","))):
        program, _, condition = item.partition(":")
        condition = condition.strip().lower() or DEFAULT_CONDITION
        if condition not in CONDITIONS:
            raise DependencyError(
                f"{where}: depends_on={value!r}: unknown condition {condition!r}; "
                f"use {', '.join(CONDITIONS)}"
            )
        pairs.append((program.strip(), condition))
    return pairs


def seconds(value: str, where: str) -> float:
    """Return ``ready_timeout`` in seconds: a finite number above 0 (nan and inf never end)."""
    try:
        number = float(value)
    except ValueError:
        number = math.nan
    if not (math.isfinite(number) and number > 0):
        raise OptionError(
            f"{where}: ready_timeout={value!r} is not a finite number of seconds above 0; "
            "write one such as ready_timeout=60"
        )
    return number


def paths(value: str) -> list[Path]:
    """Return the paths of a comma-separated ``environment_file`` value."""
    return [Path(part.strip()) for part in value.split(",") if part.strip()]
