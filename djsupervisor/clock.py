"""The clock the waiting loops use: the time module, or a test's fake one."""

from __future__ import annotations

from typing import Protocol


class Clock(Protocol):
    """What a loop that waits needs of time; the ``time`` module is one."""

    def monotonic(self) -> float: ...

    def sleep(self, seconds: float, /) -> None: ...
