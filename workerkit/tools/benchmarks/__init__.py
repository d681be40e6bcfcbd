"""Comparison benchmarks: the same workloads on the legacy and the simplified stack."""

from workerkit.tools.benchmarks.plan import FULL, QUICK, WORKERS, WORKLOADS, Sizes, sizes_for

__all__ = ["FULL", "QUICK", "WORKERS", "WORKLOADS", "Sizes", "sizes_for"]
