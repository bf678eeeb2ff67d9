"""Run supervisord (foreground or daemon) and supervisorctl for a built config."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
import xmlrpc.client
from collections.abc import Collection, Sequence
from functools import partial
from http.client import HTTPException
from pathlib import Path

from .console import Console, Formatter, use_color
from .control import OWN_RPC_FACTORY, Server
from .errors import ConfigError
from .forked import Forked, stop_with_parent
from .pipeline import Config
from .running import UNREACHABLE, Running, ensure_running, unreachable
from .stale import (
    clear_stale_state,
    is_alive,
    project_processes,
    read_pid,
    stop_process_groups,
)
from .stopping import Reporter, shut_down

START_TIMEOUT = 60.0  # seconds; supervisord answers no RPC while spawning many programs
EXIT_TIMEOUT = 30.0  # seconds for supervisord to exit once its programs are stopped
POLL_INTERVAL = 0.02  # seconds; polling the socket also wakes supervisord's 1 s loop
START_POLL_INTERVAL = 0.005  # seconds between questions to a starting supervisord
# Until supervisord first answers: a refused connection costs next to nothing,
# and the first one it accepts is what ends its initial wait.
WAKE_POLL_INTERVAL = 0.001  # seconds
LOG_TAIL_LINES = 5  # lines of supervisord's log quoted when it fails to start
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)  # a second one kills everything at once
FORWARDED_SIGNALS = (*STOP_SIGNALS, signal.SIGHUP, signal.SIGQUIT, signal.SIGUSR2)


def supervisord_command(config: Config) -> list[str]:
    """Return the command line that runs supervisord (as a daemon) on ``config``."""
    return [sys.executable, "-m", "supervisor.supervisord", "-c", str(config.path)]


def prepare_start(config: Config, report: Reporter) -> None:
    """Refuse to start twice, recover from a killed supervisord, write the config."""
    if config.server.state() is not None:
        raise ConfigError(
            f"supervisord is already running for this project (at {config.server.url}); "
            "use 'manage.py supervisor status', or 'shutdown' to stop it first"
        )
    config.console_socket.unlink(missing_ok=True)  # left by a killed foreground command
    orphans = clear_stale_state(config.running.pidfile, config.merged.sections)
    if orphans:
        report(
            "supervisord of this project was killed; stopped the programs it left "
            f"running (pids {', '.join(map(str, orphans))})"
        )
    config.write()


def run_foreground(config: Config, report: Reporter) -> int:
    """Run supervisord in the foreground, printing all output, until it exits.

    Return supervisord's exit status. The first SIGINT or SIGTERM stops the
    programs as :func:`shut_down` does; a second one kills them all at once.
    Whatever the programs started and left running is stopped before
    returning.
    """
    prepare_start(config, report)
    console = Console(
        config.console_socket, Formatter(config.process_names, use_color(sys.stdout)), sys.stdout
    )
    output, output_end = os.pipe()
    process = Forked(partial(run_supervisord, config.path, output_end))
    os.close(output_end)
    # supervisord spawns its programs only after its first 1 s wait for
    # activity; talking to it makes that wait end at once.
    threading.Thread(
        target=wake_until_spawned,
        args=(config.server, process.pid, config.autostart, report),
        daemon=True,
    ).start()
    stop_requests = 0

    def forward(signum: int, frame: object) -> None:
        nonlocal stop_requests
        if signum in STOP_SIGNALS:
            stop_requests += 1
        if stop_requests > 1:
            report("stopping everything now")
            stop_process_groups(project_processes(config.merged.sections), (signal.SIGKILL,))
            process.kill()
        elif signum in STOP_SIGNALS:
            # Not in the handler: the main thread must go on relaying output.
            threading.Thread(
                target=stop_forked, args=(config.server, process, report), daemon=True
            ).start()
        else:
            process.send_signal(signum)

    previous = {sig: signal.signal(sig, forward) for sig in FORWARDED_SIGNALS}
    try:
        with os.fdopen(output, "rb", buffering=0) as supervisord_output:
            console.relay(supervisord_output)
        status = process.wait()
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        console.close()
    leftovers = project_processes(config.merged.sections)
    if leftovers:
        stop_process_groups(leftovers)
        report(
            "stopped processes the programs had started and left running "
            f"(pids {', '.join(map(str, leftovers))})"
        )
    return 0 if stop_requests > 1 else status


def stop_forked(server: Server, process: Forked, report: Reporter) -> None:
    """Shut the foreground supervisord down; signal it if it cannot be asked."""
    try:
        shut_down(server, report)
    except (OSError, HTTPException, xmlrpc.client.Error, ConfigError):
        # Not answering yet, or already shutting down: its own way, then.
        process.send_signal(signal.SIGTERM)


def run_supervisord(config_path: Path, output: int) -> None:
    """Run supervisord in the foreground, in this (forked) process, writing to ``output``."""
    # Out of the terminal's process group: a Ctrl-C must reach the command
    # alone, which stops the programs faster than supervisord's own shutdown
    # (and which supervisord would refuse once shutting down).
    os.setpgid(0, 0)
    stop_with_parent()
    os.dup2(os.open(os.devnull, os.O_RDONLY), 0)
    os.dup2(output, 1)
    os.dup2(output, 2)
    # supervisord closes every other inherited descriptor itself.
    os.environ.update(supervisord_environment())
    from supervisor import supervisord

    supervisord.main(["-n", "-c", str(config_path)])


def supervisord_environment() -> dict[str, str]:
    """Return the environment for supervisord, which its programs inherit."""
    # Python programs would otherwise buffer output written to a pipe, and
    # their print()s would show up in bursts; a program can set it back.
    return {"PYTHONUNBUFFERED": "1", **os.environ}


def start_daemon(config: Config, report: Reporter) -> int:
    """Start supervisord in the background; return its pid once it has spawned the programs."""
    prepare_start(config, report)
    launcher = subprocess.run(
        supervisord_command(config),
        env=supervisord_environment(),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        check=False,
    )
    if launcher.returncode != 0:
        raise ConfigError(daemon_start_error(launcher.stdout))
    # supervisord writes its pidfile once daemonized, before it answers.
    pid = wait_for_pidfile(config.running.pidfile)
    if pid is not None:
        try:
            if wait_until_spawned(config.server, pid, config.autostart):
                return pid
        except ConfigError:
            # It runs, but neither this command nor the next may control it.
            os.kill(pid, signal.SIGTERM)
            raise
    logfile = config.running.logfile
    raise ConfigError(
        f"supervisord did not come up within {START_TIMEOUT:.0f} s; its log "
        f"({logfile}) ends with: {_log_tail(logfile)}"
    )


def wait_for_pidfile(pidfile: Path) -> int | None:
    deadline = time.monotonic() + START_TIMEOUT
    while (pid := read_pid(pidfile)) is None and time.monotonic() < deadline:
        time.sleep(POLL_INTERVAL)
    return pid


def wait_until_spawned(server: Server, supervisord: int, autostart: Collection[str]) -> bool:
    """Poll supervisord (pid ``supervisord``) until it has spawned the processes ``autostart``.

    Return False if it died, shut down or never did; raise ``ConfigError`` if
    it refuses the credentials. Each request also wakes supervisord's main
    loop, which otherwise waits up to a second before spawning the programs.
    """
    deadline = time.monotonic() + START_TIMEOUT
    interval = WAKE_POLL_INTERVAL
    while time.monotonic() < deadline and is_alive(supervisord):
        try:
            # A spawned process has left STOPPED, even if it has exited since.
            states = server.states()
            if all(states.get(name, "STOPPED") != "STOPPED" for name in autostart):
                return True
            interval = START_POLL_INTERVAL
        except (OSError, HTTPException):
            pass  # not listening yet
        except xmlrpc.client.ProtocolError as exc:
            raise unreachable(server, exc) from None
        except xmlrpc.client.Fault:
            return False  # shutting down already
        time.sleep(interval)
    return False


def wake_until_spawned(
    server: Server, supervisord: int, autostart: Collection[str], report: Reporter
) -> None:
    """Run :func:`wait_until_spawned` for a foreground supervisord, reporting a refusal."""
    try:
        wait_until_spawned(server, supervisord, autostart)
    except ConfigError as exc:
        report(str(exc))


def daemon_start_error(output: str) -> str:
    """Return the message for a supervisord that exited at once, printing ``output``."""
    lines = [line.strip() for line in output.splitlines() if line.strip()]
    errors = [line for line in lines if line.startswith("Error:")]
    error = (errors or lines or ["no message"])[0]
    if OWN_RPC_FACTORY in error:
        error += (
            f"; supervisord runs in a new Python ({sys.executable}) that must be able to "
            "import djsupervisor: install it there rather than adding it to sys.path"
        )
    return f"supervisord could not start: {error}"


def _log_tail(logfile: Path) -> str:
    try:
        lines = logfile.read_text(errors="replace").splitlines()
    except OSError:
        return "(no log)"
    return " | ".join(lines[-LOG_TAIL_LINES:]) or "(empty log)"


def run_supervisorctl(running: Running, args: Sequence[str]) -> int:
    """Run supervisorctl in this process with ``args``; return its exit status.

    No ``args`` means its interactive shell. It runs in-process because a
    second Python start-up would double the latency of every command.
    """
    from supervisor import supervisorctl  # 25 ms that 'status' does without

    ensure_running(running.server)
    try:
        supervisorctl.main(["-c", str(running.path), *args])
    except SystemExit as exit:
        return exit.code if isinstance(exit.code, int) else 1
    return 0


def shutdown(running: Running, report: Reporter) -> None:
    """Stop the programs and supervisord; return once it has exited."""
    pid = read_pid(running.pidfile)
    try:
        shut_down(running.server, report)
    except UNREACHABLE as exc:
        raise unreachable(running.server, exc) from None
    deadline = time.monotonic() + EXIT_TIMEOUT
    while pid is not None and is_alive(pid):
        if time.monotonic() > deadline:
            raise ConfigError(
                f"supervisord (pid {pid}) stopped its programs but is still running after "
                f"{EXIT_TIMEOUT:.0f} s; see {running.logfile}"
            )
        time.sleep(POLL_INTERVAL)
