"""The one exception the configuration pipeline raises for a user's mistake."""

from __future__ import annotations


class ConfigError(Exception):
    """Say what is wrong with the user's configuration and how to fix it.

    The management command turns it into a one-line ``CommandError`` and the
    system checks into an ``Error``: the message must stand on its own.
    """
