"""django-supervisor's README examples, run under djsupervisor (docs/django-supervisor.rst).

Each example is written as django-supervisor's README gave it, checked with
``getconfig`` and, where it can run today, started under a real supervisord.
Where it cannot run as written the converted version runs, and the test says
why: django-celery's ``manage.py celery``/``celeryd`` commands and Django's
``runfcgi`` are gone (Celery's own ``celery`` command and gunicorn replace
them; the broker is a real redis-server), a program's ``user=`` needs root,
and the README's fixed port 8000 is replaced by a free one.
"""

from __future__ import annotations

import configparser
import importlib.util
import os
import pwd
import shutil
from pathlib import Path

import pytest

from ..needs import require
from ..support import REDIS_PROGRAM, free_port, http_get, wait_for
from .conftest import Project

pytestmark = pytest.mark.integration

CELERY_APP = """
import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "settings")
app = Celery("proj")
app.config_from_object("django.conf:settings", namespace="CELERY")


@app.task
def add(x, y):
    return x + y
"""
CELERY_SETTINGS = """
CELERY_BROKER_URL = "redis://127.0.0.1:{redis}/0"
CELERY_RESULT_BACKEND = "redis://127.0.0.1:{redis}/1"
"""
# Not in django-supervisor's examples, but the Celery programs' broker: REDIS_PROGRAM.
ROUND_TRIP = "import tasks; print(tasks.add.delay(2, 3).get(timeout=20))"

# django-supervisor 0.3's README: the first example.
BASIC = """
[program:webserver]
command={{ PYTHON }} {{ PROJECT_DIR }}/manage.py runserver --noreload

[program:celeryworker]
command={{ PYTHON }} {{ PROJECT_DIR }}/manage.py celery worker -l info

[program:celerybeat]
command={{ PYTHON }} {{ PROJECT_DIR }}/manage.py celery beat -l info
"""


def celery_project(project: Project) -> int:
    """Give ``project`` a Celery app and a broker setting; return the broker's port."""
    require(importlib.util.find_spec("celery"), "celery")
    require(shutil.which("redis-server"), "redis-server (apt-get install redis-server)")
    redis = free_port()
    project.write("tasks.py", CELERY_APP)
    project.add_settings(CELERY_SETTINGS.format(redis=redis))
    return redis


def start(project: Project) -> str:
    """Start supervisord in the background; return what the command printed."""
    started = project.run("--daemonize")
    assert started.returncode == 0, started.stderr + started.stdout
    return started.stderr + started.stdout


def section(project: Project, name: str) -> dict[str, str]:
    return dict(project.config()[f"program:{name}"])


def test_the_basic_example(project: Project) -> None:
    redis = celery_project(project)
    web = free_port()
    project.write("supervisord.conf", BASIC)

    # As written it renders: the same commands, the paths filled in.
    manage = f"{project.path}/manage.py"
    assert section(project, "celeryworker")["command"].endswith(f"{manage} celery worker -l info")
    # It cannot run: 'manage.py celery' was django-celery's command (Celery < 4).
    gone = project.run_manage("celery", "worker", "-l", "info")
    assert gone.returncode == 1 and "Unknown command: 'celery'" in gone.stderr

    # Converted: Celery's own command, with a broker; runserver on a free port.
    converted = (
        BASIC.replace("runserver --noreload", f"runserver --noreload 127.0.0.1:{web}")
        .replace("{{ PROJECT_DIR }}/manage.py celery", "-m celery -A tasks")
        .replace("-l info\n", "-l info\ndepends_on=redis:ready\n")
    )
    project.write("supervisord.conf", converted + REDIS_PROGRAM.format(redis=redis))
    start(project)
    project.wait_running("webserver", "celeryworker", "celerybeat", "redis")
    wait_for(lambda: http_get(web) == "hello from djsupervisor", "runserver to serve")
    done = project.run_manage("shell", "-v0", "-c", ROUND_TRIP)
    assert done.stdout.strip() == "5", done.stderr

    # The README's usage: status, stop and start a program, shutdown.
    assert project.run("status").returncode == 0
    assert project.run("stop", "celeryworker").returncode == 0
    status = project.run("status")
    assert status.returncode == 3  # supervisorctl's: one of them is not running
    assert "STOPPED" in next(line for line in status.stdout.splitlines() if "celeryworker" in line)
    assert project.run("start", "celeryworker").returncode == 0
    project.wait_running("celeryworker")
    assert project.run("shutdown").returncode == 0
    assert project.client().state() is None


# django-supervisor's README: a development server in debug mode, FastCGI otherwise.
CONDITIONAL = """
[program:webserver]
{% if settings.DEBUG %}
command={{ PYTHON }} {{ PROJECT_DIR }}/manage.py runserver
{% else %}
command={{ PYTHON }} {{ PROJECT_DIR }}/manage.py runfcgi host=127.0.0.1 port=8025
{% endif %}
"""


def test_a_program_conditional_on_debug(project: Project) -> None:
    web = free_port()
    project.write("supervisord.conf", CONDITIONAL)
    assert "runfcgi host=127.0.0.1 port=8025" in section(project, "webserver")["command"]
    # runfcgi left Django in 1.9: the converted production branch runs gunicorn.
    assert "Unknown command: 'runfcgi'" in project.run_manage("runfcgi").stderr
    require(importlib.util.find_spec("gunicorn"), "gunicorn")
    project.write(
        "wsgi.py",
        'import os\nos.environ.setdefault("DJANGO_SETTINGS_MODULE", "settings")\n'
        "from django.core.wsgi import get_wsgi_application\n"
        "application = get_wsgi_application()\n",
    )
    project.write(
        "supervisord.conf",
        CONDITIONAL.replace("runserver", f"runserver 127.0.0.1:{web}").replace(
            "{{ PROJECT_DIR }}/manage.py runfcgi host=127.0.0.1 port=8025",
            f"-m gunicorn wsgi -b 127.0.0.1:{web}",
        ),
    )
    start(project)
    project.wait_running("webserver")
    assert "gunicorn" in section(project, "webserver")["command"]
    wait_for(lambda: http_get(web) == "hello from djsupervisor", "gunicorn to serve")
    assert project.run("shutdown").returncode == 0

    # In debug mode the development server runs as written (its own reloader
    # too: stopping the program stops its child), and djsupervisor's autoreload.
    project.add_settings("DEBUG = True\n")
    project.write(
        "supervisord.conf", CONDITIONAL.replace("runserver", f"runserver 127.0.0.1:{web}")
    )
    assert section(project, "webserver")["command"].endswith(f"runserver 127.0.0.1:{web}")
    start(project)
    project.wait_running("webserver", "autoreload")
    wait_for(lambda: http_get(web) == "hello from djsupervisor", "runserver to serve")


# django-supervisor's README (0.3 and later): defaults, overrides, excludes.
DEFAULTS_OVERRIDES_EXCLUDES = """
; We want all programs to redirect stderr by default,
; unless specifically configured otherwise.
[program:__defaults__]
redirect_stderr=true

; We force all programs to run as user "nobody"
[program:__overrides__]
user=nobody

; Disable auto-reloading on code changes by excluding that program.
[program:autoreload]
exclude=true
"""
PROGRAMS = """
[program:talker]
command=sh -c 'echo said on stderr >&2; exec sleep 600'

[program:quiet]
command=sleep 600
redirect_stderr=false
"""


def test_defaults_overrides_and_excludes(project: Project) -> None:
    project.add_settings("DEBUG = True\n")  # the autoreload program would run
    project.write("supervisord.conf", DEFAULTS_OVERRIDES_EXCLUDES + PROGRAMS)
    config = project.config()
    assert not config.has_section("program:autoreload")
    assert config["program:talker"]["redirect_stderr"] == "true"
    assert config["program:quiet"]["redirect_stderr"] == "false"
    assert {config[s]["user"] for s in ("program:talker", "program:quiet")} == {"nobody"}

    # supervisord switches a program's user only when root starts it, and
    # 'nobody' cannot enter the project directory (a private temporary one
    # here), where programs run: as root the programs run as nobody in /,
    # otherwise as the user running the test.
    if os.getuid() == 0:
        user, text = (
            "nobody",
            DEFAULTS_OVERRIDES_EXCLUDES.replace("user=nobody\n", "user=nobody\ndirectory=/\n"),
        )
    else:
        user = pwd.getpwuid(os.getuid()).pw_name
        text = DEFAULTS_OVERRIDES_EXCLUDES.replace("user=nobody", f"user={user}")
    project.write("supervisord.conf", text + PROGRAMS)
    start(project)
    pids = project.wait_running("talker", "quiet")
    assert "autoreload" not in project.processes()
    for pid in pids.values():
        assert owner(pid) == pwd.getpwnam(user).pw_uid
    # stderr went to the stdout log ('tail' shows that log).
    wait_for(lambda: "said on stderr" in project.run("tail", "talker").stdout, "talker's line")


def owner(pid: int) -> int:
    """Return the real uid of process ``pid``."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("Uid:"):
            return int(line.split()[1])
    raise AssertionError(f"no Uid in /proc/{pid}/status")


# django-supervisor 0.2's per-app file (its djcelery one, which an app could
# ship as management/supervisord.conf), and its README's project file
# dropping one of the app's programs.
APP_CONFIG = """
[program:celeryd]

;  Show extra logging output if running in debug mode.
{% if settings.DEBUG %}
command={{ PYTHON }} {{ PROJECT_DIR }}/manage.py celeryd --loglevel=INFO
{% else %}
command={{ PYTHON }} {{ PROJECT_DIR }}/manage.py celeryd
{% endif %}

directory={{ PROJECT_DIR }}
numprocs=1
startsecs=5

; Need to wait for currently executing tasks to finish at shutdown.
; Increase this if you have very long running tasks.
stopwaitsecs = 600

; if rabbitmq is supervised, set its priority higher
; so it starts first
priority=998


[program:celerybeat]

{% if settings.DEBUG %}
command={{ PYTHON }} {{ PROJECT_DIR }}/manage.py celerybeat --loglevel=INFO
{% else %}
command={{ PYTHON }} {{ PROJECT_DIR }}/manage.py celerybeat
{% endif %}

directory={{ PROJECT_DIR }}
numprocs=1
startsecs=5

; if rabbitmq is supervised, set its priority higher
; so it starts first
priority=999
"""
PROJECT_CONFIG = """
; We don't use celerybeat, so remove it from the config.
[program:celerybeat]
exclude=true
"""


def test_an_app_config_and_an_exclude(project: Project) -> None:
    redis = celery_project(project)
    project.write("jobs/__init__.py", "")
    project.write("jobs/management/supervisord.conf", APP_CONFIG)
    project.add_settings('INSTALLED_APPS.append("jobs")\n')
    project.write("supervisord.conf", PROJECT_CONFIG)

    config = project.config()
    assert not config.has_section("program:celerybeat")
    celeryd = dict(config["program:celeryd"])
    assert celeryd["command"].endswith("manage.py celeryd")  # DEBUG is false
    assert (celeryd["directory"], celeryd["stopwaitsecs"]) == (str(project.path), "600")
    # 'manage.py celeryd' was django-celery's: the converted app file runs Celery's own.
    assert "Unknown command: 'celeryd'" in project.run_manage("celeryd").stderr
    project.write(
        "jobs/management/supervisord.conf",
        APP_CONFIG.replace("{{ PROJECT_DIR }}/manage.py celeryd", "-m celery -A tasks worker")
        .replace("{{ PROJECT_DIR }}/manage.py celerybeat", "-m celery -A tasks beat")
        .replace("numprocs=1\n", "numprocs=1\ndepends_on=redis:ready\n"),
    )
    project.write("supervisord.conf", PROJECT_CONFIG + REDIS_PROGRAM.format(redis=redis))
    start(project)
    project.wait_running("celeryd", "redis")
    assert "celerybeat" not in project.processes()
    done = project.run_manage("shell", "-v0", "-c", ROUND_TRIP)
    assert done.stdout.strip() == "5", done.stderr


# A django-supervisor template loading its tag library for the templated filter.
TEMPLATED = """
{% load djsupervisor_tags %}
[program:reader]
command=sh -c 'cat "$0"; exec sleep 600' {{ "conf/app.ini"|templated }}
"""


def test_load_djsupervisor_tags_and_templated(project: Project) -> None:
    # Lands with the compatibility work of issue 24 (djsupervisor_tags).
    project.write("conf/app.ini", "[app]\nroot={{ PROJECT_DIR }}\n")
    project.write("supervisord.conf", TEMPLATED)
    copy = project.runtime_dir() / "templated" / "conf" / "app.ini"
    assert str(copy) in section(project, "reader")["command"]
    checked = project.run_manage("check")
    assert checked.returncode == 0 and "djsupervisor_tags" in checked.stderr, checked.stderr
    output = start(project)
    assert "can go" in output  # the {% load %} line
    project.wait_running("reader")
    assert copy.read_text() == f"[app]\nroot={project.path}\n"
    # django-supervisor wrote the copy beside the file, as conf/app.ini.templated.
    assert not (project.path / "conf" / "app.ini.templated").exists()
    wait_for(lambda: f"root={project.path}" in project.run("tail", "reader").stdout, "the copy")


# django-supervisor's own autoreload program, spelled out in a project's file.
OLD_AUTORELOAD = """
[program:autoreload]
command={{ PYTHON }} {{ PROJECT_DIR }}/manage.py supervisor autoreload

[program:web]
command={{ PYTHON }} manage.py runserver --noreload 127.0.0.1:%d
"""


def test_an_old_autoreload_program(project: Project) -> None:
    # Lands with the compatibility work of issue 24 (config/legacy.py).
    web = free_port()
    project.add_settings("DEBUG = True\n")
    project.write("supervisord.conf", OLD_AUTORELOAD % web)
    command = section(project, "autoreload")["command"]
    assert "-m djsupervisor.autoreload" in command and "manage.py" not in command
    output = start(project)
    assert "[program:autoreload] can go" in output
    pid = project.wait_running("web", "autoreload")["web"]
    wait_for(lambda: http_get(web) == "hello from djsupervisor", "web to serve")

    # It reloads: a code change restarts web.
    urls = project.path / "urls.py"
    urls.write_text(urls.read_text() + "\n# changed\n")
    wait_for(lambda: project.wait_running("web")["web"] != pid, "web to restart")
    wait_for(lambda: http_get(web) == "hello from djsupervisor", "web to serve again")

    # django-supervisor's built-in spelling, options and all, is recognised too.
    project.write(
        "supervisord.conf",
        (OLD_AUTORELOAD % web).replace(
            "supervisor autoreload", "supervisor {{ SUPERVISOR_OPTIONS }} autoreload"
        ),
    )
    assert "-m djsupervisor.autoreload" in section(project, "autoreload")["command"]


def test_old_command_line_options(project: Project) -> None:
    # The README's options, spelled --name=PROG as it listed them, before the command.
    project.write("supervisord.conf", BASIC)
    printed = project.run("--nolaunch=webserver", "--exclude=celerybeat", "getconfig")
    assert printed.returncode == 0, printed.stderr
    config = configparser.RawConfigParser(interpolation=None)
    config.read_string(printed.stdout)
    assert not config.has_section("program:celerybeat")
    assert config["program:webserver"]["autostart"] == "false"
    assert config.has_section("program:celeryworker")
