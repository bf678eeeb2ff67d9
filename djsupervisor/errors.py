"""The exceptions djsupervisor raises: a user's configuration mistakes, and runtime failures.

Every one carries a message that stands on its own (what is wrong, and how to
fix it): the management command prints it as one line, with no traceback.
"""

from __future__ import annotations

import sys

from .protocol import OWN_RPC_FACTORY

INTERRUPTED = 130  # the exit status of a command stopped by Ctrl-C


class DjsupervisorError(Exception):
    """Base class of every error djsupervisor reports to the user."""


# Configuration mistakes: each kind carries the id of the system check that
# reports it, so ``manage.py check`` and the ``supervisor`` command describe a
# mistake the same way.


class ConfigError(DjsupervisorError):
    """Say what is wrong with the user's configuration and how to fix it."""

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


class RuntimeDirError(ConfigError):
    """The runtime directory is unusable: not ours, open to others, or its socket path too long."""

    check_id = "djsupervisor.E009"


class CommandLineError(ConfigError):
    """A program's command is not a command line supervisord can split into words."""

    check_id = "djsupervisor.E010"


class InsecureServerError(ConfigError):
    """A user's ``[inet_http_server]`` lets anyone who reaches it control the programs."""

    check_id = "djsupervisor.E011"


class ServerUserError(ConfigError):
    """``[supervisord] user=`` names a user supervisord could not switch to and still run."""

    check_id = "djsupervisor.E012"


class ReadinessError(ConfigError):
    """A program's ``ready`` check is malformed."""

    check_id = "djsupervisor.E013"


class DependencyError(ConfigError):
    """A program's ``depends_on`` names no program, or a condition it cannot meet."""

    check_id = "djsupervisor.E014"


class CycleError(ConfigError):
    """Programs depend on each other in a cycle."""

    check_id = "djsupervisor.E015"


class EnvFileError(ConfigError):
    """An environment file is missing, unreadable or not dotenv, or holds a NUL byte."""

    check_id = "djsupervisor.E016"


class ListenError(ConfigError):
    """A program's ``listen`` is malformed, another program's too, or another process holds it."""

    check_id = "djsupervisor.E017"


class ScheduleError(ConfigError):
    """A program's ``schedule`` is malformed or never comes."""

    check_id = "djsupervisor.E018"


class NoConfigError(ConfigError):
    """Neither the project nor any installed app has a config file."""

    check_id = "djsupervisor.W002"


# Runtime failures: the configuration is fine, but supervisord is not in the
# state the command needs, or did not do what it was asked in time.


class SupervisordError(DjsupervisorError):
    """supervisord is not where, or in the state, the command needs."""


class NotRunningError(SupervisordError):
    """No supervisord of this project answers."""


class AlreadyRunningError(SupervisordError):
    """A start was asked for while this project's supervisord runs."""


class CredentialsError(SupervisordError):
    """supervisord refused the username and password the config gives."""


class StartError(SupervisordError):
    """supervisord could not start, or did not come up in time."""

    @classmethod
    def of_output(cls, output: str) -> StartError:
        """Return the error of a supervisord that exited at once, printing ``output``."""
        lines = [line.strip() for line in output.splitlines() if line.strip()]
        errors = [line for line in lines if line.startswith("Error:")]
        if not errors and lines and lines[0].startswith("Traceback"):
            errors = [f"Error: {lines[-1]}"]  # a crash: its last line says what happened
        error = (errors or lines or ["no message"])[0]
        if OWN_RPC_FACTORY in error:
            error += (
                f"; supervisord runs in a new Python ({sys.executable}) that must be able to "
                "import djsupervisor: install it there rather than adding it to sys.path"
            )
        return cls(f"supervisord could not start: {error}")


class StopError(SupervisordError):
    """supervisord refused to stop, or a process outlived its timeout."""


class WriteError(DjsupervisorError):
    """A file djsupervisor writes cannot be written: a full disk, a read-only file system."""


class Fault(SupervisordError):
    """supervisord answered a call with an XML-RPC fault."""

    def __init__(self, code: int, text: str) -> None:
        super().__init__(f"supervisord refused: {text}")
        self.code = code
        self.text = text
