"""``manage.py djsupervisor_db_worker``: db_worker, stopped without leaving a claimed task.

django-tasks-db's ``db_worker`` exits at once when told to stop while it is
not running a task, and it can be told so after it has claimed a task and
before it starts running it: that task then stays ``RUNNING`` and never
runs (django-tasks-db issue 61). Here a stop lets the worker end its turn
first: a task it has claimed runs, then it exits, or it exits after its
``--interval`` wait when it had none. A second stop ends it at once, as
``db_worker``'s does. Every option is ``db_worker``'s (docs: the
django_tasks preset).
"""

from __future__ import annotations

import logging
import signal
from types import FrameType
from typing import Any

from django_tasks_db.management.commands import db_worker

logger = logging.getLogger("django_tasks_db")


class Worker(db_worker.Worker):
    """db_worker's worker, which ends its turn when told to stop."""

    def shutdown(self, signum: int, frame: FrameType | None) -> None:
        if self.running and not self.running_task:
            logger.warning(
                "Received %s - stopping after the task claimed now, if any (again to force)",
                signal.strsignal(signum),
            )
            self.running = False  # the loop ends after this turn
            return
        super().shutdown(signum, frame)


class Command(db_worker.Command):
    help = (
        "Run db_worker (the same options); when told to stop, it first runs the task it "
        "has claimed, if any."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        # db_worker's handle() makes its worker by its module's name for the
        # class; this process (the program's own) gets this one instead.
        db_worker.Worker = Worker  # type: ignore[misc]
        super().handle(*args, **options)
