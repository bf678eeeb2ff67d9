"""Template filters available in every supervisord.conf without ``{% load %}``."""

from __future__ import annotations

from django import template

from ..config import render

register = template.Library()


@register.filter(name="templated")
def templated(name: str) -> str:
    """Render the file ``name`` like supervisord.conf and return the copy's path."""
    return render.templated(name)
