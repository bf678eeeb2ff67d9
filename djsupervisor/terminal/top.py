"""``top``: every process live on one screen, with keys to act on one (docs: top).

The data (:class:`Watch`) is read without curses and laid out by plain
functions, tested alone; :func:`run_top` draws it with the standard
library's curses, which switches to the terminal's alternate screen and
restores it (and the shell's scrollback) on the way out, whatever happens.
"""

from __future__ import annotations

import collections
import contextlib
import curses
import os
import sys
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from ..clock import Clock
from ..errors import ConfigError, DjsupervisorError
from ..journal import read_on
from ..proctable import GroupUsage
from ..protocol import ProcessState, Supervisor
from .logs import Assembler

REFRESH = 1.0  # seconds between looks when no key is pressed
FOLLOWED_LINES = 1000  # lines kept per process for following it
KEYS = "up/down select  s start  x stop  r restart  enter follow  q quit"
FOLLOW_KEYS = "enter or q: back to the list"
HEADINGS = ("NAME", "STATE", "PID", "UPTIME", "CPU%", "MEM", "RESTARTS", "READY", "LAST LINE")
WIDTHS = (0, 9, 8, 10, 6, 8, 8, 0)  # 0: as wide as the longest; the last line takes the rest
MEBIBYTE = 1024 * 1024


@dataclass
class Row:
    """One process as the view shows it."""

    state: ProcessState
    cpu: float | None  # percent of one core since the last look; None on the first
    memory: int | None  # bytes resident, its process group's
    last: str  # the last line it wrote


@dataclass
class Watch:
    """What the view shows, looked at again on each refresh."""

    supervisor: Supervisor
    journal: Path
    clock: Clock = time
    cursor: str | None = None
    lines: dict[str, collections.deque[str]] = field(default_factory=dict)
    assembler: Assembler = field(default_factory=lambda: Assembler(None))
    ticks: dict[int, tuple[float, int]] = field(default_factory=dict)  # by pid: (when, CPU ticks)
    usage: GroupUsage = field(default_factory=GroupUsage)

    def look(self) -> list[Row]:
        """Return every process, its usage since the last look and its last line."""
        # supervisord answers while the journal is read: a look takes the longer, not both.
        with ThreadPoolExecutor(max_workers=1) as asking:
            asked = asking.submit(self.supervisor.process_states)
            self._read_output()
            states = asked.result()
        usage = self.usage.read([state.pid for state in states if state.pid])
        now = self.clock.monotonic()
        tick = os.sysconf("SC_CLK_TCK")
        rows = []
        ticks: dict[int, tuple[float, int]] = {}
        for state in states:
            used = usage.get(state.pid) if state.pid else None
            cpu = None
            if used is not None:
                ticks[state.pid] = (now, used.cpu_ticks)
                if state.pid in self.ticks:
                    then, before = self.ticks[state.pid]
                    cpu = 100 * (used.cpu_ticks - before) / tick / max(now - then, 1e-3)
            followed = self.lines.get(state.name)
            last = followed[-1] if followed else ""
            rows.append(Row(state, cpu, used.resident if used else None, last))
        self.ticks = ticks
        return rows

    def followed(self, name: str) -> list[str]:
        """Return the lines kept of process ``name`` (its process name, as the journal's)."""
        return list(self.lines.get(name, ()))

    def _read_output(self) -> None:
        found = read_on(self.journal, self.cursor)
        self.cursor = found.cursor
        for _, name, _, text in self.assembler.feed(found.data):
            self.lines.setdefault(name, collections.deque(maxlen=FOLLOWED_LINES)).append(text)


def format_uptime(seconds: int) -> str:
    """Return a duration as supervisord shows uptimes: '0:01:02', '3 days, 4:05:06'."""
    minutes, second = divmod(max(seconds, 0), 60)
    hours, minute = divmod(minutes, 60)
    days, hour = divmod(hours, 24)
    clock = f"{hour}:{minute:02d}:{second:02d}"
    return f"{days}d {clock}" if days else clock


def cells(row: Row, now: float) -> list[str]:
    """Return the row's cells, in the order of HEADINGS."""
    state = row.state
    running = bool(state.pid)
    return [
        state.namespec,
        state.statename,
        str(state.pid) if running else "",
        format_uptime(int(now - state.started)) if running and state.started else "",
        f"{row.cpu:.1f}" if row.cpu is not None else "",
        f"{row.memory / MEBIBYTE:.1f}M" if row.memory is not None else "",
        str(state.restarts),
        state.readiness or ("" if running else state.description),
        row.last,
    ]


def lay_out(rows: Sequence[Row], now: float, width: int) -> list[str]:
    """Return the heading and one line per row, in columns, cut to ``width``."""
    table = [list(HEADINGS), *(cells(row, now) for row in rows)]
    widths = [w or max(len(line[n]) for line in table) for n, w in enumerate(WIDTHS)]
    laid = []
    for line in table:
        text = "  ".join(cell[:w].ljust(w) for cell, w in zip(line, widths, strict=False))
        laid.append(f"{text}  {line[-1]}"[:width])
    return laid


class Actor(Protocol):
    """What acts on a process: the client."""

    def act(self, action: str, name: str) -> None: ...


def run_top(watch: Watch, actor: Actor) -> None:
    """Show the view until 'q'; raise a one-line error where the terminal cannot show it."""
    if not (sys.stdin.isatty() and sys.stdout.isatty()):
        raise ConfigError("top needs a terminal; in scripts, use 'status --json' or 'logs --json'")
    if os.environ.get("TERM", "dumb") in ("", "dumb", "unknown"):
        raise ConfigError(f"top cannot draw on TERM={os.environ.get('TERM', '')!r}; use 'status'")
    # The terminal's size as the kernel has it, at the start and as it is
    # resized: curses would take LINES/COLUMNS instead, which a shell or tmux
    # may have exported at another size.
    for variable in ("LINES", "COLUMNS"):
        os.environ.pop(variable, None)
    try:
        curses.wrapper(lambda screen: View(screen, watch, actor).run())
    except curses.error as exc:
        raise ConfigError(f"top cannot draw on this terminal ({exc}); use 'status'") from None


class View:
    """The curses screen: the list of processes, or one process's output followed."""

    def __init__(self, screen: curses.window, watch: Watch, actor: Actor) -> None:
        self.screen = screen
        self.watch = watch
        self.actor = actor
        self.selected = 0
        self.following: str | None = None  # the process name whose output is shown
        self.message = ""

    def run(self) -> None:
        curses.use_default_colors()
        with contextlib.suppress(curses.error):  # a terminal that cannot hide it shows it
            curses.curs_set(0)
        self.screen.timeout(int(REFRESH * 1000))
        while True:
            rows = self.watch.look()
            self.draw(rows)
            key = self.screen.getch()
            if not self.handle(key, rows):
                return

    def handle(self, key: int, rows: list[Row]) -> bool:
        """Act on ``key``; return False to leave."""
        if self.following is not None:
            if key in (ord("q"), 27, 10, 13, curses.KEY_ENTER):
                self.following = None
            return True
        if key == ord("q"):
            return False
        if key in (curses.KEY_DOWN, ord("j")):
            self.selected = min(self.selected + 1, len(rows) - 1)
        elif key in (curses.KEY_UP, ord("k")):
            self.selected = max(self.selected - 1, 0)
        elif rows and key in (10, 13, curses.KEY_ENTER):
            self.following = rows[self.selected].state.name
        elif rows and key in (ord("s"), ord("x"), ord("r")):
            action = {ord("s"): "start", ord("x"): "stop", ord("r"): "restart"}[key]
            name = rows[self.selected].state.namespec
            try:
                self.actor.act(action, name)
                self.message = f"{name}: {action} asked"
            except DjsupervisorError as exc:
                self.message = str(exc)
        return True

    def draw(self, rows: list[Row]) -> None:
        height, width = self.screen.getmaxyx()
        self.screen.erase()
        if self.following is not None:
            lines = self.watch.followed(self.following)[-(height - 2) :]
            self._line(0, f"{self.following}: its output ({FOLLOW_KEYS})", curses.A_REVERSE, width)
            for number, text in enumerate(lines, start=1):
                self._line(number, text, curses.A_NORMAL, width)
        else:
            self.selected = min(self.selected, max(len(rows) - 1, 0))
            laid = lay_out(rows, time.time(), width)
            self._line(0, laid[0], curses.A_BOLD, width)
            first = max(0, self.selected - (height - 4))  # keep the selected row in sight
            for number, text in enumerate(laid[1 + first : height - 2 + first], start=1):
                chosen = number - 1 + first == self.selected
                self._line(number, text, curses.A_REVERSE if chosen else curses.A_NORMAL, width)
            self._line(height - 1, self.message or KEYS, curses.A_DIM, width)
        self.screen.refresh()

    def _line(self, y: int, text: str, attribute: int, width: int) -> None:
        with contextlib.suppress(curses.error):  # shrunk meanwhile: whole at the next refresh
            self.screen.addnstr(y, 0, text, width - 1, attribute)
