"""What starting supervisord takes, in the foreground or as a daemon."""

from __future__ import annotations

import fcntl
import os
import signal
import sys
import time
from collections.abc import Callable, Collection, Sequence
from dataclasses import replace
from typing import TYPE_CHECKING, NoReturn

from ..client import Client
from ..clock import Clock
from ..errors import AlreadyRunningError, DjsupervisorError, Fault, ListenError, NotRunningError
from ..inside.sockets import try_listening
from ..protocol import Startup, Supervisor, states
from ..runtime import RuntimeDir, write_private
from ..terminal.console import listen_at
from .connection import find_running, running_of
from .foreground import FORWARDED_SIGNALS, STOP_SIGNALS, Handover
from .shutdown import Reporter
from .stale import clear_stale_state

if TYPE_CHECKING:
    from ..config.build import Config
    from .starting import Starting

START_TIMEOUT = 60.0  # seconds; supervisord answers no RPC while spawning many programs
# Each program's own ready_timeout bounds the wait for it; this bounds a long chain.
SETTLE_TIMEOUT = 600.0  # seconds
SETTLE_POLL_INTERVAL = 0.02  # seconds between questions while programs start
START_POLL_INTERVAL = 0.005  # seconds between questions to a starting supervisord
# Until supervisord first answers: a refused connection costs next to nothing,
# so the command hears within a millisecond that it listens (bench/startup.py).
WAKE_POLL_INTERVAL = 0.001  # seconds


def prepare_start(config: Config, report: Reporter) -> int:
    """Refuse to start twice, recover from a killed supervisord, write the config.

    Return the descriptor of the start lock: until it is closed, no other
    command can start this project's supervisord, nor take it for a killed
    one and clean up after it.
    """
    config.runtime.create()
    lock = os.open(config.runtime.start_lock, os.O_WRONLY | os.O_CREAT | os.O_CLOEXEC, 0o600)
    try:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(lock)
        raise already_running(config, "another 'manage.py supervisor' is starting it") from None
    try:
        if config.client.state() is not None:
            raise already_running(config, f"at {config.client.url}")
        _refuse_another_path(config)
        _recover_and_write(config, report)
        _refuse_held_addresses(config)
        write_private(
            config.runtime.project_record,
            f"{os.path.realpath(config.project_dir)}\n{config.project_dir}\n",
        )
    except BaseException:
        os.close(lock)
        raise
    return lock


def _refuse_held_addresses(config: Config) -> None:
    """Refuse to start when an address a program listens on is not free (after recovering)."""
    for name, program in config.graph.programs.items():
        if program.listen is None:
            continue
        try:
            try_listening(program.listen)
        except OSError as exc:
            raise ListenError(
                f"program {name!r}: listen={program.listen}: {exc.strerror or exc}; stop "
                "what holds it, or give the program another address "
                f"({ListenError.check_id})"
            ) from None


def already_running(config: Config, how: str) -> AlreadyRunningError:
    return AlreadyRunningError(
        f"supervisord is already running for this project ({how}); "
        "use 'manage.py supervisor status', or 'shutdown' to stop it first"
    )


def _refuse_another_path(config: Config) -> None:
    """Refuse to start while a supervisord runs this directory reached by another path.

    A project is known by the path it is reached by, symbolic links and all
    (a deployment's ``current`` stays the same project when it is switched
    to another release), so each path has its own runtime directory; the
    start records the real directory in it for this check.
    """
    real = os.path.realpath(config.project_dir)
    try:
        others = [path for path in config.runtime.path.parent.iterdir() if path.is_dir()]
    except OSError:
        return
    for other in others:
        if other == config.runtime.path:
            continue
        try:
            recorded_real, named = RuntimeDir(other).project_record.read_text().splitlines()
            running = find_running(RuntimeDir(other))
        except (OSError, ValueError, DjsupervisorError):
            continue  # no start recorded there, or nothing to reach
        if recorded_real == real and running.client.state() is not None:
            raise AlreadyRunningError(
                f"supervisord is already running for this project directory, started as "
                f"{named} (the same directory by another path); run the commands from {named}, "
                "or 'shutdown' it from there first"
            )


def _recover_and_write(config: Config, report: Reporter) -> None:
    config.runtime.console_socket.unlink(missing_ok=True)  # left by a killed foreground command
    running = running_of(config)
    orphans = clear_stale_state(running.pidfile, running.server_url)
    if orphans:
        report(
            "supervisord of this project was killed; stopped the programs it left "
            f"running (pids {', '.join(str(orphan.pid) for orphan in orphans)})"
        )
    config.write()


def patient(client: Client) -> Client:
    """Return ``client`` waiting as long as a start may take for each answer.

    supervisord spawning hundreds of programs answers late. A call given up
    is answered anyway, into a closed connection: supervisord logs a
    BrokenPipeError for it, shown in the foreground, and does the work again
    for the next call.
    """
    return replace(client, timeout=START_TIMEOUT)


def wait_until_started(
    supervisor: Supervisor,
    names: Sequence[str],
    alive: Callable[[], bool],
    clock: Clock = time,
) -> Startup:
    """Wait until the processes ``names`` (every wanted one if none) have started, or failed.

    Started means running (and ready, where there is a check) or, for a
    one-shot, done; failed includes blocked by a failed dependency.
    """
    deadline = clock.monotonic() + SETTLE_TIMEOUT
    while True:
        startup = supervisor.startup(names)
        if startup.settled or not alive() or clock.monotonic() > deadline:
            return startup
        clock.sleep(SETTLE_POLL_INTERVAL)


def wait_until_spawned(
    supervisor: Supervisor,
    autostart: Collection[str],
    alive: Callable[[], bool],
    clock: Clock = time,
) -> bool:
    """Poll supervisord until it has spawned the processes ``autostart``.

    Return False if it died (``alive`` says so), shut down or never did within
    START_TIMEOUT; raise :class:`~djsupervisor.errors.CredentialsError` if it
    refuses the credentials. supervisord does not wait for these requests to
    spawn the programs: djsupervisor's code in it ends its first one-second
    wait (inside/loop.py).
    """
    deadline = clock.monotonic() + START_TIMEOUT
    interval = WAKE_POLL_INTERVAL
    while clock.monotonic() < deadline and alive():
        try:
            # A spawned process has left STOPPED, even if it has exited since.
            current = states(supervisor)
            if all(current.get(name, "STOPPED") != "STOPPED" for name in autostart):
                return True
            interval = START_POLL_INTERVAL
        except NotRunningError:
            pass  # not listening yet
        except Fault:
            return False  # shutting down already
        clock.sleep(interval)
    return False


def start_foreground(
    config: Config, starting: Starting, report: Reporter, timestamps: bool
) -> NoReturn:
    """Start supervisord for ``config`` and hand over to the console: never return.

    Errors before the handover (another supervisord running, a config it
    cannot write) are raised here, in the command, as any command's; the
    waiting supervisord then ends, told nothing.
    """
    lock = prepare_start(config, report)
    server = listen_at(config.runtime.console_socket)
    starting.go(config)
    handover = Handover(
        supervisord=starting.process.pid,
        output=starting.output,
        console=server.fileno(),
        lock=lock,
        logs=str(config.runtime.logs),
        process_names=config.process_names,
        internal=sorted(config.merged.internal),
        processes={name: list(specs) for name, specs in config.processes.items()},
        server_url=running_of(config).server_url,
        url=config.client.url,
        username=config.client.username,
        password=config.client.password,
        check_credentials=not config.own_credentials,
        timestamps=timestamps,
    )
    given = handover.give(config.runtime.path)
    for descriptor in (given, starting.output, server.fileno(), lock):
        os.set_inheritable(descriptor, True)
    sys.stdout.flush()
    sys.stderr.flush()
    # Until the console handles them (Foreground.run): a Ctrl-C as Python
    # starts anew would end it at once, leaving supervisord to its parent's death.
    signal.pthread_sigmask(signal.SIG_BLOCK, [*STOP_SIGNALS, *FORWARDED_SIGNALS])
    os.execv(sys.executable, [sys.executable, "-m", "djsupervisor.control", str(given)])
