"""A model without a table: the admin's Processes page hangs on it, with its permissions.

Its permissions are the page's: ``djsupervisor.view_process`` shows it,
``djsupervisor.change_process`` also lets the user start, stop and restart
processes. There are no rows: supervisord holds the processes.
"""

from __future__ import annotations

from django.db import models


class Process(models.Model):
    """A process supervisord runs for the project (the admin page's entry; no table)."""

    id = models.AutoField(primary_key=True)

    class Meta:
        managed = False
        default_permissions = ("view", "change")
        verbose_name = "process"
        verbose_name_plural = "processes"
