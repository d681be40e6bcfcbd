"""How big each comparison workload is, in a quick run and in a full run."""

from __future__ import annotations

import importlib
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from importlib import metadata
from typing import Any

__all__ = [
    "CHILD_TIMEOUT_SHARE",
    "FLOOR",
    "FULL",
    "MEASURED_FLOORS",
    "PEER",
    "PEER_LIBRARY",
    "PEER_WORKLOADS",
    "QUICK",
    "STACKS",
    "WORKERS",
    "WORKLOADS",
    "Sizes",
    "parse_workers",
    "peer_version",
    "runs_for",
    "sizes_for",
    "split_names",
    "watchdog_for",
]


@dataclass(frozen=True, slots=True, kw_only=True)
class Sizes:
    """The size of every workload and how many times each (workload, stack) runs."""

    roundtrip_jobs: int
    burst_jobs: int
    library_files: int
    search_rows: int
    search_queries: int
    thumbnails: int
    annotations: int
    annotation_latency_s: float
    http_cancel_latency_s: float
    slow_rows: int
    runs: int
    slow_runs: int
    cancel_runs: int
    watchdog_s: float

    def to_dict(self) -> dict[str, Any]:
        """Return the sizes as JSON-ready values."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Sizes:
        """Build sizes from ``to_dict`` output."""
        return cls(**data)


# Full sizes are the issue's; slow_runs is for the workloads whose legacy run takes 10 s+.
FULL = Sizes(
    roundtrip_jobs=200,
    burst_jobs=1000,
    library_files=300,
    search_rows=5000,
    search_queries=50,
    thumbnails=200,
    annotations=64,
    annotation_latency_s=0.15,
    http_cancel_latency_s=3.0,
    slow_rows=12_000,
    runs=5,
    slow_runs=3,
    cancel_runs=5,
    watchdog_s=120.0,
)

QUICK = Sizes(
    roundtrip_jobs=50,
    burst_jobs=100,
    library_files=30,
    search_rows=5000,
    search_queries=10,
    thumbnails=30,
    annotations=8,
    annotation_latency_s=0.15,
    http_cancel_latency_s=3.0,
    slow_rows=12_000,
    runs=1,
    slow_runs=1,
    cancel_runs=1,
    watchdog_s=40.0,
)


def sizes_for(quick: bool) -> Sizes:
    """Return the quick or the full sizes."""
    return QUICK if quick else FULL


WORKERS: tuple[str, ...] = (
    "plumbing",
    "registration",
    "search",
    "thumbnail",
    "annotation",
    "cancellation",
)
STACKS: tuple[str, ...] = ("legacy", "simplified")
FLOOR = "floor"

# Each worker's workloads, in run order; each runs in its own process per stack and run.
WORKLOADS: dict[str, tuple[str, ...]] = {
    "plumbing": ("roundtrip", "burst"),
    "registration": ("registration",),
    "search": ("search",),
    "thumbnail": ("thumbnail",),
    "annotation": ("annotation",),
    "cancellation": ("cancel-sqlite", "cancel-http", "cancel-loop"),
}
# Workloads with a floor measured by running it as the "floor" stack.
MEASURED_FLOORS = frozenset({"roundtrip", "thumbnail"})
# Workloads also written as a superqt user would (benchmarks/peers.py), run as the "peer" stack.
PEER = "peer"
PEER_LIBRARY = "superqt"
PEER_WORKLOADS = frozenset({"roundtrip", "burst", "thumbnail"})
_SLOW = frozenset({"registration", "annotation"})


# A child's own waits give up at this share of the watchdog, so it reports a stuck wait itself.
CHILD_TIMEOUT_SHARE = 0.8

# A run of a quick workload that takes longer than this has deadlocked (D11, D4): they
# take a few seconds on either stack, so waiting longer only makes a full run long.
_QUICK_WATCHDOG_S = 30.0
_QUICK_WORKLOADS = frozenset(
    {"roundtrip", "burst", "search", "thumbnail", "cancel-sqlite", "cancel-http", "cancel-loop"}
)


def watchdog_for(workload: str, sizes: Sizes) -> float:
    """Return how long a run of ``workload`` may take before it counts as hung."""
    if workload in _QUICK_WORKLOADS:
        return min(sizes.watchdog_s, _QUICK_WATCHDOG_S)
    return sizes.watchdog_s


def runs_for(workload: str, sizes: Sizes) -> int:
    """Return how many times each stack runs ``workload``."""
    if workload.startswith("cancel-"):
        return sizes.cancel_runs
    return sizes.slow_runs if workload in _SLOW else sizes.runs


def peer_version() -> str | None:
    """Return the version of superqt if its workers can be imported, else None."""
    # PySide6 first: superqt (through qtpy) then binds to it, never to another binding.
    importlib.import_module("PySide6.QtCore")
    try:
        importlib.import_module(f"{PEER_LIBRARY}.utils")
    except ImportError:
        return None
    try:
        return metadata.version(PEER_LIBRARY)
    except metadata.PackageNotFoundError:
        return "of unknown version"


def parse_workers(text: str, known: Sequence[str] = WORKERS) -> tuple[str, ...]:
    """Return the workers named in a comma-separated list, or raise naming the known ones."""
    names = split_names(text)
    unknown = [n for n in names if n not in known]
    if unknown or not names:
        raise ValueError(
            f"Unknown worker {', '.join(unknown) or '(none given)'} in --workers {text!r}: "
            f"expected a comma-separated list of {', '.join(known)}."
        )
    return names


def split_names(text: str) -> tuple[str, ...]:
    """Return the distinct lower-case names of a comma-separated list, in order."""
    return tuple(dict.fromkeys(n.strip().lower() for n in text.split(",") if n.strip()))
