"""Run and supervise all the processes of a Django project with supervisord."""

from __future__ import annotations

__version__ = "0.1.0.dev0"
