"""Background tasks run by the django-tasks-db worker."""

from __future__ import annotations

import os

try:
    from django.tasks import task  # Django 6
except ImportError:
    from django_tasks import task  # the backport


@task()
def count_words(text: str) -> dict[str, int]:
    """Count the words of ``text`` and report which process did it."""
    return {"words": len(text.split()), "pid": os.getpid()}
