"""systemd units: one service per program (a template for several processes), a target for all.

A scheduled program's service is started by a timer of its name, which the
target wants instead of the service.
"""

from __future__ import annotations

import math
import re
import shlex

from ..schedules import describe_period
from .common import (
    RESTART,
    SECRET_MODE,
    Export,
    Target,
    common_warnings,
    env_lines,
    platform_names,
    unnamed_zone,
)
from .model import Service
from .timers import on_calendar


def systemd(services: list[Service], target: Target) -> Export:
    export = Export()
    # A numprocs program is a template unit: its processes are its instances.
    templated = {s.name: s.numprocs > 1 and bool(s.template_command) for s in services}
    prefixes = platform_names(
        export,
        services,
        "systemd",
        "unit names take letters, digits, ':', '_', '.' and '-'",
        lambda name: re.sub(r"[^A-Za-z0-9:_.-]", "-", name),
        lambda name: f"{target.name}-{name}",
    )
    units = {
        s.name: [f"{prefixes[s.name]}@{n}.service" for n in s.instances()]
        if templated[s.name]
        else [f"{prefixes[s.name]}.service"]
        for s in services
    }
    timers = {
        s.name: [unit.removesuffix(".service") + ".timer" for unit in units[s.name]]
        for s in services
        if s.schedule
    }
    for service in services:
        common_warnings(export, service, "systemd")
        unnamed_zone(export, service, target, "systemd", "the server's")
        template = templated[service.name]
        unit = prefixes[service.name]
        env_file = f"{unit}.env" if service.secrets else ""
        if service.per_process and not template:
            export.cannot(service, "%(process_num) with a format", "a systemd template unit")
        if service.ready and not service.container_check:
            export.cannot(
                service,
                f"ready={service.ready.describe()}",
                "systemd",
                "dependents start once it has started (it has no log to watch)",
            )
        # listen=: systemd holds the socket across restarts, as supervisord
        # does, and passes it as fd 3 with LISTEN_FDS and LISTEN_PID.
        socket = f"{unit}.socket" if service.listen else ""
        # A one-shot has started once it has exited: no check to wait for then.
        wait = None if service.oneshot else systemd_wait(service, target.python)
        context = {
            "service": service,
            "target": target,
            "unit": unit,
            "command": service.template_command if template else service.command,
            "wait": shlex.join(wait) if wait else "",
            # The start ends when the wait does: systemd's own limit comes after it.
            "start_timeout": math.ceil(service.ready_timeout) + SYSTEMD_START_MARGIN,
            "clean_signal": service.stopsignal not in SYSTEMD_CLEAN_SIGNALS,
            "restart": "no" if service.oneshot else RESTART[service.autorestart],
            "requires": [
                *([socket] if socket else []),
                *(name for dependency, _ in service.depends_on for name in units[dependency]),
            ],
            # A template's instances are no service of the socket's name: each names it.
            "sockets": socket if template else "",
            "env_file": f"{target.output_there}/{env_file}" if env_file else "",
        }
        export.add(
            f"{unit}@.service" if template else f"{unit}.service",
            "systemd/program.service",
            context,
        )
        if socket:
            export.add(socket, "systemd/program.socket", {**context, **_socket(service, unit)})
        if service.schedule:
            export.add(
                f"{unit}@.timer" if template else f"{unit}.timer",
                "systemd/program.timer",
                {**context, **_timer(service, target)},
            )
        if env_file:
            export.add(env_file, "env", {"text": env_lines(service.secrets)}, SECRET_MODE)
    wanted = [
        name
        for service in services
        for name in timers.get(service.name, units[service.name] if service.autostart else [])
    ]
    export.add(
        f"{target.name}.target", "systemd/project.target", {"target": target, "units": wanted}
    )
    return export


def _timer(service: Service, target: Target) -> dict[str, object]:
    """Return what a timer unit says: when it starts its service.

    cron: OnCalendar= in the project's time zone. every: one period after
    the timer starts, then one after each run's start. A run still going
    when the next is due is not started twice: a timer does not start an
    active service.
    """
    schedule = service.schedule
    assert schedule is not None
    if schedule.cron is not None:
        calendar = on_calendar(schedule, target.zone)
        return {"calendar": calendar, "every": "", "accuracy": SYSTEMD_CALENDAR_ACCURACY}
    every = describe_period(schedule.every or 0)
    return {"calendar": [], "every": every, "accuracy": SYSTEMD_PERIOD_ACCURACY}


def _socket(service: Service, unit: str) -> dict[str, str]:
    """Return what a socket unit says: where it listens, the service it starts on traffic.

    That service is the one of its own name, but for a template unit's
    instances, which take the socket by Sockets=: then the first instance.
    """
    assert service.listen is not None
    return {
        "stream": service.listen.removeprefix("unix:"),
        "socket_service": f"{unit}@0.service" if service.numprocs > 1 else "",
    }


# How late a timer may elapse (AccuracySec=; systemd's default is a minute, to
# wake the machine less often). A cron run then starts within a second of its
# time, as under djsupervisor (within 0.25 s). An every timer counts each
# period from the last start, and systemd elapses as late as the window lets
# it: a wider one would add itself to every period (every 2s would be 3 s apart).
SYSTEMD_CALENDAR_ACCURACY = "1s"
SYSTEMD_PERIOD_ACCURACY = "1ms"
# Signals systemd counts as a clean exit anyway; another stop signal the
# program dies of is said with SuccessExitStatus=, as supervisord counts a stop.
SYSTEMD_CLEAN_SIGNALS = frozenset({"TERM", "INT", "HUP", "PIPE"})
SYSTEMD_START_MARGIN = 10  # seconds of TimeoutStartSec= beyond a ready check's ready_timeout
SYSTEMD_CHECK_PERIOD = 0.5  # seconds between two attempts of a ready check in ExecStartPost=
# ExecStartPost= of a program with a tcp, http or exec check: systemd counts
# the unit started (and starts what is ordered after it) once this exits 0.
# The same attempts as djsupervisor's own (an http status below 500 passes).
SYSTEMD_WAIT = """\
import shlex, socket, subprocess, sys, time, urllib.error, urllib.request
def ready():
    try:
        {attempt}
    except urllib.error.HTTPError as error:
        return error.code < 500
    except (OSError, subprocess.SubprocessError):
        return False
deadline = time.monotonic() + {timeout}
while not ready():
    if time.monotonic() > deadline:
        sys.exit({failed!r})
    time.sleep({period})
"""


def systemd_wait(service: Service, python: str) -> list[str] | None:
    """Return the command that waits for the service's ready check to pass, if it can."""
    check = service.container_check
    if check is None:
        return None
    if check.kind == "tcp":
        attempt = f"return bool(socket.create_connection(({check.host!r}, {check.port}), 2))"
    elif check.kind == "http":
        attempt = f"return bool(urllib.request.urlopen({check.target!r}, timeout=2))"
    else:
        words = f"shlex.split({check.target!r})"
        attempt = f"return subprocess.run({words}, timeout=10).returncode == 0"
    failed = f"{service.name}: not ready after {service.ready_timeout:g} s: {check.describe()}"
    code = SYSTEMD_WAIT.format(
        attempt=attempt, timeout=service.ready_timeout, failed=failed, period=SYSTEMD_CHECK_PERIOD
    )
    return [python, "-c", code]
