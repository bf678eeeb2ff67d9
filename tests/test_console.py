"""Programs' output from inside supervisord to the foreground's console, on in-memory streams."""

from __future__ import annotations

import contextlib
import errno
import io
import os
import re
import socket
import threading
from collections.abc import Callable
from pathlib import Path
from types import SimpleNamespace

import pytest
from supervisor import events
from supervisor.states import ProcessStates

from djsupervisor.inside import output
from djsupervisor.inside.output import Forwarder, say_failed_log_writes_once
from djsupervisor.protocol import NOTICE, SKIPPED, STARTED, STDERR, STDOUT, RecordReader, record
from djsupervisor.terminal.console import Console, listen_at
from djsupervisor.terminal.formatting import Formatter, quiet, use_color, visible
from djsupervisor.terminal.stdout import is_closed_pipe


def event(name: str, channel: str, data: bytes) -> SimpleNamespace:
    """Return what supervisord hands its subscribers for a chunk of output."""
    return SimpleNamespace(
        data=data, channel=channel, process=SimpleNamespace(config=SimpleNamespace(name=name))
    )


def test_records_survive_being_cut_anywhere() -> None:
    stream = record(STDOUT, "web", b"hello\n", 1.5) + record(STDERR, "wörker", b"\xff\n", 2.0)
    reader = RecordReader()
    found = [f for byte in range(len(stream)) for f in reader.feed(stream[byte : byte + 1])]
    assert found == [(1.5, STDOUT, "web", b"hello\n"), (2.0, STDERR, "wörker", b"\xff\n")]


def received_frames(server: socket.socket, until: int) -> list[tuple[int, str, bytes]]:
    connection, _ = server.accept()
    reader = RecordReader()
    frames: list[tuple[int, str, bytes]] = []
    with connection:
        while len(frames) < until and (data := connection.recv(65536)):
            frames += [(kind, name, data) for _, kind, name, data in reader.feed(data)]
    return frames


def test_the_forwarder_sends_raw_chunks_in_order(short_dir: Path) -> None:
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.bind(str(short_dir / "console.sock"))
    server.listen()
    forwarder = Forwarder(str(short_dir / "console.sock"))
    forwarder(event("web", "stdout", b"caf\xc3"))
    forwarder(event("web", "stdout", b"\xa9\n"))
    forwarder(event("web", "stderr", b"oops\n"))
    frames = received_frames(server, until=3)
    forwarder.flush(timeout=5)
    server.close()
    assert frames == [
        (STDOUT, "web", b"caf\xc3"),
        (STDOUT, "web", b"\xa9\n"),
        (STDERR, "web", b"oops\n"),
    ]


def test_a_lagging_console_hears_once_how_many_lines_were_skipped(short_dir: Path) -> None:
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.bind(str(short_dir / "console.sock"))
    server.listen()
    chunk = b"x" * 99 + b"\n"
    forwarder = Forwarder(str(short_dir / "console.sock"), max_queued=1000)
    connection, _ = server.accept()  # connected, but reading nothing yet: the console lags
    with forwarder.condition:  # hold the sender back while supervisord produces
        for _ in range(100):
            forwarder(event("web", "stdout", chunk))
    reader = RecordReader()
    frames: list[tuple[int, str, bytes]] = []
    with connection:
        while not any(kind == SKIPPED for kind, _, _ in frames):
            found = reader.feed(connection.recv(65536))
            frames += [(kind, name, data) for _, kind, name, data in found]
    forwarder.flush(timeout=5)
    server.close()
    kept = [f for f in frames if f[0] == STDOUT]
    notices = [int(data) for kind, _, data in frames if kind == SKIPPED]
    assert notices == [100 - len(kept)] and len(kept) < 100
    assert all(data == chunk for _, _, data in kept)


def test_without_a_console_the_forwarder_drops_everything_quietly(short_dir: Path) -> None:
    forwarder = Forwarder(str(short_dir / "nobody.sock"))
    forwarder.thread.join(5)
    forwarder(event("web", "stdout", b"x\n"))
    forwarder.flush(timeout=1)
    assert not forwarder.queue


def supervisord_process(autostart: bool) -> SimpleNamespace:
    """Return what supervisord keeps of a process not spawned yet, as its events carry it."""
    return SimpleNamespace(
        config=SimpleNamespace(autostart=autostart), state=ProcessStates.STOPPED, backoff=0, pid=0
    )


def spawned(process: SimpleNamespace) -> None:
    """Have ``process`` leave STOPPED, and tell supervisord's subscribers, as its spawn does."""
    process.state = ProcessStates.STARTING
    events.notify(events.ProcessStateStartingEvent(process, ProcessStates.STOPPED))


def told_the_console(
    short_dir: Path, groups: dict[str, SimpleNamespace], happenings: Callable[[], None]
) -> list[tuple[int, bytes]]:
    """Announce the start of ``groups``, let ``happenings`` happen; return what the console got.

    Each record's kind and data, up to a last notice that ends them.
    """
    server = listen_at(short_dir / "console.sock")
    output.forward_to(str(short_dir / "console.sock"))
    output.announce_start(groups)
    happenings()
    output.notice("end")
    output.forward_to(None, timeout=5)
    frames = received_frames(server, until=100)
    server.close()
    return [(kind, data) for kind, _, data in frames[: frames.index((NOTICE, "", b"end")) + 1]]


@pytest.fixture
def supervisord_events(monkeypatch: pytest.MonkeyPatch) -> None:
    """Give the test supervisord's event subscriptions of its own."""
    monkeypatch.setattr(events, "callbacks", [])


def test_the_console_hears_once_that_the_autostart_processes_are_spawned(
    short_dir: Path, supervisord_events: None
) -> None:
    web, worker, idle = (supervisord_process(autostart) for autostart in (True, True, False))
    groups = {
        "web": SimpleNamespace(processes={"web": web, "idle": idle}),
        "worker": SimpleNamespace(processes={"worker": worker}),
    }

    def supervisord_starts() -> None:
        events.notify(events.SupervisorRunningEvent())
        spawned(web)
        output.notice("web spawned")
        spawned(worker)
        spawned(idle)  # started by someone else afterwards

    assert told_the_console(short_dir, groups, supervisord_starts) == [
        (NOTICE, b"web spawned"),
        (STARTED, b""),
        (NOTICE, b"end"),
    ]


def test_with_nothing_to_start_the_console_hears_it_at_supervisords_first_turn(
    short_dir: Path, supervisord_events: None
) -> None:
    groups = {"idle": SimpleNamespace(processes={"idle": supervisord_process(False)})}

    def supervisord_starts() -> None:
        output.notice("config read")
        events.notify(events.SupervisorRunningEvent())

    assert told_the_console(short_dir, groups, supervisord_starts) == [
        (NOTICE, b"config read"),
        (STARTED, b""),
        (NOTICE, b"end"),
    ]


def relay(console: Console, frames: bytes, supervisord_says: bytes, close: bool = True) -> None:
    """Send ``frames`` as supervisord would, then end supervisord's output."""
    supervisord = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    supervisord.connect(str(console.socket_path))
    supervisord.sendall(frames)
    supervisord.close()
    read_end, write_end = os.pipe()
    os.write(write_end, supervisord_says)
    os.close(write_end)
    with os.fdopen(read_end, "rb", buffering=0) as output:
        console.relay(output)
    if close:
        console.close()


def test_the_console_prints_whole_decoded_prefixed_lines(short_dir: Path) -> None:
    out = io.StringIO()
    console = Console(
        listen_at(short_dir / "console.sock"), Formatter(["web", "worker"], False), out, short_dir
    )
    frames = (
        record(STDOUT, "web", b"caf\xc3")  # a character split between two writes
        + record(STDERR, "worker", b"bad \xff byte\n")
        + record(STDOUT, "web", b"\xa9\n")
        + record(SKIPPED, "", b"42")
    )
    relay(console, frames, "supervisord says ✓\n".encode())
    lines = out.getvalue().splitlines()
    assert sorted(lines) == sorted(
        [
            "supervisord  | supervisord says ✓",
            "worker       | bad \ufffd byte",  # stderr: not shown as an error
            "web          | café",
            f"djsupervisor | skipped 42 lines of output: the terminal could not keep up; "
            f"every line is in the log files in {short_dir}",
        ]
    )
    assert list(console.supervisord_lines) == ["supervisord says ✓"]
    assert not (short_dir / "console.sock").exists()


def test_the_console_passes_on_that_supervisord_has_spawned_its_programs(
    short_dir: Path,
) -> None:
    out = io.StringIO()
    heard: list[str] = []
    console = Console(
        listen_at(short_dir / "console.sock"),
        Formatter(["web"], False),
        out,
        short_dir,
        on_started=lambda: heard.append("started"),
    )
    relay(console, record(STDOUT, "web", b"up\n") + record(STARTED, "", b""), b"")
    assert heard == ["started"]
    assert out.getvalue() == "web          | up\n"  # nothing of its own to print


class ClosedPipe(io.StringIO):
    def write(self, text: str) -> int:
        raise BrokenPipeError(errno.EPIPE, "Broken pipe")


def test_a_closed_output_is_reported_once_and_then_left_alone(short_dir: Path) -> None:
    heard: list[OSError] = []
    console = Console(
        listen_at(short_dir / "console.sock"),
        Formatter([], False),
        ClosedPipe(),
        short_dir,
        heard.append,
    )
    relay(console, record(STDOUT, "web", b"1\n2\n") + record(STDOUT, "web", b"3\n"), b"x\n")
    assert len(heard) == 1 and is_closed_pipe(heard[0])


def test_colour_only_on_a_terminal_without_no_color() -> None:
    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    assert not use_color(io.StringIO())
    assert use_color(Terminal()) == (not os.environ.get("NO_COLOR"))
    formatter = Formatter(["web"], color=True)
    assert formatter.line("web", "x") == "\033[36mweb         \033[0m | x\n"
    stamped = Formatter(["web"], color=False, timestamps=True).line("web", "x", when=0)
    assert re.fullmatch(r"\d\d:\d\d:\d\d web          \| x\n", stamped)


@pytest.mark.parametrize(
    ("line", "shown"),
    [
        ("2026-11-29 18:22:28,932 INFO spawned: 'db' with pid 28381", "db started (pid 28381)"),
        (
            "2026-11-29 18:22:29,937 INFO success: db entered RUNNING state, process has "
            "stayed up for > than 1 seconds (startsecs)",
            "db is running",
        ),
        ("2026-11-29 18:22:40,752 WARN stopped: web (terminated by SIGTERM)", "web stopped"),
        (
            "2026-11-29 18:22:30,279 INFO exited: migrate (exit status 0; expected)",
            "migrate exited (status 0)",
        ),
        (
            "2026-11-29 18:22:40,749 WARN exited: db (exit status 1; not expected)",
            "warning: db exited unexpectedly (exit status 1)",
        ),
        (
            "2026-11-29 18:22:28,924 CRIT Supervisor is running as root.  Privileges were not "
            "dropped because no user is specified in the config file.",
            "running as root",
        ),
        ("2026-11-29 18:22:28,928 INFO RPC interface 'supervisor' initialized", None),
        ("2026-11-29 18:22:28,932 INFO spawned: 'autoreload' with pid 2", None),
        ("2026-11-29 18:22:28,932 ERRO something odd", "erro: something odd"),
        *(  # a client that went away before its answer, as the HTTP server prints it
            (
                "error: uncaptured python exception, closing channel <supervisor.http."
                "deferring_http_channel connected '' at 0x7f8c5006db50 channel#: 0 requests:1> "
                f"(<class '{name}'>:[Errno {number}] {text} [/x/medusa/asynchat_25.py|"
                "initiate_send|220] [/x/medusa/http_server.py|send|521])",
                None,
            )
            for name, number, text in (
                ("BrokenPipeError", errno.EPIPE, "Broken pipe"),
                ("ConnectionResetError", errno.ECONNRESET, "Connection reset by peer"),
                ("OSError", errno.EBADF, "Bad file descriptor"),
            )
        ),
        (
            "error: uncaptured python exception, closing channel <supervisor.http.x> "
            "(<class 'ValueError'>:oops [/x.py|f|1])",
            "error: uncaptured python exception, closing channel <supervisor.http.x> "
            "(<class 'ValueError'>:oops [/x.py|f|1])",
        ),
        ("Error: not a log line", "Error: not a log line"),
    ],
)
def test_supervisords_lines_are_said_quietly(line: str, shown: str | None) -> None:
    assert quiet(line, internal={"autoreload"}) == shown


def test_stderr_is_shown_as_stdout_is_in_colour(short_dir: Path) -> None:
    # Django and gunicorn log normal lines to stderr: no red, no marker.
    out = io.StringIO()
    console = Console(
        listen_at(short_dir / "console.sock"), Formatter(["web"], True), out, short_dir
    )
    relay(console, record(STDOUT, "web", b"said\n") + record(STDERR, "web", b"said\n"), b"")
    said, logged = out.getvalue().splitlines()
    assert said == logged == "\033[36mweb         \033[0m | said"


@pytest.mark.parametrize("prompt", ["(Pdb) ", "ipdb> ", "(Pdb++) "])
def test_a_debugger_prompt_is_shown_at_once_and_typed_lines_reach_it(
    short_dir: Path, prompt: str
) -> None:
    out = io.StringIO()
    console = Console(
        listen_at(short_dir / "console.sock"), Formatter(["web"], False), out, short_dir
    )
    relay(console, record(STDOUT, "web", f"> view()\n{prompt}".encode()), b"", close=False)
    assert out.getvalue().splitlines() == ["web          | > view()", f"web          | {prompt}"]
    sent: list[tuple[str, str]] = []
    typed_read, typed_write = os.pipe()
    os.write(typed_write, b"p 1 + 1\n")
    os.close(typed_write)
    with os.fdopen(typed_read, "rb", buffering=0) as typed:
        console.take_input(typed, lambda name, text: sent.append((name, text)))
        relay(console, b"", b"")
    assert sent == [("web", "p 1 + 1\n")]


def test_threads_left_by_forwarders_end() -> None:
    assert not [
        t for t in threading.enumerate() if t.name == "djsupervisor-console" and t.is_alive()
    ]


def test_supervisord_says_once_that_it_cannot_write_its_logs(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from supervisor import loggers

    monkeypatch.setattr(loggers.Handler, "handleError", loggers.Handler.handleError)  # restored
    say_failed_log_writes_once()
    logger = loggers.getLogger(loggers.LevelsByName.INFO)
    handler = loggers.FileHandler("/dev/full")  # every write: No space left on device
    logger.addHandler(handler)
    for number in range(3):
        logger.info(f"line {number}")
    with contextlib.suppress(OSError):  # what is still buffered cannot be written either
        handler.close()
    assert capsys.readouterr().err == (
        "Error: cannot write the log files in /dev: No space left on device; the programs go "
        "on, and their output shows here but is not logged until the disk has room\n"
    )


@pytest.mark.parametrize(
    ("written", "shown"),
    [
        ("plain ✓\tand a tab", "plain ✓\tand a tab"),
        ("\x1b[31mred\x1b[0m and \x1b[1;32mbold green\x1b[m", None),  # colours pass
        ("\x1b[31mred left on", "\x1b[31mred left on\x1b[0m"),  # ended before the next label
        ("\x1b]0;a new title\x07", "^[]0;a new title^G"),
        ("\x1b[2J\x1b[Hcleared", "^[[2J^[[Hcleared"),
        ("\x1bcreset", "^[creset"),
        ("\x9b2J C1 CSI", "<U+009B>2J C1 CSI"),
        ("beep\x07 back\x08 del\x7f nul\x00", "beep^G back^H del^? nul^@"),
        ("a line ending in CRLF\r", "a line ending in CRLF"),
        (" 10%\r 50%\r100%", "100%"),  # a progress bar: what a terminal would leave
    ],
)
def test_what_would_act_on_the_terminal_is_shown_instead(written: str, shown: str | None) -> None:
    assert visible(written) == (written if shown is None else shown)


def test_every_line_is_made_visible() -> None:
    assert Formatter(["web"], color=False).line("web", "\x1b[2Jx") == ("web          | ^[[2Jx\n")
