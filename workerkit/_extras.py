"""Which optional extra of the workerkit distribution brings each module a part needs.

The core (App, WorkerKind, JobService, both stacks) needs PySide6-Essentials only; the
image library, the tools, the contract plugin and QtAsyncio come with extras. A part
reached without its extra says which one to install instead of a bare traceback.
"""

from __future__ import annotations

__all__ = ["EXTRA_OF_MODULE", "extra_advice"]

EXTRA_OF_MODULE: dict[str, str] = {
    "PIL": "imagelib",
    "aiohttp": "imagelib",
    "psutil": "tools",
    "superqt": "peers",
    "pytest": "testing",
    "pytestqt": "testing",
    "pytest_timeout": "testing",
    "pytest_reportlog": "testing",
    "PySide6.QtAsyncio": "qtasyncio",
}


def extra_advice(exc: ModuleNotFoundError, needed_by: str) -> str | None:
    """Return how to install the extra that brings the module ``exc`` found missing.

    Args:
        exc: The error raised by an import.
        needed_by: What needed the module, as the user knows it (a command, a package).

    Returns:
        A sentence naming the module, the extra and the pip command; None when the
        module is not one an extra brings.
    """
    name = exc.name or ""
    extra = EXTRA_OF_MODULE.get(name) or EXTRA_OF_MODULE.get(name.partition(".")[0])
    if extra is None:
        return None
    return (
        f"{needed_by} needs {name}, which the '{extra}' extra installs: "
        f"pip install 'workerkit[{extra}]'"
    )
