"""The admin's Processes page in a real headless Chromium, against a real supervisord.

A project with Django's admin runs its web process (runserver or gunicorn)
and a worker under ``manage.py supervisor`` (in the foreground or
daemonized); the tests log in as users with and without the page's
permissions and use the page as a person would.
"""

from __future__ import annotations

import importlib.util
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from functools import partial
from typing import Any

import django
import pytest

from .. import browser as chromium
from ..needs import require
from ..support import ADMIN_SETTINGS, ADMIN_URLS, free_port, http_get, wait_for
from .conftest import Project

pytestmark = pytest.mark.integration
if chromium.missing() is None:  # else the browser fixture says what is missing
    from selenium.webdriver.common.by import By

PROJECT_SETTINGS = (
    ADMIN_SETTINGS
    + """
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]  # fast logins

import django
if django.VERSION >= (6, 0):  # a strict Content-Security-Policy: inline code needs its nonce
    from django.utils.csp import CSP
    MIDDLEWARE.append("django.middleware.csp.ContentSecurityPolicyMiddleware")
    SECURE_CSP = {
        "default-src": [CSP.SELF],
        "script-src": [CSP.SELF, CSP.NONCE],
        "style-src": [CSP.SELF, CSP.NONCE],
    }
    TEMPLATES[0]["OPTIONS"]["context_processors"].append("django.template.context_processors.csp")
"""
)

WSGI = """
import os
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "settings")
from django.core.wsgi import get_wsgi_application
application = get_wsgi_application()
"""

PWNED = "<script>window.djsPwned = 1</script>"
WORKER = f"""
import itertools, sys, time
print({PWNED!r}, flush=True)
print("worker started", file=sys.stderr, flush=True)
for number in itertools.count():
    print("tick", number, flush=True)
    time.sleep(0.2)
"""

USERS = """
from django.contrib.auth.models import Permission, User
User.objects.create_superuser("admin", "admin@example.com", "pw")
viewer = User.objects.create_user("viewer", password="pw", is_staff=True)
viewer.user_permissions.add(Permission.objects.get(codename="view_process"))
User.objects.create_user("staff", password="pw", is_staff=True)
"""

SERVERS = {
    "runserver": "{{ PYTHON }} manage.py runserver --noreload 127.0.0.1:%(port)d",
    "gunicorn": "{{ PYTHON }} -m gunicorn wsgi --bind 127.0.0.1:%(port)d --workers 1",
}
PAGE = "/admin/djsupervisor/process/"
REFRESH = 2  # seconds: the page shows a change within this


@dataclass
class Site:
    """An admin project being served, and how to reach it."""

    project: Project
    port: int

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def pid(self, name: str) -> int:
        return int(self.project.processes()[name]["pid"])


def admin_project(project: Project, server: str | None) -> Site:
    """Make ``project`` an admin project with users; its web program runs ``server`` (or none)."""
    port = free_port()
    project.add_settings(PROJECT_SETTINGS)
    project.write("urls.py", ADMIN_URLS)
    project.write("wsgi.py", WSGI)
    project.write("worker.py", WORKER)
    programs = "[program:worker]\ncommand={{ PYTHON }} worker.py\n"
    if server is not None:
        command = SERVERS[server] % {"port": port}
        programs += (
            f"[program:web]\ncommand={command}\nready=http://127.0.0.1:{port}/admin/login/\n"
        )
    project.write("supervisord.conf", programs)
    for words in (["migrate", "-v0"], ["shell", "-c", USERS]):
        done = project.run_manage(*words)
        assert done.returncode == 0, done.stderr
    return Site(project, port)


def start(site: Site, mode: str) -> None:
    """Start supervisord (``foreground`` or ``daemon``) and wait for the admin to answer."""
    if mode == "foreground":
        site.project.start_foreground()
    else:
        started = site.project.run("--daemonize")
        assert started.returncode == 0, started.stderr
    site.project.wait_running("web", "worker")
    wait_for(lambda: http_get(site.port, "/admin/login/"), "the admin to answer")


@pytest.fixture
def browser() -> Iterator[Any]:
    require(chromium.missing() is None, chromium.missing() or "")
    driver = chromium.start_browser()
    try:
        yield driver
    finally:
        driver.quit()


def row(browser: Any, name: str) -> Any:
    return browser.find_element(By.CSS_SELECTOR, f'tr.djs-process[data-name="{name}"]')


def cell(browser: Any, name: str, column: str) -> str:
    text: str = row(browser, name).find_element(By.CSS_SELECTOR, f".djs-column-{column}").text
    return text


def shown(browser: Any, name: str, column: str, value: str) -> bool:
    """Tell whether the page shows ``value`` in ``column`` of ``name``'s row (now)."""
    try:
        return cell(browser, name, column) == value
    except Exception:  # not drawn yet
        return False


def button(browser: Any, name: str, action: str) -> Any:
    return row(browser, name).find_element(By.CSS_SELECTOR, f'button[data-action="{action}"]')


def output_lines(browser: Any, name: str) -> list[str]:
    pre = row(browser, name).find_element(By.XPATH, "following-sibling::tr[1]//pre")
    lines: list[str] = pre.get_attribute("textContent").splitlines()
    return lines


@pytest.mark.parametrize("mode", ["foreground", "daemon"])
@pytest.mark.parametrize("server", ["runserver", "gunicorn"])
def test_see_restart_and_read_processes_from_the_admin(
    project: Project, browser: Any, server: str, mode: str
) -> None:
    if server == "gunicorn":
        require(importlib.util.find_spec("gunicorn"), "gunicorn (pip install gunicorn)")
    site = admin_project(project, server)
    start(site, mode)
    chromium.log_in(browser, site.url, "admin", "pw")
    browser.find_element(By.LINK_TEXT, "Processes").click()  # from the admin index
    worker = site.pid("worker")
    for name in ("web", "worker"):
        wait_for(partial(shown, browser, name, "state", "RUNNING"), f"{name} RUNNING")
    assert cell(browser, "worker", "pid") == str(worker)
    assert cell(browser, "web", "ready") == "ready"
    browser.execute_script("window.djsMarker = 42")  # gone if the page reloads
    if django.VERSION >= (6, 0):  # and the page's own script ran under a strict policy
        policy = chromium.header(browser, site.url + PAGE, "Content-Security-Policy")
        assert policy is not None and "script-src 'self' 'nonce-" in policy

    # Its output, live: new lines appear as the worker prints them.
    row(browser, "worker").find_element(By.XPATH, "following-sibling::tr[1]//summary").click()
    ticks = wait_for(
        lambda: [line for line in output_lines(browser, "worker") if "tick" in line],
        "the worker's output",
    )
    wait_for(
        lambda: len([x for x in output_lines(browser, "worker") if "tick" in x]) > len(ticks),
        "new output lines",
    )
    lines = output_lines(browser, "worker")
    assert PWNED in lines and "worker started" in lines  # a script tag is text, both streams shown
    assert browser.execute_script("return window.djsPwned") is None

    # Restart: a new pid on the page, without a reload.
    button(browser, "worker", "restart").click()
    restarted = wait_for(
        lambda: (
            site.pid("worker") != worker
            and site.project.processes()["worker"]["statename"] == "RUNNING"
            and site.pid("worker")
        ),
        "the worker to be restarted",
    )
    wait_for(lambda: shown(browser, "worker", "pid", str(restarted)), "the new pid on the page")
    assert re.fullmatch(r"\d+:\d\d:\d\d", cell(browser, "worker", "uptime"))

    # Stop, then Start: the row follows, the description says when it stopped.
    button(browser, "worker", "stop").click()
    wait_for(partial(shown, browser, "worker", "state", "STOPPED"), "the worker STOPPED")
    assert cell(browser, "worker", "pid") == "" and cell(browser, "worker", "description")
    assert button(browser, "worker", "stop").get_attribute("disabled")
    button(browser, "worker", "start").click()
    wait_for(partial(shown, browser, "worker", "state", "RUNNING"), "the worker RUNNING again")
    assert browser.execute_script("return window.djsMarker") == 42

    if server == "runserver":  # the page polled all along: not in web's output, the rest is
        logged = site.project.run("logs", "web").stdout
        assert f"GET {PAGE} " in logged and f"POST {PAGE}restart/ " in logged, logged
        assert f"{PAGE}state/" not in logged, logged


def test_who_may_see_and_change(project: Project, browser: Any) -> None:
    site = admin_project(project, "runserver")
    start(site, "daemon")
    worker = site.pid("worker")
    action = f"{site.url}{PAGE}restart/"

    browser.get(site.url + PAGE)  # anonymous: to the login page
    assert "/admin/login/" in browser.current_url

    chromium.log_in(browser, site.url, "staff", "pw")  # staff without the permission
    assert "Processes" not in browser.find_element(By.ID, "content").text
    assert chromium.fetch(browser, site.url + PAGE)[0] == 403
    assert chromium.fetch(browser, site.url + PAGE + "state/")[0] == 403
    browser.delete_all_cookies()

    chromium.log_in(browser, site.url, "viewer", "pw")  # view permission: read-only
    browser.get(site.url + PAGE)
    wait_for(lambda: shown(browser, "worker", "pid", str(worker)), "the worker's row")
    assert browser.find_elements(By.CSS_SELECTOR, "button[data-action]") == []
    token = browser.get_cookie("csrftoken")["value"]
    posted = chromium.fetch(browser, action, "POST", f"name=worker&csrfmiddlewaretoken={token}")
    assert posted[0] == 403 and "CSRF" not in posted[1]  # refused for want of the permission
    browser.delete_all_cookies()

    chromium.log_in(browser, site.url, "admin", "pw")  # may change, but not without the token
    browser.get(site.url + PAGE)
    refused = chromium.fetch(browser, action, "POST", "name=worker")
    assert refused[0] == 403 and "CSRF verification failed" in refused[1]
    assert chromium.fetch(browser, action)[0] == 405  # GET never changes anything
    time.sleep(REFRESH)  # a restart would take effect by now: none must have
    assert site.pid("worker") == worker
    assert site.project.processes()["worker"]["statename"] == "RUNNING"


def test_the_page_without_supervisord(project: Project, browser: Any) -> None:
    site = admin_project(project, server=None)  # the admin served outside supervisord
    served = subprocess.Popen(
        [sys.executable, "manage.py", "runserver", "--noreload", f"127.0.0.1:{site.port}"],
        cwd=project.path,
        env=project.env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    project.foreground.append(served)  # stopped by pid with the project
    wait_for(lambda: http_get(site.port, "/admin/login/"), "the admin to answer")
    chromium.log_in(browser, site.url, "admin", "pw")
    browser.get(site.url + PAGE)
    problem = browser.find_element(By.ID, "djs-not-running")
    assert "supervisord is not running for this project" in problem.text
    assert "python manage.py supervisor --daemonize" in problem.text
    assert chromium.fetch(browser, site.url + PAGE)[0] == 200

    # Started afterwards: the page shows it by itself.
    assert project.run("--daemonize").returncode == 0
    wait_for(lambda: shown(browser, "worker", "state", "RUNNING"), "the worker on the page")
    assert not problem.is_displayed()
