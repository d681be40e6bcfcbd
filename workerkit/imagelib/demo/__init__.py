"""The demo app: one window that runs every job of an image library through WorkerService.

Only the command is imported here, so that the CLI can run it without loading Qt first;
the window lives in ``workerkit.imagelib.demo.window``.
"""

from __future__ import annotations

from workerkit.imagelib.demo.command import demo_command, demo_paths

__all__ = ["demo_command", "demo_paths"]
