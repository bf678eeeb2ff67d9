"""django-supervisor's tag library, for its configs' ``{% load djsupervisor_tags %}``.

The same filters as djsupervisor's own, which every supervisord.conf has
without a ``{% load %}`` (config/legacy.py notes that the line can go).
"""

from __future__ import annotations

from .djsupervisor import register

__all__ = ["register"]
