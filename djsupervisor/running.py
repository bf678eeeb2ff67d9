"""Reach the project's running supervisord through the config it was started with."""

from __future__ import annotations

import xmlrpc.client
from dataclasses import dataclass
from http.client import HTTPException
from pathlib import Path

from . import ini
from .conf import conf
from .control import Server
from .discovery import find_project_dir
from .errors import ConfigError
from .options import Options
from .runtime import runtime_dir

CONFIG_NAME = "supervisord.conf"  # the rendered config, in the runtime directory


@dataclass(frozen=True)
class Running:
    """What a command needs to control a supervisord: its config file, server and files."""

    path: Path  # the rendered config supervisord read
    server: Server
    pidfile: Path
    logfile: Path

    @classmethod
    def from_sections(cls, path: Path, sections: ini.Sections, server: Server) -> Running:
        return cls(
            path,
            server,
            Path(sections["supervisord"]["pidfile"]),
            Path(sections["supervisord"]["logfile"]),
        )


def find_running(options: Options) -> Running:
    """Return how to reach the project's supervisord, reading the config it runs.

    Controlling a running supervisord needs neither the project's
    supervisord.conf files nor Django's template engine: the rendered config in
    the runtime directory says where it listens, which is right even when
    the files have changed since it started.
    """
    path = runtime_dir(find_project_dir(options.project_dir), conf.SUPERVISOR_RUNTIME_DIR)
    path /= CONFIG_NAME
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise not_running(f"no config at {path}") from None
    sections = ini.parse(text, str(path))
    ctl = sections.get("supervisorctl", {})
    server = Server(ctl.get("serverurl", ""), ctl.get("username"), ctl.get("password"))
    return Running.from_sections(path, sections, server)


# What a call to supervisord raises when it is not there or turns the caller away.
UNREACHABLE = (OSError, HTTPException, xmlrpc.client.ProtocolError)


def ensure_running(server: Server) -> None:
    """Raise ``ConfigError`` unless the project's supervisord answers."""
    try:
        server.proxy().supervisor.getState()
    except UNREACHABLE as exc:
        raise unreachable(server, exc) from None


def unreachable(server: Server, exc: Exception) -> ConfigError:
    """Return the error for a call to supervisord that failed with ``exc``."""
    if isinstance(exc, xmlrpc.client.ProtocolError):
        return ConfigError(
            f"supervisord at {server.url} refused the request: {exc.errcode} {exc.errmsg}; "
            "check the username and password in the config's [supervisorctl] section"
        )
    return not_running(f"nothing answers at {server.url}")


def not_running(why: str) -> ConfigError:
    """Return the error for a command that needs supervisord when it is not running."""
    return ConfigError(
        f"supervisord is not running for this project ({why}); "
        "start it with 'python manage.py supervisor --daemonize'"
    )
