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
import unicodedata
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from ..clock import Clock
from ..errors import ConfigError, DjsupervisorError
from ..journal import read_on
from ..proctable import GroupUsage
from ..protocol import ProcessState
from .logs import Assembler

REFRESH = 1.0  # seconds between looks at supervisord, /proc and the journal
MESSAGE_TIME = 3.0  # seconds an action's message stays before the keys' help is back
UNANSWERED_LIMIT = 10.0  # seconds top waits for supervisord to answer again (a reload)
FOLLOWED_LINES = 1000  # lines kept per process for following it
KEYS = "up/down select  s start  x stop  r restart  enter follow  q quit"
FOLLOW_KEYS = "enter or q: back to the list"
HEADINGS = ("NAME", "STATE", "PID", "UPTIME", "CPU%", "MEM", "RESTARTS", "READY", "LAST LINE")
# 0: as wide as the longest (READY at most READY_WIDTH); the last line takes the rest.
WIDTHS = (0, 9, 8, 11, 6, 8, 8, 0)
READY_WIDTH = 30  # characters: a long failure leaves room for the last line
MEBIBYTE = 1024 * 1024
ENTER_KEYS = (10, 13, curses.KEY_ENTER)  # line feed, carriage return, keypad enter
ESCAPE_KEY = 27
ACTION_KEYS = {ord("s"): "start", ord("x"): "stop", ord("r"): "restart"}


@dataclass
class Row:
    """One process as the view shows it."""

    state: ProcessState
    cpu: float | None  # percent of one core since the last look; None on the first
    memory: int | None  # bytes resident, its process group's
    last: str  # the last line it wrote


class States(Protocol):
    """Where the processes' states come from: the client."""

    def process_states(self) -> list[ProcessState]: ...


@dataclass
class Watch:
    """What the view shows, looked at again on each refresh."""

    supervisor: States
    journal: Path
    clock: Clock = time
    cursor: str | None = None
    lines: dict[str, collections.deque[str]] = field(default_factory=dict)
    assembler: Assembler = field(default_factory=lambda: Assembler(None))
    # By (pid, start): when each process was last looked at, and its CPU ticks then.
    ticks: dict[tuple[int, int], tuple[float, int]] = field(default_factory=dict)
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
        ticks: dict[tuple[int, int], tuple[float, int]] = {}
        for state in states:
            used = usage.get(state.pid) if state.pid else None
            cpu = None
            if used is not None:
                key = (state.pid, state.started)
                ticks[key] = (now, used.cpu_ticks)
                if key in self.ticks and now > self.ticks[key][0]:
                    then, before = self.ticks[key]
                    # Not below 0: a member reaped outside the group takes its time along.
                    cpu = max(100 * (used.cpu_ticks - before) / tick / (now - then), 0.0)
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
    """Return a duration as supervisord shows uptimes, days shortened: '0:01:02', '3d 4:05:06'."""
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
    """Return the heading and one line per row, in columns, cut to ``width`` columns."""
    table = [list(HEADINGS), *([printable(cell) for cell in cells(row, now)] for row in rows)]
    widths = [w or max(len(line[n]) for line in table) for n, w in enumerate(WIDTHS)]
    widths[HEADINGS.index("READY")] = min(widths[HEADINGS.index("READY")], READY_WIDTH)
    laid = []
    for line in table:
        text = "  ".join(cell[:w].ljust(w) for cell, w in zip(line, widths, strict=False))
        laid.append(fit(f"{text}  {line[-1]}", width))
    return laid


def printable(text: str) -> str:
    """Return ``text`` as one screen line: tabs as spaces, other control characters as '?'."""
    text = text.expandtabs(4)
    if text.isprintable():
        return text
    return "".join(c if c.isprintable() else "?" for c in text)


def fit(text: str, width: int) -> str:
    """Return the start of ``text`` that takes at most ``width`` columns (wide characters two)."""
    if text.isascii():
        return text[:width]
    used = 0
    for end, character in enumerate(text):
        used += 2 if unicodedata.east_asian_width(character) in "WF" else 1
        if used > width:
            return text[:end]
    return text


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
        self.rows: list[Row] = []
        self.selected = 0
        self.chosen: str | None = None  # the selected process's namespec: it keeps the selection
        self.following: str | None = None  # the process name whose output is shown
        self.message = ""
        self.message_until = 0.0  # monotonic time the message gives way to the keys' help
        self.looked = -REFRESH  # monotonic time of the last look
        self.unanswered_since: float | None = None  # monotonic time supervisord stopped answering

    def run(self) -> None:
        """Look and draw once a second, and act on each key, until 'q'."""
        with contextlib.suppress(curses.error):  # a terminal that cannot hide it shows it
            curses.curs_set(0)
        clock = self.watch.clock
        while True:
            if clock.monotonic() - self.looked >= REFRESH:
                self.look()
            self.draw()
            wait = REFRESH - (clock.monotonic() - self.looked)
            self.screen.timeout(max(int(wait * 1000), 0))
            if not self.handle(self.screen.getch()):
                return

    def look(self) -> None:
        """Look again; where supervisord does not answer, say so, and give up after a while."""
        now = self.watch.clock.monotonic()
        self.looked = now
        try:
            self.rows = self.watch.look()
        except DjsupervisorError as exc:
            if self.unanswered_since is None:
                self.unanswered_since = now
            if now - self.unanswered_since > UNANSWERED_LIMIT:
                raise
            self.tell(f"supervisord does not answer ({exc}); q quits")
            return
        self.unanswered_since = None
        names = [row.state.namespec for row in self.rows]
        if self.chosen in names:
            self.selected = names.index(self.chosen)
        self.select(self.selected)

    def select(self, index: int) -> None:
        self.selected = max(0, min(index, len(self.rows) - 1))
        self.chosen = self.rows[self.selected].state.namespec if self.rows else None

    def tell(self, message: str) -> None:
        self.message = message
        self.message_until = self.watch.clock.monotonic() + MESSAGE_TIME

    def handle(self, key: int) -> bool:
        """Act on ``key`` (-1: none came in time); return False to leave."""
        if self.following is not None:
            if key in (ord("q"), ESCAPE_KEY, *ENTER_KEYS):
                self.following = None
            return True
        if key == ord("q"):
            return False
        if key in (curses.KEY_DOWN, ord("j")):
            self.select(self.selected + 1)
        elif key in (curses.KEY_UP, ord("k")):
            self.select(self.selected - 1)
        elif self.rows and key in ENTER_KEYS:
            self.following = self.rows[self.selected].state.name
        elif self.rows and key in ACTION_KEYS:
            action, name = ACTION_KEYS[key], self.rows[self.selected].state.namespec
            try:
                self.actor.act(action, name)
                self.tell(f"{name}: {action} asked")
            except DjsupervisorError as exc:
                self.tell(str(exc))
            self.looked = -REFRESH  # look at once: the row follows what was asked
        return True

    def draw(self) -> None:
        """Draw the list, or the followed process's last lines, to the screen's size."""
        height, width = self.screen.getmaxyx()
        self.screen.erase()
        if self.following is not None:
            lines = self.watch.followed(self.following)[-max(height - 1, 1) :]
            self._line(0, f"{self.following}: its output ({FOLLOW_KEYS})", curses.A_REVERSE, width)
            for number, text in enumerate(lines[: height - 1], start=1):
                self._line(number, printable(text), curses.A_NORMAL, width)
        else:
            laid = lay_out(self.rows, time.time(), width)  # uptimes from start stamps
            self._line(0, laid[0], curses.A_BOLD, width)
            shown = max(height - 2, 0)  # rows between the heading and the keys' line
            first = max(0, self.selected - shown + 1)  # keep the selected row in sight
            for number, text in enumerate(laid[1 + first : 1 + first + shown], start=1):
                chosen = number - 1 + first == self.selected
                self._line(number, text, curses.A_REVERSE if chosen else curses.A_NORMAL, width)
            if self.watch.clock.monotonic() >= self.message_until:
                self.message = ""
            self._line(height - 1, self.message or KEYS, curses.A_DIM, width)
        self.screen.refresh()

    def _line(self, y: int, text: str, attribute: int, width: int) -> None:
        with contextlib.suppress(curses.error):  # shrunk meanwhile: whole at the next refresh
            self.screen.addstr(y, 0, fit(text, width - 1), attribute)
