"""The private per-project runtime directory and every file in it.

Naming a path never touches the disk: :meth:`RuntimeDir.create` makes the
directory, and only starting supervisord (or ``reload``) calls it, so
``check``, ``getconfig`` and ``status`` leave the disk as they found it.
"""

from __future__ import annotations

import errno
import hashlib
import os
import re
import secrets
import stat
import tempfile
from dataclasses import dataclass
from pathlib import Path

from .errors import RuntimeDirError, WriteError

PRIVATE_MODE = 0o700  # only the owner may enter
NAME_CHARS = 20  # characters of the project's name kept in the directory name
# A unix socket path must fit in sun_path: 107 bytes and a NUL on Linux.
# supervisord first binds '<path>.<pid>' and then renames it, and a pid has
# up to 7 digits (pid_max is at most 2**22), so 8 bytes go to the suffix.
MAX_SOCKET_PATH = 107 - len(".4194304")  # bytes
SECRET_BYTES = 32  # 256 bits of randomness for the private socket's password

# Set by supervisord for its programs: the project whose supervisord runs them.
PROJECT_DIR_VARIABLE = "DJSUPERVISOR_PROJECT_DIR"


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


def new_secret() -> str:
    """Return a fresh random password for the private control socket."""
    return secrets.token_urlsafe(SECRET_BYTES)


@dataclass(frozen=True)
class RuntimeDir:
    """Where one project's supervisord keeps its socket, pidfile, logs and rendered config."""

    path: Path
    # A base the user chose is theirs to create; the default one, under a
    # shared /tmp, must be private.
    base_is_default: bool = False

    @classmethod
    def for_project(cls, project_dir: Path, base: str | None = None) -> RuntimeDir:
        """Return the runtime directory of the project at ``project_dir``, without creating it.

        A relative ``base`` (the SUPERVISOR_RUNTIME_DIR setting) is relative
        to the project directory, like the project's other paths.
        """
        base_dir = project_dir / base if base else default_base_dir()
        runtime = cls(base_dir / project_key(project_dir), base_is_default=not base)
        if len(os.fsencode(runtime.socket)) > MAX_SOCKET_PATH:
            raise RuntimeDirError(
                f"the control socket path {runtime.socket} is too long for a unix socket "
                f"({len(os.fsencode(runtime.socket))} bytes; at most {MAX_SOCKET_PATH}); "
                "set SUPERVISOR_RUNTIME_DIR to a shorter directory"
            )
        runtime.verify()
        return runtime

    @property
    def config(self) -> Path:
        """The rendered config supervisord reads."""
        return self.path / "supervisord.conf"

    @property
    def pidfile(self) -> Path:
        return self.path / "supervisord.pid"

    @property
    def socket(self) -> Path:
        """The private control socket."""
        return self.path / "supervisor.sock"

    @property
    def secret(self) -> Path:
        """The private socket's password, kept across invocations."""
        return self.path / "secret"

    @property
    def logs(self) -> Path:
        """The programs' log files (supervisord's ``childlogdir``)."""
        return self.path / "logs"

    @property
    def journal(self) -> Path:
        """Every program's output with the time, in order (see inside/journal.py)."""
        return self.logs / "journal"

    @property
    def supervisord_log(self) -> Path:
        return self.logs / "supervisord.log"

    @property
    def console_socket(self) -> Path:
        """Where a foreground command receives the programs' output while it runs."""
        return self.path / "console.sock"

    @property
    def graph(self) -> Path:
        """The programs' readiness, dependencies and restart rules, for supervisord."""
        return self.path / "graph.json"

    @property
    def options(self) -> Path:
        """The command-line options the config was rendered with, which ``reload`` keeps."""
        return self.path / "options.json"

    @property
    def project_record(self) -> Path:
        """The project directory a start came from: its real path, then the path it was named by."""
        return self.path / "project"

    @property
    def start_lock(self) -> Path:
        """Held by the command that starts supervisord, for as long as it runs it."""
        return self.path / "start.lock"

    @property
    def templated(self) -> Path:
        """The rendered copies of files named with the ``templated`` filter."""
        return self.path / "templated"

    def verify(self) -> None:
        """Check that the directories that exist are private and ours; create nothing."""
        for path in (self.path.parent, self.path) if self.base_is_default else (self.path,):
            try:
                info = os.lstat(path)
            except FileNotFoundError:
                return
            _check_private(path, info)

    def create(self) -> None:
        """Create the directory and its logs directory, private, if they do not exist."""
        if self.base_is_default:
            _make_private_dir(self.path.parent)
        else:
            try:
                self.path.parent.mkdir(mode=PRIVATE_MODE, parents=True, exist_ok=True)
            except OSError as exc:
                raise RuntimeDirError(
                    f"cannot create runtime directory {self.path.parent}: {exc.strerror}"
                ) from None
        _make_private_dir(self.path)
        try:
            self.logs.mkdir(mode=PRIVATE_MODE, exist_ok=True)
        except OSError as exc:
            raise cannot_write(self.logs, exc) from None

    def read_secret(self) -> str | None:
        """Return the stored password of the private socket, if one was stored."""
        try:
            return self.secret.read_text().strip() or None
        except FileNotFoundError:
            return None

    def keep_secret(self, secret: str) -> str:
        """Store ``secret`` unless a password is stored already; return the stored one.

        It must outlive one invocation: the supervisord started by one
        command is controlled by the next.
        """
        stored = self.read_secret()
        if stored:
            return stored  # whole: it was linked into place whole
        # Write the whole secret under a private name, then link it into place:
        # link() fails if the name exists, so concurrent invocations agree on
        # one secret and none of them can read a half-written file.
        draft = self.secret.with_name(f"{self.secret.name}.{os.getpid()}")
        write_private(draft, secret)
        try:
            os.link(draft, self.secret)
        except FileExistsError:
            pass  # another invocation stored one first; use it
        finally:
            draft.unlink()
        return self.read_secret() or secret


def _make_private_dir(path: Path) -> None:
    """Create ``path`` (mode 0700) or check that an existing one is private and ours."""
    try:
        path.mkdir(mode=PRIVATE_MODE)
    except FileExistsError:
        pass
    except OSError as exc:
        raise RuntimeDirError(f"cannot create runtime directory {path}: {exc.strerror}") from None
    _check_private(path, os.lstat(path))


def _check_private(path: Path, info: os.stat_result) -> None:
    # A directory under a shared /tmp could have been created by another user
    # to intercept the control socket: it must be ours, not a symlink, and
    # closed to group and others.
    if not stat.S_ISDIR(info.st_mode) or info.st_uid != os.getuid():
        raise RuntimeDirError(
            f"runtime directory {path} is not a directory owned by you; remove it "
            "or set SUPERVISOR_RUNTIME_DIR to a directory of your own"
        )
    if stat.S_IMODE(info.st_mode) & 0o077:
        raise RuntimeDirError(
            f"runtime directory {path} is open to other users "
            f"(mode {stat.S_IMODE(info.st_mode):o}); run 'chmod 700 {path}'"
        )


def write_private(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` readable by the owner only: it may hold credentials."""
    write_whole(path, text, 0o600)


def write_whole(path: Path, text: str, mode: int) -> None:
    """Write ``text`` to ``path`` with ``mode``: under a draft name, renamed into place.

    A command reading ``path`` meanwhile (``status`` in another terminal while
    a start rewrites the config) reads the old file or the new one, never half
    of one; and a file written over gets ``mode``, not the old file's.
    """
    draft = path.with_name(f".{path.name}.{os.getpid()}")
    try:
        draft.unlink(missing_ok=True)  # left by a killed process of the same pid
        fd = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as file:
                file.write(text)
            os.replace(draft, path)
        except BaseException:
            draft.unlink(missing_ok=True)
            raise
    except OSError as exc:
        raise cannot_write(path, exc) from None


def cannot_write(path: Path, exc: OSError) -> WriteError:
    """Return the error saying that ``path`` could not be written, and what to do."""
    if exc.errno in (errno.ENOSPC, errno.EDQUOT):
        return WriteError(f"cannot write {path}: {exc.strerror}; the disk is full, free some space")
    return WriteError(f"cannot write {path}: {exc.strerror}")
