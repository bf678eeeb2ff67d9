"""The admin's Processes page: what supervisord runs, its output, and Start, Stop, Restart.

Three views behind the admin's login: the page, the JSON it refreshes itself
with (``state/``) and the actions (``<action>/``, POST with the CSRF token).
What they show and do is in :mod:`djsupervisor.dashboard`.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, HttpResponseNotAllowed, JsonResponse
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse

from .errors import DjsupervisorError
from .models import Process

# The views import what the page shows and does (dashboard.py) on their first
# request: Django imports every app's admin module as it starts, for every
# management command, which would load the client and the journal reader for
# nothing.

REFRESH_INTERVAL = 1000  # milliseconds between the page's refreshes


if TYPE_CHECKING:
    ModelAdmin = admin.ModelAdmin[Process]
else:
    ModelAdmin = admin.ModelAdmin  # generic only in django-stubs


@admin.register(Process)
class ProcessAdmin(ModelAdmin):
    """The Processes page in place of a change list; nothing to add, change or delete."""

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Process | None = None) -> bool:
        return False

    @property
    def url_prefix(self) -> str:
        """The start of the page's URL names: ``djsupervisor_process``, as the admin names them."""
        return f"{self.opts.app_label}_{self.opts.model_name}"

    def get_urls(self) -> list[URLPattern]:
        view = self.admin_site.admin_view
        return [
            path("", view(self.processes_view), name=f"{self.url_prefix}_changelist"),
            path("state/", view(self.state_view), name=f"{self.url_prefix}_state"),
            path("<str:action>/", view(self.action_view), name=f"{self.url_prefix}_action"),
        ]

    def processes_view(self, request: HttpRequest) -> HttpResponse:
        from .dashboard import snapshot
        from .tail import TAIL_LINES

        if not self.has_view_permission(request):
            raise PermissionDenied
        prefix = f"{self.admin_site.name}:{self.url_prefix}"
        page = {
            "stateUrl": reverse(f"{prefix}_state"),
            "actionUrl": reverse(f"{prefix}_action", args=["ACTION"]),
            "canChange": self.has_change_permission(request),
            "refreshInterval": REFRESH_INTERVAL,
            "shownLines": TAIL_LINES,
        }
        context = {
            **self.admin_site.each_context(request),
            "title": "Processes",
            "opts": self.opts,
            "page": page,
            "snapshot": snapshot(None),
        }
        return TemplateResponse(request, "admin/djsupervisor/process/processes.html", context)

    @staticmethod
    def _json(data: dict[str, Any], started: float, status: int = 200) -> JsonResponse:
        response = JsonResponse(data, status=status)
        response["Cache-Control"] = "no-store"
        # The time spent here, for the browser's tools and bench/admin.py.
        response["Server-Timing"] = f"app;dur={(time.perf_counter() - started) * 1000:.1f}"
        return response

    def state_view(self, request: HttpRequest) -> HttpResponse:
        from .dashboard import snapshot

        started = time.perf_counter()
        if request.method != "GET":
            return HttpResponseNotAllowed(["GET"])
        if not self.has_view_permission(request):
            raise PermissionDenied
        return self._json(snapshot(request.GET.get("cursor") or None), started)

    def action_view(self, request: HttpRequest, action: str) -> HttpResponse:
        from .dashboard import act

        started = time.perf_counter()
        if request.method != "POST":  # GET never changes anything
            return HttpResponseNotAllowed(["POST"])
        if not self.has_change_permission(request):
            raise PermissionDenied
        try:
            message = act(action, request.POST.get("name", ""))
        except DjsupervisorError as exc:
            return self._json({"ok": False, "message": str(exc)}, started, status=400)
        return self._json({"ok": True, "message": message}, started)
