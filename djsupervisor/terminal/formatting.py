"""How the foreground and ``logs`` show lines: prefixed, aligned, coloured, quiet.

supervisord's own log lines are rewritten for a person at a terminal: no
timestamp or level on lines that report normal events (a program started,
stopped, ran once), nothing about djsupervisor's internal programs, and
warnings only for what deserves one. The log file keeps supervisord's words.
"""

from __future__ import annotations

import codecs
import errno
import os
import re
import time
from collections.abc import Collection, Iterable
from typing import IO

SUPERVISORD = "supervisord"  # the prefix of supervisord's own lines
DJSUPERVISOR = "djsupervisor"  # the prefix of djsupervisor's notices
COLORS = (36, 33, 32, 35, 34, 96, 93, 92, 95, 94)  # ANSI foreground colours for names
SEPARATOR = "|"
PROMPT = re.compile(r"(\(Pdb\+*\)|ipdb>|>>>) ?$")  # a debugger waiting for a line
# What a program may write that would act on the terminal rather than show:
# escape sequences (but colour: SGR, as 'less -R' lets through), C0 and C1
# control characters but a tab. A sequence that moves the cursor, clears the
# screen or sets the window's title would scramble the other programs' lines.
CONTROL = re.compile(r"\x1b\[[0-9;:]*m|[\x00-\x08\x0b-\x1f\x7f-\x9f]")
RESET = "\033[0m"  # ends a colour a program's line left on, before the next line's label
LOG_LINE = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d+ (\w+) (.*)$")
# supervisord's messages, as said quietly; None: not worth a line.
QUIET = (
    (re.compile(r"^spawned: '(?P<name>[^']+)' with pid (\d+)$"), "{name} started (pid {1})"),
    (re.compile(r"^success: (?P<name>\S+) entered RUNNING state.*$"), "{name} is running"),
    (re.compile(r"^stopped: (?P<name>\S+) \(.*\)$"), "{name} stopped"),
    (
        re.compile(r"^exited: (?P<name>\S+) \(exit status (\d+); expected\)$"),
        "{name} exited (status {1})",
    ),
    (
        re.compile(r"^exited: (?P<name>\S+) \((.*); not expected\)$"),
        "warning: {name} exited unexpectedly ({1})",
    ),
    (re.compile(r"^Supervisor is running as root\..*$"), "running as root"),
    (re.compile(r"^supervisord started with pid (\d+)$"), "started (pid {0})"),
    (re.compile(r"^RPC interface '.*' initialized$"), None),
    (re.compile(r"^(set current directory|daemonizing).*$"), None),
    (re.compile(r"^waiting for (?P<name>\S+) to (stop|die)$"), None),
)
# What supervisord's HTTP server prints (not logs) when a client went away
# before its answer: a call given up, a 'status' interrupted, a page closed.
# Nothing is wrong with supervisord.
CLIENT_GONE = re.compile(
    r"^error: uncaptured python exception, closing channel <supervisor\.http\.\w+ .*"
    rf"\(<class '\w+'>:\[Errno ({errno.EPIPE}|{errno.ECONNRESET}|{errno.EBADF})\] "
)


def use_color(stream: IO[str]) -> bool:
    """Colour only a terminal, and only if the user has not asked for none (no-color.org)."""
    return stream.isatty() and not os.environ.get("NO_COLOR")


def quiet(line: str, internal: Collection[str] = ()) -> str | None:
    """Return supervisord's log ``line`` as the console shows it, or None to leave it out."""
    found = LOG_LINE.match(line)
    if not found:
        # Not a log line: a traceback, a usage error, or the HTTP server's.
        return None if CLIENT_GONE.match(line) else line
    level, message = found.groups()
    for pattern, quieter in QUIET:
        match = pattern.match(message)
        if match:
            if quieter is None or match.groupdict().get("name") in internal:
                return None
            return quieter.format(*match.groups(), **match.groupdict())
    return message if level in ("INFO", "DEBG", "TRAC", "BLAT") else f"{level.lower()}: {message}"


def visible(text: str) -> str:
    """Return ``text`` with whatever would act on the terminal shown instead, colours kept.

    An escape that is no colour shows as ``^[`` followed by the rest of the
    sequence as text, other controls in caret notation (``^G``), as ``less
    -R`` shows them. A carriage return rewrites a line on a terminal (a
    progress bar): what follows the last one is what would be left to see.
    """
    if not CONTROL.search(text):
        return text  # nearly every line
    text = text.rstrip("\r").rpartition("\r")[2]
    coloured = False

    def show(match: re.Match[str]) -> str:
        nonlocal coloured
        found = match.group()
        if len(found) > 1:  # a colour, or the end of one
            coloured = found not in ("\x1b[m", RESET)
            return found
        if found == "\x7f":
            return "^?"
        if found < " ":
            return f"^{chr(ord(found) + 64)}"
        return f"<U+{ord(found):04X}>"

    shown = CONTROL.sub(show, text)
    return f"{shown}{RESET}" if coloured else shown


class Formatter:
    """Prefix lines with their program's name, aligned, and colour them on request.

    Both streams look alike: Django and gunicorn write normal lines to stderr.
    """

    def __init__(self, names: Iterable[str], color: bool, timestamps: bool = False) -> None:
        self.width = max(len(name) for name in [SUPERVISORD, DJSUPERVISOR, *names])
        self.color = color
        self.timestamps = timestamps
        self._colors: dict[str, int] = {}

    def line(self, name: str, text: str, when: float | None = None) -> str:
        label = f"{name:<{self.width}}"
        if self.color:
            color = self._colors.setdefault(name, COLORS[len(self._colors) % len(COLORS)])
            label = f"\033[{color}m{label}\033[0m"
        stamp = time.strftime("%H:%M:%S ", time.localtime(when)) if self.timestamps else ""
        return f"{stamp}{label} {SEPARATOR} {visible(text)}\n"


class Stream:
    """Cut one stream of bytes into whole lines of text.

    A multi-byte character split between two chunks is decoded whole, and
    bytes that are not UTF-8 become replacement characters in their line.
    """

    def __init__(self) -> None:
        self.decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        self.pending = ""
        self.since = 0.0  # when the unfinished line began

    def feed(self, data: bytes) -> list[str]:
        if not self.pending:
            self.since = time.monotonic()
        *lines, self.pending = (self.pending + self.decoder.decode(data)).split("\n")
        if lines and self.pending:
            self.since = time.monotonic()
        return lines

    def take_pending(self) -> str:
        pending, self.pending = self.pending, ""
        return pending

    def prompting(self) -> bool:
        """Tell whether the unfinished line is a debugger's prompt, waiting for input."""
        return bool(self.pending) and bool(PROMPT.search(self.pending))
