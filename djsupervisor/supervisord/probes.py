"""Readiness checks, one attempt at a time: tcp, http and exec (log checks watch events).

A tcp or http check passes only if the program itself listens on the port:
a web server that could not bind it, because another one holds it, must not
be taken for ready because the other one answers. The listening socket's
owner is looked up in /proc (Linux); elsewhere an answer is enough.

This module runs inside supervisord: standard library only.
"""

from __future__ import annotations

import os
import shlex
import socket
import subprocess
import urllib.error
import urllib.request
from collections.abc import Callable, Collection, Mapping
from pathlib import Path

CONNECT_TIMEOUT = 0.5  # seconds: a local server that is up accepts at once
HTTP_TIMEOUT = 2.0  # seconds for a whole answer
EXEC_TIMEOUT = 10.0  # seconds a check command may take
PROC = Path("/proc")
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


def run(command: str, directory: str | None, environment: Mapping[str, str]) -> None:
    """Pass if ``command`` exits 0, run in the program's directory and environment."""
    try:
        done = subprocess.run(
            shlex.split(command),
            cwd=directory,
            env=dict(environment),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            timeout=EXEC_TIMEOUT,
            check=False,
        )
    except (OSError, ValueError, subprocess.TimeoutExpired) as exc:
        raise NotReady(f"{command}: {exc}") from None
    if done.returncode != 0:
        raise NotReady(f"{command} exited with status {done.returncode}")


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
    members = []
    for entry in PROC.iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rpartition(")")[2].split()
            except OSError:
                continue
            if int(fields[2]) == leader:  # pgrp, after state and ppid
                members.append(int(entry.name))
    return members or [leader]
