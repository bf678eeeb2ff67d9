"""Environment files mean to djsupervisor what they mean to python-dotenv; errors show no value."""

from __future__ import annotations

import io
import os

import pytest
from dotenv import dotenv_values

from djsupervisor.config.dotenv import parse
from djsupervisor.errors import EnvFileError

# Files python-dotenv reads without a complaint: quotes, escapes, comments,
# export, ${VAR} (also in single quotes), line endings, a BOM.
READABLE = [
    "A=1\nB=two words\n",
    "export A=1\n  export   B='2'\n",
    "A=value # a comment\nB=value#not a comment\nC= # empty\n",
    "A='single \\' quote \\\\ and \\n as written'\n",
    'A="double \\" quote \\\\ \\n \\t escapes"\n',
    'A="spans\ntwo lines"\nB=after\n',
    "A=1\nB=${A}2\nC='${B} too'\nD=\"${MISSING:-fallback}\"\nE=${MISSING}\n",
    "A=%(ENV_HOME)s %% 100%\nB='x ;y #z'\n",
    "A=1\r\nB=2\rC=3\n",
    "\ufeffA=bom\n",
    "'QUOTED'=key\nA= spaced  \nB=\n",
    "A=héllo ✓\n# only a comment\n\n\nB=after blank lines\n",
    "NOVALUE\nA=1\n",
]


@pytest.mark.parametrize("text", READABLE)
def test_reads_every_file_as_python_dotenv_does(text: str) -> None:
    expected = dotenv_values(stream=io.StringIO(text))
    assert parse(text, ".env", os.environ) == {k: v for k, v in expected.items() if v is not None}


def test_expands_to_earlier_keys_then_the_given_environment() -> None:
    text = "A=${FROM_ENV}-${B}\nB=b\nC=${B}${FROM_ENV}\n"
    assert parse(text, ".env", {"FROM_ENV": "env", "B": "outer"}) == {
        "A": "env-outer",
        "B": "b",
        "C": "benv",
    }


SECRET = "hunter2"


@pytest.mark.parametrize(
    ("text", "line"),
    [
        (f'A=1\n\n\nTOKEN "{SECRET}"\n', 4),
        (f"# c\nA='x'\nTOKEN='{SECRET}\n", 3),
        (f'A="two\nlines"\n\nTOKEN="{SECRET}" after\n', 4),
        (f"\n\n  TOKEN: {SECRET}\n", 3),
    ],
)
def test_an_unreadable_line_is_named_without_its_text(text: str, line: int) -> None:
    with pytest.raises(EnvFileError) as error:
        parse(text, "/p/.env", {})
    message = str(error.value)
    assert message.startswith(f"/p/.env, line {line}: not a KEY=value line")
    assert SECRET not in message


def test_a_nul_byte_is_named_by_file_line_and_variable_not_value() -> None:
    with pytest.raises(EnvFileError) as error:
        parse(f"A=1\n\nexport TOKEN='{SECRET}\0'\n", "/p/.env", {})
    message = str(error.value)
    assert message.startswith("/p/.env, line 3: TOKEN: the value holds a NUL byte")
    assert SECRET not in message
    with pytest.raises(EnvFileError, match=r"line 1: a variable's name holds a NUL byte"):
        parse("A\0B=1\n", "/p/.env", {})
