"""An app that brings its own worker manager, in the shape of LoRAIro's, to workerkit.

``manager`` is the app's QThread-per-job WorkerManager and ``terminal`` its terminal
event; ``base_worker`` and ``legacy_workers`` its QObject workers; ``pool_jobs`` the pool
functions that replace them; ``domain`` the stdlib-only code both sides share; ``stack``
the adapter that puts the manager behind ``workerkit.JobService``; ``workers`` the
declarations (``app``).
"""
