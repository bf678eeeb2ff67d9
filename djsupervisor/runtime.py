"""The private per-project directory for the socket, pidfile, logs and config."""

from __future__ import annotations

import hashlib
import os
import re
import stat
import tempfile
from pathlib import Path

from .errors import ConfigError

PRIVATE_MODE = 0o700  # only the owner may enter
NAME_CHARS = 20  # characters of the project's name kept in the directory name
# A unix socket path must fit in sun_path (108 bytes on Linux).
MAX_SOCKET_PATH = 107  # bytes


def default_base_dir() -> Path:
    """Return the per-user directory under which project directories live."""
    xdg = os.environ.get("XDG_RUNTIME_DIR")
    if xdg and os.path.isdir(xdg):
        return Path(xdg) / "djsupervisor"
    return Path(tempfile.gettempdir()) / f"djsupervisor-{os.getuid()}"


def project_key(project_dir: Path) -> str:
    """Name a project's runtime directory: readable and unique per project path."""
    name = re.sub(r"[^A-Za-z0-9_.-]", "_", project_dir.name)[:NAME_CHARS] or "root"
    digest = hashlib.sha256(os.fsencode(project_dir)).hexdigest()[:12]
    return f"{name}-{digest}"


def ensure_private_dir(path: Path) -> None:
    """Create ``path`` (mode 0700) or check that an existing one is private.

    A directory under a shared /tmp could have been created by another user to
    intercept the control socket, so an existing one must be ours, not a
    symlink, and closed to group and others.
    """
    try:
        path.mkdir(mode=PRIVATE_MODE, parents=False)
    except FileExistsError:
        pass
    except OSError as exc:
        raise ConfigError(f"cannot create runtime directory {path}: {exc.strerror}") from None
    info = os.lstat(path)
    if not stat.S_ISDIR(info.st_mode) or info.st_uid != os.getuid():
        raise ConfigError(
            f"runtime directory {path} is not a directory owned by you; remove it "
            "or set SUPERVISOR_RUNTIME_DIR to a directory of your own"
        )
    if stat.S_IMODE(info.st_mode) & 0o077:
        raise ConfigError(
            f"runtime directory {path} is open to other users "
            f"(mode {stat.S_IMODE(info.st_mode):o}); run 'chmod 700 {path}'"
        )


def write_private(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` readable by the owner only: it may hold credentials."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as file:
        file.write(text)


def runtime_dir(project_dir: Path, base: str | None = None) -> Path:
    """Return the project's private runtime directory, creating it if needed."""
    base_dir = Path(base) if base else default_base_dir()
    if base:
        base_dir.mkdir(mode=PRIVATE_MODE, parents=True, exist_ok=True)
    else:
        ensure_private_dir(base_dir)
    path = base_dir / project_key(project_dir)
    ensure_private_dir(path)
    socket_path = path / "supervisor.sock"
    if len(os.fsencode(socket_path)) > MAX_SOCKET_PATH:
        raise ConfigError(
            f"the control socket path {socket_path} is too long for a unix socket; "
            "set SUPERVISOR_RUNTIME_DIR to a shorter directory"
        )
    return path
