"""``manage.py djsupervisor_db_worker``: db_worker, stopped without leaving a claimed task.

django-tasks-db's ``db_worker`` exits at once when told to stop while it is
not running a task, and it can be told so after it has claimed a task
(the claim committed) and before it starts running it: that task then
stays ``RUNNING`` and never runs (django-tasks-db issue 61). Here a stop
that comes once a task is claimed lets the worker run it, then exit; any
other stop is ``db_worker``'s own (at once when idle, after the task when
running one; a second one forces). The options are ``db_worker``'s; with
``--reload``, Django's reloader takes the stop signals, as for
``db_worker`` (docs: the django_tasks preset).
"""

from __future__ import annotations

import logging
import signal
from types import FrameType
from typing import Any

from django.db.models.signals import post_save
from django_tasks_db.compat import TaskResultStatus
from django_tasks_db.management.commands import db_worker
from django_tasks_db.models import DBTaskResult

logger = logging.getLogger("django_tasks_db")


class Worker(db_worker.Worker):
    """db_worker's worker, which runs the task it has claimed when told to stop."""

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        self.claimed = False  # a task's claim is saved, and the task not run yet
        # Held weakly: gone with the worker.
        post_save.connect(self.saw_save, sender=DBTaskResult)

    def saw_save(
        self, sender: type[DBTaskResult[Any, Any]], instance: DBTaskResult[Any, Any], **kwargs: Any
    ) -> None:
        """Note this worker's claim of a task (``post_save``, in the claim's transaction)."""
        mine = instance.worker_ids[-1:] == [self.worker_id]
        if mine and instance.status == TaskResultStatus.RUNNING:
            self.claimed = True

    def run_task(self, db_task_result: DBTaskResult[Any, Any]) -> None:
        try:
            super().run_task(db_task_result)
        finally:
            self.claimed = False

    def shutdown(self, signum: int, frame: FrameType | None) -> None:
        if self.running and self.claimed and not self.running_task:
            logger.warning(
                "Received %s - stopping after the task just claimed (press Ctrl+C again to force)",
                signal.strsignal(signum),
            )
            self.running = False  # the loop runs the task, then ends
            return
        super().shutdown(signum, frame)  # before the claim, it is rolled back


class Command(db_worker.Command):
    help = (
        "Run db_worker (the same options); a stop that comes once it has claimed a task "
        "lets it run that task first."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        if options["reload"]:
            super().handle(*args, **options)  # the reloader's signal handling, as db_worker's
            return
        # db_worker's handle() makes its worker by its module's name for the
        # class: this one for this command, db_worker's again after it.
        plain = db_worker.Worker
        db_worker.Worker = Worker  # type: ignore[misc]
        try:
            super().handle(*args, **options)
        finally:
            db_worker.Worker = plain  # type: ignore[misc]
