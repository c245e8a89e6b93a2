"""How background work reports as it goes: one line at a time, to a management command's output or
nowhere (the Celery tasks)."""

from __future__ import annotations

from collections.abc import Callable

Progress = Callable[[str], None]


def silent(line: str) -> None:
    """The progress of a run nobody watches."""
