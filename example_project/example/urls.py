"""URL routes of the example project."""

from __future__ import annotations

from django.contrib import admin
from django.urls import include, path

urlpatterns = [
    path("admin/", admin.site.urls),  # its Processes page: djsupervisor's
    path("", include("jobs.urls")),
]
