"""A real headless Chromium driven by Selenium, for the admin page's tests and screenshots.

It uses the system's Chromium and chromedriver (Debian's ``chromium`` and
``chromium-driver``; ``.ci/run`` installs them): Selenium downloads nothing.
"""

from __future__ import annotations

import importlib.util
import shutil
from typing import Any

CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome")
WINDOW = "1280,900"  # pixels: a laptop's browser window
PAGE_TIMEOUT = 30  # seconds a page may take to load


def chromium() -> str | None:
    """Return the path of the system's Chromium, if there is one."""
    return next(filter(None, map(shutil.which, CHROMIUM_NAMES)), None)


def missing() -> str | None:
    """Say what is missing to drive a browser, or None if nothing is."""
    if importlib.util.find_spec("selenium") is None:
        return "selenium (pip install selenium)"
    if chromium() is None:
        return "Chromium (apt-get install chromium)"
    if shutil.which("chromedriver") is None:
        return "chromedriver (apt-get install chromium-driver)"
    return None


def start_browser(dark: bool = False) -> Any:
    """Start a headless Chromium; the caller quits it."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = chromium() or ""
    for argument in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage"):
        options.add_argument(argument)
    options.add_argument(f"--window-size={WINDOW}")
    if dark:
        options.add_argument("--force-dark-mode")
        options.add_argument("--blink-settings=preferredColorScheme=0")
    return webdriver.Chrome(options=options, service=Service(shutil.which("chromedriver")))


def log_in(browser: Any, base_url: str, username: str, password: str) -> None:
    """Log in to the admin at ``base_url`` through its login form; return on its index."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.wait import WebDriverWait

    browser.get(f"{base_url}/admin/login/?next=/admin/")
    browser.find_element(By.NAME, "username").send_keys(username)
    browser.find_element(By.NAME, "password").send_keys(password)
    browser.find_element(By.CSS_SELECTOR, "input[type=submit]").click()
    WebDriverWait(browser, PAGE_TIMEOUT).until(lambda page: "/login/" not in page.current_url)


def fetch(browser: Any, url: str, method: str = "GET", body: str | None = None) -> tuple[int, str]:
    """Return the status and text of a request the page makes (its cookies, no CSRF token)."""
    script = """
        const [url, method, body, done] = arguments;
        fetch(url, {method, body, credentials: "same-origin", redirect: "manual",
                    headers: {"Content-Type": "application/x-www-form-urlencoded"}})
            .then(async (answer) => done([answer.status, await answer.text()]),
                  (error) => done([0, String(error)]));
    """
    status, text = browser.execute_async_script(script, url, method, body)
    return int(status), str(text)


def header(browser: Any, url: str, name: str) -> str | None:
    """Return a header of the answer to a GET the page itself makes."""
    script = """
        const [url, name, done] = arguments;
        fetch(url, {credentials: "same-origin"}).then((answer) => done(answer.headers.get(name)));
    """
    value: str | None = browser.execute_async_script(script, url, name)
    return value
