"""URL routes of the jobs app."""

from __future__ import annotations

from django.urls import path

from jobs import views

urlpatterns = [
    path("", views.index, name="index"),
    path("result/<uuid:result_id>/", views.result, name="result"),
]
