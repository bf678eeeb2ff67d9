"""``{% celery_app %}``: the Celery app the preset's programs run, for its supervisord.conf."""

from __future__ import annotations

from django import template

from ..conf import conf

register = template.Library()


@register.simple_tag
def celery_app() -> str:
    """Return the value of ``celery --app``: the setting, or the settings module's package."""
    return conf.SUPERVISOR_CELERY_APP
