"""The names of the worker stacks and the stack each name runs for an app."""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from PySide6.QtCore import QObject

    from workerkit._app import App
    from workerkit._stack import Stack

__all__ = ["STACKS", "StackFactory", "builtin_stack", "check_stack"]

StackFactory = Callable[["App", "QObject | None"], "Stack"]
"""Make an app's stack: ``factory(app, parent)``; a ``Stack`` subclass is one."""

_LOCATIONS: dict[str, str] = {
    "legacy": "workerkit.legacy._thread_stack:ThreadStack",
    "simplified": "workerkit.simplified._stack:SimplifiedStack",
}

STACKS: tuple[str, ...] = tuple(_LOCATIONS)
"""The two stacks a kind's flag can pick, ``("legacy", "simplified")``: parametrize over it."""


def check_stack(name: str) -> str:
    """Return ``name`` normalised, or raise a ValueError naming the allowed stacks."""
    normalised = name.strip().lower()
    if normalised not in _LOCATIONS:
        allowed = ", ".join(STACKS)
        raise ValueError(f"Unknown worker stack {name!r}: expected one of {allowed}.")
    return normalised


def builtin_stack(name: str) -> type[Stack]:
    """Return workerkit's own Stack class for the stack called ``name``.

    ``legacy`` is the careful QThread-per-job stack, which runs the legacy side of an
    app that declares no ``legacy_stack`` of its own; ``simplified`` is the pool stack.
    """
    module_name, _, class_name = _LOCATIONS[check_stack(name)].partition(":")
    return getattr(importlib.import_module(module_name), class_name)
