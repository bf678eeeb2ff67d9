"""The help of manage.py supervisor: the command list, each command's --help, --version."""

from __future__ import annotations

import argparse
import io
import re

import pytest
from django.core.management import call_command

from djsupervisor import __version__
from djsupervisor.management.commands.supervisor import Command
from djsupervisor.usage import SUBCOMMANDS, Subcommand, help_of, wants_help

NAMES = [subcommand.name for subcommand in SUBCOMMANDS]


def test_the_help_lists_every_command_in_one_line() -> None:
    text = Command().create_parser("manage.py", "supervisor").format_help()
    listed = [line.split()[0] for line in text.splitlines() if line.startswith("  ")]
    for name in ["run", "logs", "export", "attach", "getconfig", "shell", "status", "tail"]:
        assert name in listed
    assert set(NAMES) <= set(listed)
    assert re.search(r"-o( PROG)?, --only PROG", text)  # Python 3.13 names PROG once


@pytest.mark.parametrize("name", NAMES)
def test_each_command_describes_its_usage_and_options(name: str) -> None:
    text = help_of(name)
    assert text.startswith(f"usage: manage.py supervisor {name}")
    assert "-h, --help" in text


@pytest.mark.parametrize(
    "subcommand", [s for s in SUBCOMMANDS if s.parses_words], ids=lambda s: s.name
)
def test_the_usage_line_names_every_option_its_parser_takes(subcommand: Subcommand) -> None:
    # A prog of its own: the default, sys.argv[0], is '-c' in a pytest-xdist worker.
    parser = argparse.ArgumentParser(prog="supervisor", add_help=False)
    assert subcommand.add_arguments is not None
    subcommand.add_arguments(parser)
    flags = {word.strip("[]") for word in parser.format_usage().split() if "-" in word[:2]}
    assert flags <= set(subcommand.arguments.replace("[", " ").replace("]", " ").split())


def test_help_is_the_first_word_where_the_words_go_on() -> None:
    assert wants_help("export", ["--help"]) and wants_help("tail", ["-h"])
    assert wants_help("logs", ["-f", "--help"])  # djsupervisor reads all of logs' words
    assert not wants_help("run", ["web", "python", "--help"])  # the command's own --help
    assert not wants_help("shell", ["tail", "--help"])
    assert not wants_help("nosuchcommand", ["--help"]) and not wants_help("status", [])


def test_help_through_the_command_and_its_version() -> None:
    out = io.StringIO()
    call_command("supervisor", "export", "--help", stdout=out)
    assert "--output DIR" in out.getvalue()
    assert Command().get_version() == __version__
