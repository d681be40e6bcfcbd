"""The legacy stack: a new QThread per job, wired as a careful app wires it by hand.

It runs the legacy side of every app that declares no ``legacy_stack`` of its own.
"""

from workerkit.legacy._thread_stack import ThreadStack

__all__ = ["ThreadStack"]
