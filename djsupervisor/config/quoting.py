"""Keep the paths the template context provides whole on a command line.

``command={{ PYTHON }} {{ PROJECT_DIR }}/manage.py runserver`` must work when
a path holds a space or a quote. supervisord splits ``command`` into words as
a POSIX shell would (``shlex``), so there the paths must be quoted; anywhere
else (``directory=``, a log file, a ``templated`` copy) they must stay as
they are. The context gives them marked; once the file is parsed, each value
is unmarked: in a command, quoted as its place in the line needs (bare, or
inside the user's own quotes); elsewhere, plain.
"""

from __future__ import annotations

import re
import shlex

OPEN, CLOSE = "\ue000", "\ue001"  # Unicode private-use characters: in no real path
_MARKED = re.compile(f"{OPEN}(.*?){CLOSE}", re.DOTALL)


def mark(value: str) -> str:
    """Return ``value`` marked as a path from the context."""
    return f"{OPEN}{value}{CLOSE}"


def unmark(text: str) -> str:
    """Return ``text`` with its marked paths as they are."""
    return _MARKED.sub(lambda match: match[1], text)


def unmark_command(command: str) -> str:
    """Return ``command`` with its marked paths quoted for where they stand in it."""
    out: list[str] = []
    quote = ""  # the quote character the scan is inside, if any
    index = 0
    while index < len(command):
        char = command[index]
        if char == OPEN:
            end = command.index(CLOSE, index)
            out.append(_quoted(command[index + 1 : end], quote))
            index = end + 1
            continue
        if char == "\\" and quote != "'" and index + 1 < len(command):
            out.append(command[index : index + 2])  # an escaped character
            index += 2
            continue
        if char in "'\"" and quote in ("", char):
            quote = "" if quote else char
        out.append(char)
        index += 1
    return "".join(out)


def _quoted(value: str, quote: str) -> str:
    if quote == '"':
        return value.replace("\\", "\\\\").replace('"', '\\"')
    if quote == "'":
        return value.replace("'", "'\"'\"'")
    return shlex.quote(value)
