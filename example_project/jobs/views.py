"""Views that enqueue word counts and show their results."""

from __future__ import annotations

import os
from typing import Any
from uuid import UUID

from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_http_methods

try:  # Django 6
    from django.tasks import TaskResult, TaskResultStatus
    from django.tasks.exceptions import TaskResultDoesNotExist, TaskResultMismatch
except ImportError:  # the backport
    from django_tasks import TaskResult, TaskResultStatus
    from django_tasks.exceptions import TaskResultDoesNotExist, TaskResultMismatch
from django_tasks_db.models import DBTaskResult

from jobs.forms import CountWordsForm
from jobs.tasks import count_words

RECENT_RESULTS = 10


def _return_value(task_result: TaskResult) -> Any:
    """Return the task's return value, or ``None`` until it has succeeded."""
    if task_result.status == TaskResultStatus.SUCCESSFUL:
        return task_result.return_value
    return None


@require_http_methods(["GET", "POST"])
def index(request: HttpRequest) -> HttpResponse:
    """Show the form and recent results; on POST enqueue a word count."""
    form = CountWordsForm(request.POST if request.method == "POST" else None)
    if form.is_valid():
        count_words.enqueue(form.cleaned_data["text"])
        return redirect("index")
    # django_tasks has no API to list results: ask the database backend's model.
    recent = DBTaskResult.objects.filter(task_path=count_words.module_path).order_by(
        "-enqueued_at"
    )[:RECENT_RESULTS]
    task_results = [db_result.task_result for db_result in recent]
    return render(
        request,
        "jobs/index.html",
        {
            "form": form,
            "results": [(r, _return_value(r)) for r in task_results],
            "pending": any(not r.is_finished for r in task_results),
            "web_pid": os.getpid(),
        },
    )


@require_GET
def result(request: HttpRequest, result_id: UUID) -> JsonResponse:
    """Return the status and return value of one word count as JSON."""
    try:
        task_result = count_words.get_result(str(result_id))
    except (TaskResultDoesNotExist, TaskResultMismatch) as exc:
        raise Http404("No such task result") from exc
    return JsonResponse({"status": task_result.status, "return_value": _return_value(task_result)})
