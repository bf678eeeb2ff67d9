"""Settings package of djsupervisor's example project."""

from __future__ import annotations
