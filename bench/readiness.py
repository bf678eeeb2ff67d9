"""Start a chain of dependent programs; and a crash loop: djsupervisor vs honcho vs supervisord.

From a fresh clone::

    python3 -m venv .venv && .venv/bin/pip install -e . honcho && .venv/bin/python bench/readiness.py

The chain a Django project runs every day: ``db`` (a TCP server that listens
after 1 s) -> ``migrate`` (a one-shot taking 0.3 s) -> ``web`` (``runserver
--noreload``) -> ``worker``. Timed from launch until the worker runs:

* djsupervisor: ``ready=tcp``, ``oneshot``, ``depends_on`` and ``ready=http``
  in supervisord.conf, ``manage.py supervisor --noreload`` in the foreground;
* honcho, with the shell wait loops people write in a Procfile today
  (``until nc -z HOST PORT; do sleep 1; done``, written with bash's
  ``/dev/tcp`` since nc is often missing);
* the floor: the programs' own delays back to back in one shell script,
  waiting for each port with a 10 ms loop.

The launchers take turns (each going first in turn), ``--runs`` times each.
Then a crash loop: a program that exits 1.2 s after it starts, under raw
``supervisord -n`` and under djsupervisor, side by side for
``--crash-seconds``; the row counts its starts.

Pass small sizes for a quick smoke run, e.g. ``--runs 1 --crash-seconds 3``.
"""  # noqa: E501 (the command above is one line, to copy)

from __future__ import annotations

import argparse
import os
import secrets
import shlex
import shutil
import signal
import sys
import tempfile
import time
from pathlib import Path

from benchlib import (
    DB,
    PEER,
    free_port,
    make_project,
    median,
    print_table,
    rotated,
    start,
    stop_session,
)
from startstop import Scenario, run_once, sleepers

MIGRATE = "import time; time.sleep(0.3)"
OURS = """
[program:db]
command={python} db.py {db} 1
ready=tcp:{db}

[program:migrate]
command={python} -c "{migrate}"
oneshot=true
depends_on=db:ready

[program:web]
command={python} manage.py runserver --noreload 127.0.0.1:{web}
ready=http://127.0.0.1:{web}/
depends_on=migrate:done

[program:worker]
command=sleep 1000.{token}
depends_on=web:ready
"""
WAIT_LOOP = "until (exec 3<>/dev/tcp/127.0.0.1/{port}) 2>/dev/null; do sleep {pause}; done"
CRASHER = "sh -c 'echo started >> {log}; sleep 1.2; exit 1'"
CONTESTANTS = ("djsupervisor", "honcho, wait loops", "floor (one script)")
TARGETS = {
    "honcho, wait loops": "djsupervisor faster",
    "floor (one script)": "djsupervisor within 0.3 s",
}
CRASH_TARGET = 8  # starts at most, over 60 s


def chain_scenario(workdir: Path, token: str) -> Scenario:
    """Write the chain project; return how each contestant launches it."""
    db, web = free_port(), free_port()
    python = shlex.quote(sys.executable)
    values = {"db": db, "web": web, "token": token, "migrate": MIGRATE}
    project = make_project(
        workdir / "chain", OURS.format(python="{{ PYTHON }}", **values), settings="DEBUG = False\n"
    )
    (project / "db.py").write_text(DB)
    runserver = f"{python} manage.py runserver --noreload 127.0.0.1:{web} {PEER}"
    migrate = f"{python} -c {shlex.quote(MIGRATE)}"
    web_line = f"{WAIT_LOOP.format(port=db, pause=1)}; {migrate} && exec {runserver}"
    worker_line = f"{WAIT_LOOP.format(port=web, pause=1)}; exec sleep 1000.{token}"
    (project / "Procfile").write_text(
        f"db: {python} db.py {db} 1\n"
        f"web: bash -c {shlex.quote(web_line)}\n"
        f"worker: bash -c {shlex.quote(worker_line)}\n"
    )
    # Stopped as a whole when stopped: its programs run in the background. The
    # trap resets itself first: the group's TERM reaches the shell too, and a
    # trap still set would run again, and again (a storm of TERMs that can hang
    # a program whose handler is not reentrant, as coverage's is not).
    floor = (
        "trap 'trap - TERM; kill 0' TERM; "
        f"{python} db.py {db} 1 & {WAIT_LOOP.format(port=db, pause=0.01)}; {migrate}; "
        f"{runserver} & {WAIT_LOOP.format(port=web, pause=0.01)}; sleep 1000.{token} & wait"
    )
    commands = {
        "djsupervisor": [sys.executable, "manage.py", "supervisor", "--noreload"],
        "honcho, wait loops": [sys.executable, "-m", "honcho", "start", "-f", "Procfile"],
        "floor (one script)": ["bash", "-c", floor],
    }
    return Scenario(
        "chain",
        project,
        commands,
        lambda: len(sleepers(token)) == 1,
        "launch -> worker running",
        f"127.0.0.1:{web}",
    )


def crash_loop(workdir: Path, seconds: float) -> dict[str, int]:
    """Run the crashing program under raw supervisord and djsupervisor; count its starts."""
    ours_log, raw_log = workdir / "ours.starts", workdir / "raw.starts"
    project = make_project(
        workdir / "crash", f"[program:crasher]\ncommand={CRASHER.format(log=ours_log)}\n"
    )
    raw = workdir / "raw"
    raw.mkdir()
    (raw / "supervisord.conf").write_text(
        f"[supervisord]\nlogfile={raw}/supervisord.log\npidfile={raw}/supervisord.pid\n"
        f"childlogdir={raw}\n[program:crasher]\ncommand={CRASHER.format(log=raw_log)}\n"
    )
    launched = [
        start(project, [sys.executable, "manage.py", "supervisor", "--noreload"]),
        start(
            raw, [sys.executable, "-m", "supervisor.supervisord", "-n", "-c", "supervisord.conf"]
        ),
    ]
    try:
        time.sleep(seconds)
    finally:
        for process in launched:
            os.kill(process.pid, signal.SIGTERM)
        for process in launched:
            stop_session(process)
    return {
        "djsupervisor": _count(ours_log),
        "raw supervisord": _count(raw_log),
    }


def _count(log: Path) -> int:
    return len(log.read_text().splitlines()) if log.exists() else 0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=7, help="launches per contestant (7)")
    parser.add_argument(
        "--crash-seconds", type=float, default=60, help="how long the crash loop runs (60)"
    )
    args = parser.parse_args()
    token = f"{os.getpid()}{secrets.randbelow(10**6):06d}"  # digits: part of sleep's argument
    workdir = Path(tempfile.mkdtemp(prefix="djs-bench-"))
    try:
        scenario = chain_scenario(workdir, token)
        times: dict[str, list[float]] = {name: [] for name in CONTESTANTS}
        for turn in range(args.runs):
            for contestant in rotated(CONTESTANTS, turn):
                launch, _ = run_once(scenario, contestant, settle=0)
                times[contestant].append(launch)
        starts = crash_loop(workdir, args.crash_seconds)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    medians = {name: median(values) for name, values in times.items()}
    ours = medians["djsupervisor"]
    rows = [["djsupervisor", f"{ours:.3f} s", "-", "-", "-"]]
    for name in CONTESTANTS[1:]:
        other = medians[name]
        met = ours < other if name.startswith("honcho") else ours <= other + 0.3
        rows.append(
            [
                name,
                f"{other:.3f} s",
                f"{ours - other:+.3f} s",
                TARGETS[name],
                "MET" if met else "NOT MET",
            ]
        )
    print_table(
        f"Dependency chain db -> migrate -> web -> worker: launch -> worker running "
        f"(medians of {args.runs})",
        ["contestant", "time", "djsupervisor minus this", "target", ""],
        rows,
    )
    ok = "MET" if starts["djsupervisor"] <= CRASH_TARGET else "NOT MET"
    print_table(
        f"Crash loop: a program exiting 1.2 s after it starts, over {args.crash_seconds:g} s",
        ["launcher", "starts", "target"],
        [
            ["raw supervisord", str(starts["raw supervisord"]), "-"],
            ["djsupervisor", str(starts["djsupervisor"]), f"<= {CRASH_TARGET}  {ok}"],
        ],
    )


if __name__ == "__main__":
    main()
