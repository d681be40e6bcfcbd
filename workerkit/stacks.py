"""The names of the worker stacks and where their backends live."""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from workerkit.backend import Backend

__all__ = ["STACKS", "backend_class", "check_stack"]

_LOCATIONS: dict[str, str] = {
    "legacy": "workerkit.legacy.backend:LegacyBackend",
    "simplified": "workerkit.simplified.backend:SimplifiedBackend",
}

STACKS: tuple[str, ...] = tuple(_LOCATIONS)


def check_stack(name: str) -> str:
    """Return ``name`` normalised, or raise a ValueError naming the allowed stacks."""
    normalised = name.strip().lower()
    if normalised not in _LOCATIONS:
        allowed = ", ".join(STACKS)
        raise ValueError(f"Unknown worker stack {name!r}: expected one of {allowed}.")
    return normalised


def backend_class(name: str) -> type[Backend]:
    """Import and return the Backend class of the stack called ``name``."""
    module_name, _, class_name = _LOCATIONS[check_stack(name)].partition(":")
    return getattr(importlib.import_module(module_name), class_name)
