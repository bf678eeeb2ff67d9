"""The exceptions the configuration pipeline raises for a user's mistake.

Each kind carries the id of the system check that reports it, so ``manage.py
check`` and the ``supervisor`` command describe a mistake the same way.
"""

from __future__ import annotations


class ConfigError(Exception):
    """Say what is wrong with the user's configuration and how to fix it.

    The management command turns it into a one-line ``CommandError`` and the
    system checks into an ``Error``: the message must stand on its own.
    """

    check_id = "djsupervisor.E008"  # anything not covered by a more specific kind


class TemplateError(ConfigError):
    """A config file failed to render as a Django template."""

    check_id = "djsupervisor.E001"


class ParseError(ConfigError):
    """A rendered config file is not readable ini."""

    check_id = "djsupervisor.E002"


class MissingCommandError(ConfigError):
    """A program has no ``command`` after merging."""

    check_id = "djsupervisor.E003"


class OptionError(ConfigError):
    """A djsupervisor-only program option has a value of the wrong type."""

    check_id = "djsupervisor.E004"


class SettingError(ConfigError):
    """A ``SUPERVISOR_*`` setting has a value of the wrong type."""

    check_id = "djsupervisor.E005"


class SupervisorValueError(ConfigError):
    """supervisor's own config reader rejected the merged configuration."""

    check_id = "djsupervisor.E006"


class MissingFileError(ConfigError):
    """A config file that was asked for does not exist."""

    check_id = "djsupervisor.E007"


class NoConfigError(ConfigError):
    """Neither the project nor any installed app has a config file."""

    check_id = "djsupervisor.W002"
