"""Readiness checks, one attempt at a time: tcp, http and exec (log checks watch events).

A tcp or http check passes only if the program itself listens on the port:
a web server that could not bind it, because another one holds it, must not
be taken for ready because the other one answers. The listening socket's
owner is looked up in /proc (Linux); elsewhere an answer is enough.

This module runs inside supervisord: standard library only.
"""

from __future__ import annotations

import contextlib
import os
import select
import shlex
import signal
import socket
import threading
import time
from collections.abc import Callable, Collection, Mapping

from ..proctable import GROUP_FIELD, PROC, every_process

CONNECT_TIMEOUT = 0.5  # seconds: a local server that is up accepts at once
HTTP_TIMEOUT = 2.0  # seconds for a whole answer
EXEC_TIMEOUT = 10.0  # seconds a check command may take
EXEC_WAIT_SLICE = 0.05  # seconds between looks at a cancellation while a check command runs
# The shell that runs a check command: supervisord reaps every child itself,
# so waitpid cannot be trusted with the command's status, and supervisord may
# exit before the thread that runs a check can kill it.
EXEC_SHELL = (
    # The check's words as one command, without a shell's reading of them;
    # its status goes to sh's stdout, a pipe this process reads.
    '{ "$@" </dev/null >/dev/null; echo $?; } & exec >/dev/null; '
    # Then kill the process group once stdin ends: this process closes the
    # pipe's other end when the attempt ends, and so does its exit.
    "read -r line; kill -s KILL 0"
)
NOT_RUN = {126: "cannot be executed", 127: "command not found"}  # sh's own statuses
LISTEN = "0A"  # the state of a listening socket in /proc/net/tcp
LOCAL_HOSTS = ("127.0.0.1", "localhost", "::1", "0.0.0.0", "::")


class NotReady(Exception):
    """The check did not pass, and says why (for status and the logs)."""


Owners = Callable[[], Collection[int]]  # the pids that may hold the port, asked for lazily


def tcp(host: str, port: int, owners: Owners) -> None:
    """Pass if something of ``owners`` accepts connections on ``host:port``."""
    try:
        with socket.create_connection((host, port), timeout=CONNECT_TIMEOUT):
            pass
    except OSError as exc:
        raise NotReady(f"{host}:{port}: {exc.strerror or exc}") from None
    _owned(host, port, owners)


def http(url: str, host: str, port: int, owners: Owners) -> None:
    """Pass if the server of ``owners`` answers ``url`` with a status below 500."""
    # Here, not at the top: supervisord loads it (about 1 MiB) only for an http check.
    import urllib.error
    import urllib.request

    try:
        with urllib.request.urlopen(url, timeout=HTTP_TIMEOUT) as answer:
            status = answer.status
    except urllib.error.HTTPError as exc:
        status = exc.code
    except (OSError, ValueError) as exc:
        reason = getattr(exc, "reason", exc)
        raise NotReady(f"{url}: {getattr(reason, 'strerror', None) or reason}") from None
    if status >= 500:
        raise NotReady(f"{url} answered {status}")
    _owned(host, port, owners)


def run(
    command: str,
    directory: str | None,
    environment: Mapping[str, str],
    cancelled: threading.Event | None = None,
) -> None:
    """Pass if ``command`` exits 0, run in the program's directory and environment.

    The command runs in its own process group, which is killed as soon as
    the attempt ends: at its status, after ``EXEC_TIMEOUT``, once
    ``cancelled`` is set (its program stopped, or its ready_timeout ended),
    or when this process exits.
    """
    try:
        words = shlex.split(command)
    except ValueError as exc:
        raise NotReady(f"{command}: {exc}") from None
    if not words:
        raise NotReady("an exec check needs a command")
    import subprocess  # here: supervisord needs it only for an exec check (bench/startup.py)

    lifeline, held = os.pipe()  # held by this process alone (not inheritable)
    try:
        try:
            checker = subprocess.Popen(
                ["/bin/sh", "-c", EXEC_SHELL, "sh", *words],
                cwd=directory,
                env=dict(environment),
                stdin=lifeline,
                stdout=subprocess.PIPE,
                stderr=subprocess.DEVNULL,
                start_new_session=True,
            )
        except OSError as exc:
            raise NotReady(f"{command}: {exc}") from None
        finally:
            os.close(lifeline)
        # Popen's exit waits for sh only to leave no zombie where nobody else
        # reaps (its status may be supervisord's to take, and is never used).
        with checker:
            try:
                assert checker.stdout is not None  # for mypy: stdout=PIPE
                status = _read_status(command, checker.stdout.fileno(), cancelled)
            finally:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(checker.pid, signal.SIGKILL)  # the command and what it started
    finally:
        os.close(held)
    if not status.isdigit():
        raise NotReady(f"{command} was killed before it exited")
    if status != "0":
        why = NOT_RUN.get(int(status))
        raise NotReady(f"{command} exited with status {status}" + (f" ({why})" if why else ""))


def _read_status(command: str, pipe: int, cancelled: threading.Event | None) -> str:
    """Return what the checker wrote to ``pipe`` by its exit; raise at a timeout or cancel."""
    deadline = time.monotonic() + EXEC_TIMEOUT
    poller = select.poll()
    poller.register(pipe, select.POLLIN)
    written = b""
    while not written.endswith(b"\n"):
        if cancelled is not None and cancelled.is_set():
            raise NotReady(f"{command}: cancelled")
        left = deadline - time.monotonic()
        if left <= 0:
            raise NotReady(f"{command} still running after {EXEC_TIMEOUT:g} s")
        if poller.poll(min(left, EXEC_WAIT_SLICE) * 1000):
            chunk = os.read(pipe, 64)
            if not chunk:
                break  # ended without a word: killed
            written += chunk
    return written.decode(errors="replace").strip()


def _owned(host: str, port: int, owners: Owners) -> None:
    """Raise unless one of ``owners`` holds the socket listening on ``port``."""
    if host not in LOCAL_HOSTS or not (PROC / "net" / "tcp").exists():
        return  # cannot tell: an answer is all there is
    inodes = listening_inodes(port)
    if not inodes:
        return  # a listener /proc does not show (another network namespace)
    for pid in owners():
        try:
            descriptors = os.listdir(PROC / str(pid) / "fd")
        except OSError:
            continue
        for fd in descriptors:
            try:
                if os.readlink(PROC / str(pid) / "fd" / fd) in inodes:
                    return
            except OSError:
                continue
    raise NotReady(f"port {port} is held by another process, not by this program")


def listening_inodes(port: int) -> set[str]:
    """Return the sockets listening on ``port``, as /proc/<pid>/fd links name them."""
    found = set()
    for table in ("tcp", "tcp6"):
        try:
            lines = (PROC / "net" / table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            fields = line.split()
            local, state, inode = fields[1], fields[3], fields[9]
            if state == LISTEN and int(local.rpartition(":")[2], 16) == port:
                found.add(f"socket:[{inode}]")
    return found


def process_group(leader: int) -> list[int]:
    """Return the pids of ``leader``'s process group: a program and what it started."""
    members = [
        pid
        for pid, stat in every_process("stat")
        if int(stat.rpartition(b")")[2].split()[GROUP_FIELD]) == leader
    ]
    return members or [leader]
