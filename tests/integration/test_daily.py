"""The daily loop: .env, run, logs, program names, the shell, quiet output, a debugger."""

from __future__ import annotations

import contextlib
import os
import pty
import re
import signal
import subprocess
import time

import pytest

from ..support import WAIT, command_lines, wait_for
from .conftest import Project
from .test_foreground import Lines

pytestmark = pytest.mark.integration

SECRET = "s3cr3t, with a comma"
PRINTER = """
[program:printer]
command=sh -c 'echo "token=$TOKEN mode=$MODE extra=$EXTRA"; exec sleep 1000'
environment_file=extra.env
environment=MODE="explicit"
"""


def write_env(project: Project) -> None:
    project.write(".env", f'# the project\'s secrets\nTOKEN="{SECRET}"\nexport MODE=from-dotenv\n')
    project.write("extra.env", "EXTRA=${TOKEN}-more  # a comment\n")
    project.write("supervisord.conf", PRINTER)


def test_env_files_reach_the_programs_and_never_a_command_line(project: Project) -> None:
    write_env(project)
    assert project.run("-d").returncode == 0
    pid = project.wait_running("printer")["printer"]
    line = wait_for(lambda: project.run("tail", "printer").stdout.strip(), "its line")
    assert line == f"token={SECRET} mode=explicit extra={SECRET}-more"
    everything = " ".join(" ".join(argv) for argv in command_lines().values())
    assert SECRET not in everything and pid  # not in any process's command line
    masked = project.run("getconfig").stdout
    assert SECRET not in masked and 'TOKEN="********"' in masked and 'MODE="explicit"' in masked
    assert f'TOKEN="{SECRET}"' in project.run("getconfig", "--show-secrets").stdout


def test_run_a_command_as_a_program_would(project: Project) -> None:
    write_env(project)
    project.write("sub/.keep", "")
    with (project.path / "supervisord.conf").open("a") as conf:
        conf.write("directory=%(here)s/sub\n")
    done = project.run("run", "printer", "sh", "-c", 'echo "$TOKEN|$MODE|$PWD"; exit 7')
    assert done.returncode == 7
    assert done.stdout.strip() == f"{SECRET}|explicit|{project.path / 'sub'}"
    missing = project.run("run", "nope", "true")
    assert (
        missing.returncode == 1 and "run: no program 'nope' (programs: printer)" in missing.stderr
    )


def test_logs_interleave_both_streams_of_every_program_in_time_order(project: Project) -> None:
    project.write(
        "supervisord.conf",
        "[program:first]\ncommand=sh -c 'echo one; sleep 0.4; echo three; exec sleep 1000'\n"
        "[program:second]\ncommand=sh -c 'sleep 0.2; echo two >&2; exec sleep 1000'\n",
    )
    assert project.run("-d").returncode == 0
    expected = ["first        | one", "second       | two", "first        | three"]
    assert wait_for(lambda: project.run("logs").stdout.splitlines() == expected, "the lines")
    assert project.run("logs", "-n", "1").stdout.splitlines() == expected[-1:]
    assert project.run("logs", "second").stdout.splitlines() == ["second       | two"]
    follow = project.start_foreground("logs", "-f", "-n", "1", "first", stdout=subprocess.PIPE)
    assert follow.stdout is not None
    assert follow.stdout.readline().strip() == "first        | three"  # it follows from here
    assert project.run("restart", "first").returncode == 0
    assert follow.stdout.readline().strip() == "first        | one"
    follow.terminate()
    follow.wait(WAIT)
    unknown = project.run("logs", "third")
    assert unknown.returncode == 1 and "no program 'third'" in unknown.stderr


NUMPROCS = """
[program:worker]
command=sleep 1000
numprocs=2
process_name=%(program_name)s_%(process_num)s
"""


def test_a_numprocs_programs_name_means_all_its_processes(project: Project) -> None:
    project.write("supervisord.conf", NUMPROCS)
    assert project.run("-d").returncode == 0
    before = project.wait_running("worker_0", "worker_1")
    restarted = project.run("restart", "worker")
    assert restarted.returncode == 0, restarted.stdout + restarted.stderr
    after = project.wait_running("worker_0", "worker_1")
    assert not set(before.values()) & set(after.values())
    status = project.run("status", "worker")
    assert status.returncode == 0 and len(status.stdout.splitlines()) == 2
    assert project.run("signal", "HUP", "worker").returncode == 0  # sleep dies of it
    wait_for(
        lambda: (
            {info["statename"] for info in project.processes().values()} == {"RUNNING"}
            and not set(after.values()) & {i["pid"] for i in project.processes().values()}
        ),
        "both processes restarted after the signal",
    )
    assert project.run("stop", "worker").returncode == 0
    assert {info["statename"] for info in project.processes().values()} == {"STOPPED"}
    assert project.run("start", "worker").returncode == 0
    assert set(project.wait_running("worker_0", "worker_1")) == {"worker_0", "worker_1"}
    assert project.run("stop", "worker").returncode == 0
    tail = project.run("tail", "worker")
    assert "worker has 2 processes (worker:worker_0, worker:worker_1); name one" in tail.stdout


def test_the_shells_reread_and_update_use_the_current_files(project: Project) -> None:
    project.write("supervisord.conf", "[program:one]\ncommand=sleep 1000\n")
    assert project.run("-d").returncode == 0
    project.wait_running("one")
    project.write(
        "supervisord.conf", "[program:one]\ncommand=sleep 1000\n[program:two]\ncommand=sleep 1000\n"
    )
    shell = subprocess.run(
        project.command("shell"),
        input="reread\nupdate\n",
        capture_output=True,
        text=True,
        cwd=project.path,
        env=project.env,
        timeout=WAIT,
    )
    assert "two: available" in shell.stdout and "two: added process group" in shell.stdout
    project.wait_running("one", "two")


def test_the_foreground_speaks_quietly(project: Project) -> None:
    project.add_settings("DEBUG = True\nSUPERVISOR_CONSOLE_TIMESTAMPS = True\n")
    project.write(
        "supervisord.conf", "[program:web]\ncommand=sh -c 'echo hello >&2; exec sleep 1000'\n"
    )
    command = project.start_foreground(stdout=subprocess.PIPE, text=False)
    assert command.stdout is not None
    output = Lines(command.stdout)
    output.wait_for(r"^\d\d:\d\d:\d\d web +\| hello$")  # stderr, plainly, with the time
    output.wait_for(r"supervisord +\| web is running$")
    command.send_signal(signal.SIGTERM)
    assert command.wait(WAIT) == 0
    text = "\n".join(output.lines)
    assert "supervisord  | web stopped" in text
    assert not re.search(r"\b(CRIT|WARN|INFO)\b", text)  # supervisord's words stay in its log
    assert "autoreload started" not in text and "'autoreload'" not in text
    if os.getuid() == 0:
        assert "running as root" in text


def run_in_terminal(project: Project, *args: str) -> tuple[subprocess.Popen[bytes], int]:
    """Start ``manage.py supervisor ARGS`` on a new pseudo-terminal; return it and its master."""
    master, slave = pty.openpty()
    project.env["NO_COLOR"] = "1"  # a terminal, but lines to match
    process = project.start_foreground(
        *args, stdin=slave, stdout=slave, stderr=slave, text=False, start_new_session=True
    )
    os.close(slave)
    return process, master


class Terminal:
    """What a pseudo-terminal shows, read from a thread-less loop of short reads."""

    def __init__(self, master: int) -> None:
        self.master = master
        self.text = ""

    def wait_for(self, pattern: str) -> str:
        def seen() -> str | None:
            with contextlib.suppress(BlockingIOError):
                self.text += os.read(self.master, 65536).decode(errors="replace")
            found = re.search(pattern, self.text)
            return found[0] if found else None

        os.set_blocking(self.master, False)
        try:
            return wait_for(seen, f"{pattern!r} on the terminal")
        except TimeoutError as exc:
            raise AssertionError(f"{exc}; it shows: {self.text[-2000:]!r}") from None

    def type(self, text: str) -> None:
        os.write(self.master, text.encode())


DEBUGGED = """
[program:dbg]
command={{ PYTHON }} dbg.py
startsecs=0
"""
STOPPING = """
import time

def view():
    x = 41
    breakpoint()
    print("after", x, flush=True)

view()
time.sleep(1000)
"""


def test_typing_at_a_debugger_prompt_in_the_foreground(project: Project) -> None:
    project.write("supervisord.conf", DEBUGGED)
    project.write("dbg.py", STOPPING)
    command, master = run_in_terminal(project)
    terminal = Terminal(master)
    terminal.wait_for(r"dbg +\| \(Pdb\) ")
    terminal.type("p x + 1\n")
    terminal.wait_for(r"dbg +\| 42")
    terminal.type("c\n")
    terminal.wait_for(r"dbg +\| after 41")
    os.killpg(command.pid, signal.SIGTERM)
    assert command.wait(WAIT) == 0
    os.close(master)


def test_attach_from_another_terminal(project: Project) -> None:
    project.write("supervisord.conf", DEBUGGED)
    project.write("dbg.py", STOPPING)
    assert project.run("-d").returncode == 0
    project.wait_running("dbg")
    attach, master = run_in_terminal(project, "attach", "dbg")
    terminal = Terminal(master)
    terminal.wait_for(r"Press Ctrl-C to exit")
    time.sleep(0.5)  # its output thread has connected
    terminal.type("p x + 1\n")
    terminal.wait_for(r"\n42\r?\n")
    terminal.type("\x04")  # end of input, as Ctrl-D in a terminal: attach leaves
    assert attach.wait(WAIT) == 0
    os.close(master)


def test_warnings_are_shown_when_starting(project: Project) -> None:
    project.write(
        "supervisord.conf",
        "[program:web]\ncommand={{ PYTHON }} manage.py runserver 127.0.0.1:1\nstopwaitsec=5\n"
        "autostart=false\n",
    )
    started = project.run("-d")
    assert started.returncode == 0, started.stderr
    assert "warning: [program:web] has the unknown option 'stopwaitsec'" in started.stderr
    assert "(did you mean 'stopwaitsecs'?)" in started.stderr
    assert "[program:web] runs runserver with its own reloader" in started.stderr
    assert "djsupervisor.W003" in project.run_manage("check").stderr
