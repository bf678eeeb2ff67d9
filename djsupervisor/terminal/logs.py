"""``logs [-f] [-n N] [--json] [PROG ...]``: the programs' output from the journal, in order."""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable, Collection
from functools import partial
from pathlib import Path
from typing import Protocol

from ..clock import Clock
from ..errors import ConfigError
from ..graph import read_graph
from ..journal import read_on
from ..options import parse_words
from ..protocol import CHANNELS, NOTICE, records
from ..runtime import RuntimeDir
from .formatting import Formatter, Stream, use_color

DEFAULT_LINES = 20
FOLLOW_INTERVAL = 0.1  # seconds between looks at a journal being followed
Line = tuple[float, str, int, str]  # (time, process name, channel, text)
Render = Callable[[Line], str]  # one line as it is printed, its newline included
# A notice among a process's lines is djsupervisor's own: a scheduled run's start.
STREAMS = {**{channel: name for name, channel in CHANNELS.items()}, NOTICE: "djsupervisor"}


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
        "--json",
        action="store_true",
        help="Print one JSON object per line: time, program, process, stream, line.",
    )
    parser.add_argument(
        "programs", nargs="*", metavar="PROG", help="The programs to show (default: all)."
    )


def parse(args: list[str]) -> argparse.Namespace:
    """Return the options of ``logs``, or raise naming what is wrong with them."""
    parser = argparse.ArgumentParser(
        prog="manage.py supervisor logs", add_help=False, allow_abbrev=False
    )
    add_arguments(parser)
    return parse_words(
        parser,
        args,
        "-n takes a number of lines, e.g. 'logs -n 100 web'",
        "use -f, -n N, --json and program names",
    )


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
    if parsed.json:
        render_for = partial(json_lines, programs=graph.program_of_process())
    else:
        render_for = partial(text_lines, timestamps=timestamps)
    show(runtime.journal, processes, parsed.lines, parsed.follow, render_for, out)


def text_lines(names: Collection[str], timestamps: bool) -> Render:
    """Return how lines of the processes ``names`` print: prefixed, aligned, colored on a tty."""
    formatter = Formatter(names, use_color(sys.stdout), timestamps)
    return lambda line: formatter.line(line[1], line[3], line[0])


def json_lines(names: Collection[str], programs: dict[str, str]) -> Render:
    """Return how lines print as JSON objects (docs: scripting); ``programs`` by process name."""

    def render(line: Line) -> str:
        when, name, channel, text = line
        entry = {
            "time": when,
            "program": programs.get(name, name),
            "process": name,
            "stream": STREAMS.get(channel, str(channel)),
            "line": text,
        }
        return json.dumps(entry, ensure_ascii=False) + "\n"

    return render


def show(
    journal: Path,
    processes: Collection[str] | None,
    lines: int,
    follow: bool,
    render_for: Callable[[Collection[str]], Render],
    out: Output,
    clock: Clock = time,
) -> None:
    """Print the last ``lines`` lines of ``processes`` (all if None); with ``follow``, the rest.

    ``render_for`` returns how to print the lines of the processes it is given.
    """
    found = read_on(journal, None)
    assembler = Assembler(processes)
    shown = assembler.feed(found.data)[-lines:] if lines > 0 else []
    names = {line[1] for line in shown} | set(processes or ())
    render = render_for(names)
    _print(out, "".join(map(render, shown)))
    if follow:
        _follow(journal, found.cursor, assembler, render, out, clock)


def _follow(
    journal: Path,
    cursor: str,
    assembler: Assembler,
    render: Render,
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
        _print(out, "".join(map(render, assembler.feed(found.data))))


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
            lines += [(when, name, channel, line) for line in stream.feed(chunk)]
        return lines
