from __future__ import annotations

import re

import pytest

from djsupervisor.config import ini
from djsupervisor.errors import ConfigError


def test_parse_strips_inline_comments_like_supervisor() -> None:
    sections = ini.parse(
        "[program:web]\ncommand=run ; a comment\nenvironment=A=1,\n  B=2\n", "x.conf"
    )
    assert sections == {"program:web": {"command": "run", "environment": "A=1,\nB=2"}}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("command=run\n", "x.conf, line 1: text before the first [section] header"),
        (
            "[program:web]\n  \nnot an option line\n",
            "x.conf, line 3: cannot parse 'not an option line'",
        ),
    ],
)
def test_parse_errors_name_file_and_line(text: str, expected: str) -> None:
    with pytest.raises(ConfigError, match="^" + re.escape(expected)):
        ini.parse(text, "x.conf")


@pytest.mark.parametrize(
    ("value", "escaped"),
    [
        ("date +%Y-%m-%d", "date +%%Y-%%m-%%d"),
        ("100%", "100%%"),
        ("%(program_name)s-%(process_num)02d", "%(program_name)s-%(process_num)02d"),
        ("%(ENV_HOME)s and %% kept", "%(ENV_HOME)s and %% kept"),
        ("%(unclosed", "%%(unclosed"),
    ],
)
def test_escape_literal_percents(value: str, escaped: str) -> None:
    assert ini.escape_literal_percents(value) == escaped


def test_dump_round_trips_multiline_values() -> None:
    sections = {"program:web": {"command": "run", "environment": "A=1,\nB=2"}}
    assert ini.parse(ini.dump(sections), "dumped") == sections
