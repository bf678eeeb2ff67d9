"""Take the screenshots of the admin's Processes page that docs/admin.rst shows.

From a fresh clone, with Chromium and chromedriver installed (Debian:
``apt-get install chromium chromium-driver``)::

    python3 -m venv .venv && .venv/bin/pip install -e '.[example]' selenium
    .venv/bin/python docs/screenshot.py

It copies the example project to a scratch directory, migrates it, creates
a superuser, runs it under ``manage.py supervisor --daemonize``, queues a
task so that the worker has something to say, and photographs the page in
the admin's light and dark themes into ``docs/_static/``.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))  # the browser helpers the tests use, and djsupervisor

from tests import browser as chromium  # noqa: E402
from tests.support import CREATE_SUPERUSER, free_port, http_get, wait_for  # noqa: E402

SHOTS = REPO / "docs" / "_static"
PASSWORD = "screenshot"
ENQUEUE = "from jobs.tasks import count_words; count_words.enqueue('hello from the screenshot')"
SETTLE = 3  # seconds for the page to show some output before the picture


def manage(project: Path, env: dict[str, str], *args: str) -> None:
    subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=project,
        env=env,
        check=True,
        capture_output=True,
        timeout=120,
    )


def photograph(url: str, path: Path, dark: bool) -> None:
    """Log in, open the Processes page, show the worker's output, save a picture of it."""
    from selenium.webdriver.common.by import By

    browser = chromium.start_browser(dark=dark)
    try:
        chromium.log_in(browser, url, "admin", PASSWORD)
        browser.find_element(By.LINK_TEXT, "Processes").click()
        worker = 'tr.djs-process[data-name="db_worker"] + tr summary'
        wait_for(lambda: browser.find_elements(By.CSS_SELECTOR, worker), "the worker's row")
        browser.find_element(By.CSS_SELECTOR, worker).click()
        time.sleep(SETTLE)
        browser.save_screenshot(str(path))
    finally:
        browser.quit()


def main() -> None:
    if chromium.missing():
        raise SystemExit(f"screenshot: needs {chromium.missing()}")
    scratch = Path(tempfile.mkdtemp(prefix="djs-shot-"))
    project = scratch / "mysite"
    shutil.copytree(
        REPO / "example_project", project, ignore=shutil.ignore_patterns("*.sqlite3", "__pycache__")
    )
    port = free_port()
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")])),
        "PORT": str(port),
        "DJANGO_SUPERUSER_PASSWORD": PASSWORD,
    }
    env.pop("DJANGO_SETTINGS_MODULE", None)
    try:
        manage(project, env, "migrate", "-v0")
        manage(project, env, *CREATE_SUPERUSER)
        manage(project, env, "supervisor", "--daemonize")
        url = f"http://127.0.0.1:{port}"
        wait_for(lambda: http_get(port, "/"), "the example's web page")
        manage(project, env, "shell", "-c", ENQUEUE)
        for dark in (False, True):
            path = SHOTS / f"admin-processes{'-dark' if dark else ''}.png"
            photograph(url, path, dark)
            print(f"wrote {path.relative_to(REPO)}")
    finally:
        subprocess.run(
            [sys.executable, "manage.py", "supervisor", "shutdown"],
            cwd=project,
            env=env,
            capture_output=True,
            timeout=120,
        )
        shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    main()
