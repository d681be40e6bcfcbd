"""LoRAIro's 2025 worker stack: its heavy base worker, its workers, its WorkerManager.

``preview_worker`` is the one not from LoRAIro: a per-image worker on the same base.
"""
