"""Template filters available in every supervisord.conf without ``{% load %}``."""

from __future__ import annotations

import shlex

from django import template

from ..config import render
from ..config.quoting import unmark

register = template.Library()


@register.filter(name="quote")
def quote(value: object) -> str:
    """Quote ``value`` as one word of a command line (as a POSIX shell would)."""
    return shlex.quote(unmark(str(value)))


@register.filter(name="templated")
def templated(name: str) -> str:
    """Render the file ``name`` like supervisord.conf and return the copy's path."""
    return render.templated(name)
