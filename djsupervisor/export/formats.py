"""The export formats by name."""

from __future__ import annotations

from collections.abc import Callable

from .common import Export, Target
from .compose import compose
from .kubernetes import kubernetes
from .model import Service
from .procfile import procfile
from .systemd import systemd

FORMATS: dict[str, Callable[[list[Service], Target], Export]] = {
    "procfile": procfile,
    "systemd": systemd,
    "compose": compose,
    "kubernetes": kubernetes,
}
