"""Env-file values reach the program exactly as written, and no message ever shows one (SPEC 11).

Each program here dumps the bytes of its environment to a file, so a value is
compared byte for byte: under ``-d``, in the foreground and through ``run``.
"""

from __future__ import annotations

import json
import signal
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from ..support import WAIT, wait_for
from .conftest import Project, Result

pytestmark = pytest.mark.integration

# Writes its environment's bytes (hex, by name) to the file named first; --stay then sleeps.
DUMP = """
import json, os, sys, time
out = sys.argv[1]
with open(out + ".tmp", "w") as f:
    json.dump({k.decode("latin-1"): v.hex() for k, v in os.environb.items()}, f)
os.replace(out + ".tmp", out)
if "--stay" in sys.argv:
    time.sleep(1000)
"""
BIG = ("0123456789 %(x)s %% ;#', " * 500)[:10240]  # 10 kB of what supervisord reads specially
# name -> (its line in .env, the value the program must get)
DOTENV = {
    "P": ("P=a%%b", "a%%b"),
    "Q": ("Q=x%(ENV_HOME)sy", "x%(ENV_HOME)sy"),
    "PW": ("PW=Sup3r%(pw)s", "Sup3r%(pw)s"),
    "R": ("R=100%", "100%"),
    "S": ('S="abc #123"', "abc #123"),
    "T": ('T="abc ;456"', "abc ;456"),
    "T2": ("export T2=abc ;456", "abc ;456"),
    "U": ("U='it\"s'", 'it"s'),
    "V": ('V="both \' and \\" quotes, a comma"', "both ' and \" quotes, a comma"),
    "W": ('W="two\\nlines and a back\\\\slash"', "two\nlines and a back\\slash"),
    "X": ("X='C:\\new\\table'", "C:\\new\\table"),
    "Y": ("Y=a\\b\\\\c", "a\\b\\\\c"),
    "EDGE": ("EDGE=\"'starts and ends with quotes'\"", "'starts and ends with quotes'"),
    "UNI": ('UNI="héllo wörld ✓ 日本 🎉"', "héllo wörld ✓ 日本 🎉"),
    "BIG": (f'BIG="{BIG}"', BIG),
    "REF": ('REF="${P}+${R}"', "a%%b+100%"),
    "MODE": ("MODE=from-dotenv", "explicit"),  # the program's own environment= wins
}
OWN = {"E2": ("E2=50%;#x # a comment", "50%;#x")}  # the program's environment_file
WEB = """
[supervisord]
environment=R="from supervisord"

[program:web]
command={{ PYTHON }} dump.py seen.json --stay
environment_file=own.env
environment=MODE="explicit"
"""


def write_project(project: Project) -> dict[str, str]:
    """Write the project; return the variables the program must get."""
    project.write("dump.py", DUMP)
    project.write("supervisord.conf", WEB)
    (project.path / ".env").write_text(
        "# secrets\n" + "\n".join(line for line, _ in DOTENV.values()) + "\n", encoding="utf-8"
    )
    (project.path / "own.env").write_text(
        "\n".join(line for line, _ in OWN.values()) + "\n", encoding="utf-8"
    )
    return {key: value for key, (_, value) in {**DOTENV, **OWN}.items()}


def seen(path: Path) -> dict[str, bytes]:
    """Return the environment a dump.py wrote to ``path``, once it has."""
    wait_for(path.exists, f"{path.name} to be written")
    return {k: bytes.fromhex(v) for k, v in json.loads(path.read_text()).items()}


def assert_received(got: dict[str, bytes], expected: dict[str, str]) -> None:
    wrong = {k for k, v in expected.items() if got.get(k) != v.encode()}
    assert not wrong, {k: (got.get(k, b"")[:80], expected[k][:80]) for k in sorted(wrong)}


def assert_clean(result: Result | str, *secrets: str) -> None:
    """Assert a command's output holds no traceback and none of ``secrets``."""
    text = result if isinstance(result, str) else result.stdout + result.stderr
    assert "Traceback" not in text, text
    for secret in secrets:
        assert secret not in text, (secret, text)


def test_env_file_values_reach_a_daemonized_program_byte_for_byte(project: Project) -> None:
    expected = write_project(project)
    started = project.run("-d")
    assert started.returncode == 0, started.stderr
    assert_clean(started, BIG, "Sup3r")
    assert_received(seen(project.path / "seen.json"), expected)
    # None of the values is in the config supervisord reads; a private file holds them.
    rendered = (project.runtime_dir() / "supervisord.conf").read_text()
    assert not [key for key, value in expected.items() if value in rendered and key != "MODE"]
    variables = project.runtime_dir() / "environment.json"
    assert stat.S_IMODE(variables.stat().st_mode) == 0o600


@pytest.mark.parametrize("key", ["P", "Q", "S", "T2", "W"])
def test_each_value_supervisord_would_change_reaches_the_program(
    project: Project, key: str
) -> None:
    line, expected = DOTENV[key]
    project.write("dump.py", DUMP)
    project.write(
        "supervisord.conf", "[program:web]\ncommand={{ PYTHON }} dump.py seen.json --stay\n"
    )
    project.write(".env", line + "\n")
    started = project.run("-d")
    assert started.returncode == 0, started.stderr
    assert seen(project.path / "seen.json")[key] == expected.encode()


def test_env_file_values_reach_a_foreground_program_byte_for_byte(project: Project) -> None:
    expected = write_project(project)
    command = project.start_foreground("--noreload", stdout=subprocess.PIPE)
    assert_received(seen(project.path / "seen.json"), expected)
    command.send_signal(signal.SIGTERM)
    output, _ = command.communicate(timeout=WAIT)
    assert command.returncode == 0
    assert_clean(output, BIG, "Sup3r")


def test_env_file_values_reach_a_command_run_as_the_program_byte_for_byte(
    project: Project,
) -> None:
    expected = write_project(project)
    target = project.path / "ran.json"
    ran = project.run("run", "web", sys.executable, "dump.py", str(target))
    assert ran.returncode == 0, ran.stderr
    assert_clean(ran, BIG, "Sup3r")
    assert_received(seen(target), expected)


def test_getconfig_masks_the_values_and_shows_them_when_asked(project: Project) -> None:
    expected = write_project(project)
    masked = project.run("getconfig")
    assert masked.returncode == 0, masked.stderr
    assert_clean(masked, BIG, "Sup3r", "abc #123")
    assert 'PW="********"' in masked.stdout and 'MODE="explicit"' in masked.stdout
    shown = project.run("getconfig", "--show-secrets")
    assert shown.returncode == 0, shown.stderr
    for key in ("PW", "S", "BIG", "UNI"):  # as JSON strings
        assert f"{key}={json.dumps(expected[key], ensure_ascii=False)}" in shown.stdout
    check = project.run_manage("check")
    assert check.returncode == 0, check.stderr
    assert_clean(check, BIG, "Sup3r")


def test_update_restarts_only_the_program_whose_variables_changed(project: Project) -> None:
    project.write("dump.py", DUMP)
    project.write(".env", "SHARED=100%\n")
    project.write("one.env", "ONE=a #1\n")
    project.write(
        "supervisord.conf",
        "[program:one]\ncommand={{ PYTHON }} dump.py one.json --stay\nenvironment_file=one.env\n"
        "[program:two]\ncommand={{ PYTHON }} dump.py two.json --stay\n",
    )
    assert project.run("-d").returncode == 0
    before = project.wait_running("one", "two")
    assert seen(project.path / "one.json")["ONE"] == b"a"
    (project.path / "one.json").unlink()
    project.write("one.env", 'ONE="a #2%"\n')
    updated = project.run("update")
    assert updated.returncode == 0, updated.stdout + updated.stderr
    assert_clean(updated, "a #2%")
    assert seen(project.path / "one.json")["ONE"] == b"a #2%"
    after = project.wait_running("one", "two")
    assert after["two"] == before["two"] and after["one"] != before["one"]
    (project.path / "two.json").unlink()
    assert project.run("reload").returncode == 0  # supervisord reads everything anew
    assert seen(project.path / "two.json")["SHARED"] == b"100%"


MALFORMED = """
[program:web]
command=sleep 1000
environment=X="unclosed
"""
DOTENV_SECRET = "dotenv-secret-value"


def test_a_malformed_environment_is_the_same_error_with_or_without_dotenv(
    project: Project,
) -> None:
    project.write("supervisord.conf", MALFORMED)
    commands = [
        ("check",),
        ("migrate",),
        ("supervisor", "getconfig"),
        ("supervisor", "-d"),
        ("supervisor", "run", "web", "true"),
    ]
    without = [project.run_manage(*command) for command in commands]
    project.write(".env", f"TOKEN={DOTENV_SECRET}\n")
    with_dotenv = [project.run_manage(*command) for command in commands]
    for command, alone, along in zip(commands, without, with_dotenv, strict=True):
        assert_clean(along, DOTENV_SECRET)
        assert (along.returncode, along.stderr) == (alone.returncode, alone.stderr), command
        assert along.returncode == 1, command
        assert "No closing quotation in section 'program:web'" in along.stderr, along.stderr
        if command[0] == "supervisor":
            assert len(along.stderr.strip().splitlines()) == 1, along.stderr


NUL_SECRET = "nul-secret"


def test_a_nul_byte_in_a_value_is_an_error_naming_file_line_and_variable(
    project: Project,
) -> None:
    project.write("supervisord.conf", "[program:web]\ncommand=sleep 1000\n")
    (project.path / ".env").write_bytes(f"A=fine\nexport BAD={NUL_SECRET}\0here\n".encode())
    check = project.run_manage("check")
    assert check.returncode == 1
    assert_clean(check, NUL_SECRET)
    assert "djsupervisor.E016" in check.stderr
    assert f"{project.path / '.env'}, line 2: BAD" in check.stderr and "NUL" in check.stderr
    for command in (("-d",), ("getconfig",), ("run", "web", "true")):
        failed = project.run(*command)
        assert failed.returncode == 1, failed.stdout
        assert_clean(failed, NUL_SECRET)
        assert len(failed.stderr.strip().splitlines()) == 1, failed.stderr
        assert ".env, line 2: BAD" in failed.stderr, failed.stderr
    assert project.config_or_none() is None


SECRET = "hunter2-never-printed"


@pytest.mark.parametrize(
    "dotenv",
    [
        f'TOKEN "{SECRET}"\n',  # not KEY=value
        f"A=1\nTOKEN='{SECRET}\n",  # no closing quote
        f'TOKEN="{SECRET}" trailing\n',  # text after the closing quote
    ],
)
def test_an_unreadable_line_is_an_error_without_its_text(project: Project, dotenv: str) -> None:
    project.write("supervisord.conf", "[program:web]\ncommand=sleep 1000\n")
    project.write(".env", dotenv)
    line = dotenv.count("\n", 0, dotenv.index("TOKEN")) + 1
    for result in (
        project.run_manage("check"),
        project.run("getconfig"),
        project.run("-d"),
        project.run("run", "web", "true"),
    ):
        assert result.returncode == 1
        assert_clean(result, SECRET)
        assert f".env, line {line}" in result.stderr, result.stderr


def test_a_supervisord_expansion_in_a_value_fails_no_command(project: Project) -> None:
    project.write("dump.py", DUMP)
    project.write(
        "supervisord.conf", "[program:web]\ncommand={{ PYTHON }} dump.py seen.json --stay\n"
    )
    project.write(".env", "PW=Sup3r%(pw)s\nR=100%\n")
    for result in (
        project.run_manage("check"),
        project.run("getconfig"),
        project.run("run", "web", "true"),
        project.run("-d"),
    ):
        assert result.returncode == 0, result.stderr
        assert_clean(result, "Sup3r", "100%")
    got = seen(project.path / "seen.json")
    assert (got["PW"], got["R"]) == (b"Sup3r%(pw)s", b"100%")
