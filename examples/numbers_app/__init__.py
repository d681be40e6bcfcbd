"""A small app with two worker kinds, a prime counter and a page fetcher, migrated with workerkit.

``workers`` holds the declarations (``app``); ``legacy_workers`` the QThread-era workers;
``pool_jobs`` the pool functions; ``domain`` the stdlib-only code both stacks share.
"""
