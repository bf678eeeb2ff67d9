"""``logs [-f] [-n N] [PROG ...]``: the programs' output from the journal, in time order."""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable, Collection
from pathlib import Path
from typing import Protocol

from ..clock import Clock
from ..errors import ConfigError
from ..graph import read_graph
from ..journal import read_on
from ..protocol import records
from ..runtime import RuntimeDir
from .formatting import Formatter, Stream, use_color

DEFAULT_LINES = 20
FOLLOW_INTERVAL = 0.1  # seconds between looks at a journal being followed
Line = tuple[float, str, str]  # (time, process name, text)


class Output(Protocol):
    """Where the lines go: a text stream, or a management command's stdout."""

    def write(self, text: str, /) -> object: ...

    def flush(self) -> None: ...


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the arguments of ``logs`` to ``parser`` (also the one its ``--help`` shows)."""
    parser.add_argument(
        "-f", "--follow", action="store_true", help="Then print the new lines until Ctrl-C."
    )
    parser.add_argument(
        "-n",
        "--lines",
        type=int,
        default=DEFAULT_LINES,
        metavar="N",
        help=f"How many lines to print first (default: {DEFAULT_LINES}).",
    )
    parser.add_argument(
        "programs", nargs="*", metavar="PROG", help="The programs to show (default: all)."
    )


def parse(args: list[str]) -> argparse.Namespace:
    """Return the options of ``logs``, or raise naming what is wrong with them."""
    parser = argparse.ArgumentParser(prog="manage.py supervisor logs", add_help=False)
    add_arguments(parser)
    try:
        parsed, unknown = parser.parse_known_args(args)
    except SystemExit:
        raise ConfigError("logs: -n takes a number of lines, e.g. 'logs -n 100 web'") from None
    if unknown:
        raise ConfigError(f"logs: unknown option {unknown[0]!r}; use -f, -n N and program names")
    return parsed


def run_logs(runtime: RuntimeDir, args: list[str], timestamps: bool, out: Output) -> None:
    """Run ``logs ARGS`` on the project's journal: check what it names, then :func:`show`."""
    parsed = parse(args)
    graph = read_graph(runtime.graph)
    try:
        processes = graph.process_names(parsed.programs) if parsed.programs else None
    except KeyError as exc:
        known = ", ".join(sorted(graph.programs)) or "none"
        raise ConfigError(f"logs: no program {exc.args[0]!r} (programs: {known})") from None
    if not runtime.journal.exists():
        raise ConfigError(
            f"logs: nothing logged yet ({runtime.journal} does not exist); start the "
            "programs with 'python manage.py supervisor'"
        )

    def formatter(names: Collection[str]) -> Formatter:
        return Formatter(names, use_color(sys.stdout), timestamps)

    show(runtime.journal, processes, parsed.lines, parsed.follow, formatter, out)


def show(
    journal: Path,
    processes: Collection[str] | None,
    lines: int,
    follow: bool,
    formatter: Callable[[Collection[str]], Formatter],
    out: Output,
    clock: Clock = time,
) -> None:
    """Print the last ``lines`` lines of ``processes`` (all if None); with ``follow``, the rest."""
    found = read_on(journal, None)
    assembler = Assembler(processes)
    shown = assembler.feed(found.data)[-lines:] if lines > 0 else []
    names = {name for _, name, _ in shown} | set(processes or ())
    format_ = formatter(names)
    _print(out, "".join(format_.line(name, text, when) for when, name, text in shown))
    if follow:
        _follow(journal, found.cursor, assembler, format_, out, clock)


def _follow(
    journal: Path,
    cursor: str,
    assembler: Assembler,
    formatter: Formatter,
    out: Output,
    clock: Clock,
) -> None:
    """Print what the journal gets from ``cursor`` on, until interrupted (Ctrl-C)."""
    while True:
        clock.sleep(FOLLOW_INTERVAL)
        found = read_on(journal, cursor)
        cursor = found.cursor
        if not found.data:
            out.flush()  # fails once the reader has gone (| head), even with nothing new to say
            continue
        lines = assembler.feed(found.data)
        _print(out, "".join(formatter.line(n, line, when) for when, n, line in lines))


def _print(out: Output, text: str) -> None:
    if text:  # a command's stdout would print an empty line for nothing
        out.write(text)
        out.flush()


class Assembler:
    """Turn journal records into whole lines, per process and stream, keeping their time."""

    def __init__(self, processes: Collection[str] | None) -> None:
        self.processes = processes
        self.streams: dict[tuple[str, int], Stream] = {}

    def feed(self, data: bytes) -> list[Line]:
        lines: list[Line] = []
        for when, channel, name, chunk in records(data):
            if self.processes is not None and name not in self.processes:
                continue
            stream = self.streams.setdefault((name, channel), Stream())
            lines += [(when, name, line) for line in stream.feed(chunk)]
        return lines
