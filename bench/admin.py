"""The admin's Processes page with 500 processes: the server time of one refresh.

From a fresh clone::

    python3 -m venv .venv && .venv/bin/pip install -e . && .venv/bin/python bench/admin.py

A project with Django's admin runs ``--programs`` programs (``--talkers`` of
them print a line a second) and its web process (runserver, no reloader)
under one supervisord. A logged-in client asks for what the page refreshes
itself with (``state/``, with the cursor of the previous answer) ``--runs``
times; the server's own time is the answer's ``Server-Timing`` header.
Against it, taking turns, on the same supervisord: ``manage.py supervisor
status`` and raw ``supervisorctl status``, whole commands.
"""

from __future__ import annotations

import argparse
import http.cookiejar
import json
import re
import shutil
import sys
import tempfile
import time
import urllib.parse
import urllib.request
from pathlib import Path

from benchlib import (
    ADMIN_SETTINGS,
    ADMIN_URLS,
    CREATE_SUPERUSER,
    free_port,
    getconfig,
    http_get,
    make_project,
    manage,
    median,
    print_table,
    raw_supervisorctl,
    stop_everything,
    time_in_turns,
    wait_until,
)

ADMIN = (
    "from pathlib import Path\nBASE_DIR = Path(__file__).resolve().parent\n"
    + ADMIN_SETTINGS
    + "DEBUG = False\n"
)
WEB = """
[program:web]
command={{{{ PYTHON }}}} manage.py runserver --noreload 127.0.0.1:{port}
"""
SLEEPER = "[program:sleep_{n}]\ncommand=sleep 1000{n}\nstartsecs=0\n"
TALKER = (
    "[program:talk_{n}]\n"
    "command=sh -c 'while :; do echo line from {n} at $(date +%%s); sleep 1; done'\n"
    "startsecs=0\n"
)
SUPERVISORD = "[supervisord]\nminfds={minfds}\n"
FDS_PER_PROGRAM = 8  # supervisord's ~5 descriptors per program, and some spare
PASSWORD = "bench"
PAGE = "/admin/djsupervisor/process/"
TARGET = 0.2  # seconds of server time per refresh (issue 17)


def write_config(project: Path, programs: int, talkers: int, port: int) -> None:
    config = SUPERVISORD.format(minfds=1024 + FDS_PER_PROGRAM * (programs + 1))
    config += WEB.format(port=port)
    config += "".join(TALKER.format(n=n) for n in range(talkers))
    config += "".join(SLEEPER.format(n=n) for n in range(talkers, programs))
    (project / "supervisord.conf").write_text(config)


def logged_in(base: str) -> urllib.request.OpenerDirector:
    """Return an HTTP client logged in to the admin as the bench's superuser."""
    opener = urllib.request.build_opener(
        urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar())
    )
    form = opener.open(f"{base}/admin/login/").read().decode()
    found = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', form)
    assert found, "no CSRF token in the login form"
    fields = {
        "csrfmiddlewaretoken": found.group(1),
        "username": "admin",
        "password": PASSWORD,
        "next": "/admin/",
    }
    opener.open(f"{base}/admin/login/", urllib.parse.urlencode(fields).encode())
    return opener


def refresh(
    opener: urllib.request.OpenerDirector, url: str
) -> tuple[float, float, dict[str, object]]:
    """Ask for one refresh; return the server's time, the round trip's, and the answer."""
    started = time.perf_counter()
    with opener.open(url) as answer:
        data = json.loads(answer.read())
        timing = answer.headers["Server-Timing"]
    elapsed = time.perf_counter() - started
    server = float(re.search(r"dur=([\d.]+)", timing).group(1)) / 1000  # type: ignore[union-attr]
    return server, elapsed, data


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--programs", type=int, default=500, help="processes shown (500)")
    parser.add_argument("--talkers", type=int, default=50, help="of which print (50)")
    parser.add_argument("--runs", type=int, default=30, help="refreshes and commands (30)")
    args = parser.parse_args()
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    workdir = Path(tempfile.mkdtemp(prefix="djs-bench-"))
    project = make_project(workdir / "project", "", ADMIN)
    (project / "urls.py").write_text(ADMIN_URLS)
    write_config(project, args.programs, args.talkers, port)
    supervisord = None
    try:
        manage(project, "migrate", "-v0")
        superuser = {"DJANGO_SUPERUSER_PASSWORD": PASSWORD}
        manage(project, *CREATE_SUPERUSER, env=superuser)
        manage(project, "supervisor", "--daemonize")
        supervisord = int(Path(getconfig(project)["supervisord"]["pidfile"]).read_text())
        wait_until(lambda: http_get(port, "/admin/login/"), "the admin", timeout=600)
        opener = logged_in(base)
        first_server, first_trip, data = refresh(opener, f"{base}{PAGE}state/")
        processes = len(data["processes"])  # type: ignore[arg-type]
        time.sleep(1)  # a second of output to read on each refresh
        servers, trips = [], []
        for _ in range(args.runs):
            cursor = urllib.parse.quote(str(data["cursor"]))
            server, trip, data = refresh(opener, f"{base}{PAGE}state/?cursor={cursor}")
            servers.append(server)
            trips.append(trip)
            time.sleep(0.1)
        commands = {
            "ours": [sys.executable, "manage.py", "supervisor", "status"],
            "raw": [*raw_supervisorctl(project), "status"],
        }
        times = time_in_turns(commands, project, args.runs)
    finally:
        stop_everything(project, supervisord)
        shutil.rmtree(workdir, ignore_errors=True)

    server, trip = median(servers), median(trips)
    met = "MET" if server < TARGET else "NOT MET"
    print_table(
        f"Admin Processes page: {processes} processes, {args.talkers} printing "
        f"(medians of {args.runs})",
        ["measure", "time", "vs the page's refresh (server)", "target"],
        [
            ["page refresh, server time", f"{server * 1000:.0f} ms", "1.00x", f"< 200 ms: {met}"],
            ["page refresh, round trip", f"{trip * 1000:.0f} ms", f"{trip / server:.2f}x", "-"],
            [
                "first load, server time",
                f"{first_server * 1000:.0f} ms",
                f"{first_server / server:.2f}x",
                "-",
            ],
            [
                "manage.py supervisor status",
                f"{median(times['ours']) * 1000:.0f} ms",
                f"{median(times['ours']) / server:.2f}x",
                "-",
            ],
            [
                "raw supervisorctl status",
                f"{median(times['raw']) * 1000:.0f} ms",
                f"{median(times['raw']) / server:.2f}x",
                "-",
            ],
        ],
    )
    print(f"(first load round trip: {first_trip * 1000:.0f} ms)")


if __name__ == "__main__":
    main()
