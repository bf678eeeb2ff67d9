"""Parse and write supervisord's ini dialect.

Sections are plain ``dict[str, dict[str, str]]`` so that merging stays ordinary
Python. Parsing uses the same ``configparser`` flags as supervisor itself, so a
file means the same thing to djsupervisor as it would to supervisord.
"""

from __future__ import annotations

import configparser
import re

from ..errors import ParseError

Sections = dict[str, dict[str, str]]

# A '%' that supervisord will expand: '%%' or '%(name)s'-style formats such as
# '%(program_name)s' or '%(process_num)02d'. Every other '%' was meant literally.
_EXPANSION = re.compile(r"%(?:%|\([^)]*\)[#0\- +]*\d*(?:\.\d+)?[a-zA-Z])")
_PERCENT_OR_EXPANSION = re.compile(_EXPANSION.pattern + "|%")


def _parser() -> configparser.RawConfigParser:
    # Match supervisor.options.UnhosedConfigParser on Python 3.
    return configparser.RawConfigParser(
        inline_comment_prefixes=(";", "#"), strict=False, interpolation=None
    )


def parse(text: str, source: str) -> Sections:
    """Parse ini ``text``; name ``source`` (a path) and the line in any error."""
    parser = _parser()
    try:
        parser.read_string(text, source)
    except configparser.MissingSectionHeaderError as exc:
        raise ParseError(
            f"{source}, line {exc.lineno}: text before the first [section] "
            f"header: {_line(text, exc.lineno)!r}"
        ) from None
    except configparser.ParsingError as exc:
        lineno = exc.errors[0][0]
        raise ParseError(
            f"{source}, line {lineno}: cannot parse {_line(text, lineno)!r}; "
            "expected 'name = value' or a [section] header"
        ) from None
    except configparser.Error as exc:
        raise ParseError(f"{source}: {exc.message}") from None
    return {name: dict(parser.items(name)) for name in parser.sections()}


def _line(text: str, lineno: int) -> str:
    # configparser's own copy of the line is repr()-ed on some Pythons.
    return text.splitlines()[lineno - 1].strip()


def escape_literal_percents(value: str) -> str:
    """Double every '%' in ``value`` that supervisord must not expand."""
    return _PERCENT_OR_EXPANSION.sub(
        lambda match: match[0] if _EXPANSION.fullmatch(match[0]) else "%%", value
    )


def dump(sections: Sections) -> str:
    """Return ``sections`` as supervisord.conf text."""
    chunks = []
    for name, options in sections.items():
        lines = [f"[{name}]"]
        for key, value in options.items():
            # Continuation lines (e.g. a multi-line environment=) stay indented.
            value = escape_literal_percents(value).replace("\n", "\n    ")
            lines.append(f"{key}={value}")
        chunks.append("\n".join(lines) + "\n")
    return "\n".join(chunks)
