"""The simplified stack: one QThreadPool, GUI-owned events, cooperative cancellation.

``SimplifiedStack`` runs each kind's pool function on the pool; ``PoolControl`` is the
``workerkit.JobControl`` a pool function is given.
"""

from workerkit.simplified._job import PoolControl
from workerkit.simplified._stack import SimplifiedStack

__all__ = ["PoolControl", "SimplifiedStack"]
