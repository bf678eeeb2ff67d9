"""Refuse a merged config that supervisord would choke on, or that would be unsafe."""

from __future__ import annotations

import os
import pwd

from ..errors import InsecureServerError, RuntimeDirError, ServerUserError
from ..runtime import MAX_SOCKET_PATH, RuntimeDir
from .ini import Sections

LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "::1", "[::1]")


def check_servers(sections: Sections, allow_unauthenticated: bool) -> None:
    """Refuse a user's control server that anyone could use, or a socket path too long."""
    inet = sections.get("inet_http_server")
    if inet is not None and not inet.get("password") and not allow_unauthenticated:
        host = inet.get("port", "").rpartition(":")[0]
        who = (
            "any user of this machine"
            if host in LOOPBACK_HOSTS
            else "anyone who can reach this machine's port"
        )
        raise InsecureServerError(
            f"[inet_http_server] port={inet.get('port', '')} has no password: {who} could "
            "stop, start and read your programs through it; set username and password, "
            "remove the section to use djsupervisor's private socket, or set "
            "SUPERVISOR_ALLOW_UNAUTHENTICATED_SERVER = True"
        )
    unix = sections.get("unix_http_server", {}).get("file", "")
    if len(os.fsencode(unix)) > MAX_SOCKET_PATH:
        raise RuntimeDirError(
            f"[unix_http_server] file={unix} is too long for a unix socket "
            f"({len(os.fsencode(unix))} bytes; at most {MAX_SOCKET_PATH}): choose a shorter path"
        )


def check_user(sections: Sections, runtime: RuntimeDir) -> None:
    """Refuse ``[supervisord] user=`` that supervisord could not switch to and still run."""
    name = sections.get("supervisord", {}).get("user")
    if not name:
        return
    try:
        uid = int(name) if name.isdigit() else pwd.getpwnam(name).pw_uid
    except KeyError:
        return  # supervisor's own reader names the unknown user
    if uid == os.getuid():
        return
    if os.getuid() != 0:
        raise ServerUserError(
            f"[supervisord] user={name}: supervisord can switch users only when root starts "
            f"it; remove user=, or run 'manage.py supervisor' as {name}"
        )
    raise ServerUserError(
        f"[supervisord] user={name}: supervisord would run as {name}, who cannot write to "
        f"its runtime directory {runtime.path} (private to root); remove user= and run "
        f"'manage.py supervisor' as {name} instead (e.g. 'sudo -u {name} python manage.py "
        "supervisor'), or give programs their own user= option"
    )
