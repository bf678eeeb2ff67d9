"""Keep the admin Processes page's polls out of the development server's request log.

The page asks for its state once a second. ``runserver`` logs every request
(the ``django.server`` logger), so web's output filled with the page's own
polls, one of which was always web's last line on the page itself. A poll
that fails (a status of 400 or more) is still logged: it says something.
"""

from __future__ import annotations

import logging
from urllib.parse import urlsplit

from django.urls import Resolver404, resolve

SERVER_LOGGER = "django.server"  # where runserver logs its requests
POLL_URL_NAME = "djsupervisor_process_state"  # admin.ProcessAdmin.state_view
FAILED = 400  # a status from which a poll is logged


class PagePolls(logging.Filter):
    """Leave out runserver's lines for the Processes page's successful polls."""

    def filter(self, record: logging.LogRecord) -> bool:
        status = getattr(record, "status_code", None)
        if not isinstance(status, int) or status >= FAILED:
            return True
        # runserver logs '"%s" %s %s' % (request line, status, size).
        if not isinstance(record.args, tuple) or not record.args:
            return True
        method, _, rest = str(record.args[0]).partition(" ")
        if method != "GET":
            return True
        path = urlsplit(rest.rpartition(" ")[0] or rest).path
        try:
            match = resolve(path)
        except Resolver404:
            return True
        except Exception:  # a broken URLconf: the line is logged, as it would be without us
            return True
        return match.url_name != POLL_URL_NAME


def quiet_page_polls() -> None:
    """Filter the Processes page's polls out of ``django.server`` (once per process)."""
    logger = logging.getLogger(SERVER_LOGGER)
    if not any(isinstance(existing, PagePolls) for existing in logger.filters):
        logger.addFilter(PagePolls())
