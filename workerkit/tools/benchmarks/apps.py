"""The app under comparison: its kinds' declared workloads, and how a child process imports it.

Free of Qt at import time: the parent plans with it, and each child loads the app
again from the same ``module:attribute`` spec, with the parent's import roots on
``PYTHONPATH`` and the parent's folder as its working directory.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from workerkit._app import App, app_spec, load_app
from workerkit._kind import WorkerKind, Workload
from workerkit.tools.benchmarks.plan import WORKERS, parse_workers, split_names

__all__ = [
    "JOB_ENDS",
    "AppTarget",
    "KindWorkload",
    "builtin_workers",
    "find_workload",
    "is_kind_workload",
    "kind_workloads",
    "load_target",
    "offered_workers",
    "select_workers",
]

PLUMBING: tuple[str, ...] = ("plumbing",)
# How a job of a declared workload can end; each is counted as a metric of the run.
JOB_ENDS: tuple[str, ...] = ("finished", "failed", "canceled")
_KEY_SEPARATOR = "/"


@dataclass(frozen=True, slots=True)
class AppTarget:
    """The app under comparison, its spec, and where a child process imports it from."""

    app: App
    spec: str
    cwd: Path
    paths: tuple[str, ...]

    @property
    def is_image_library(self) -> bool:
        """Return True if the app is the image library, whose workloads are built in."""
        # Only importing that module creates its App, so an app not yet imported is another.
        module = sys.modules.get("workerkit.imagelib.kinds")
        return module is not None and self.app is getattr(module, "app", None)

    def environment(self, base: Mapping[str, str]) -> dict[str, str]:
        """Return ``base`` with the app's import roots in front of its PYTHONPATH."""
        existing = [p for p in base.get("PYTHONPATH", "").split(os.pathsep) if p]
        return dict(base, PYTHONPATH=os.pathsep.join(dict.fromkeys([*self.paths, *existing])))


@dataclass(frozen=True, slots=True)
class KindWorkload:
    """One declared workload of one kind, at this run's size (its number of jobs)."""

    kind: str
    name: str
    size: int
    in_flight: int | None

    @classmethod
    def declared(cls, kind: WorkerKind, workload: Workload, quick: bool) -> KindWorkload:
        """Return ``kind``'s ``workload`` at its quick or its full size."""
        size = workload.sizes[0 if quick else 1]
        return cls(kind.name, workload.name, size, workload.in_flight)

    @property
    def key(self) -> str:
        """Return the workload's name in the runs: ``kind/name``."""
        return f"{self.kind}{_KEY_SEPARATOR}{self.name}"


def load_target(explicit: str | None, cwd: Path) -> AppTarget:
    """Load the configured app (``cwd`` importable as a last resort); say how to import it."""
    spec, _source = app_spec(cwd, explicit)
    with _importable_from(cwd):
        app = load_app(explicit, cwd=cwd)
    root = _import_root(spec.partition(":")[0])
    paths = tuple(dict.fromkeys(p for p in (root, str(cwd)) if p))
    return AppTarget(app, spec, cwd, paths)


@contextmanager
def _importable_from(folder: Path) -> Iterator[None]:
    """Let modules in ``folder`` be imported meanwhile, after everything else on sys.path."""
    entry = str(folder)
    added = entry not in sys.path
    if added:
        sys.path.append(entry)
    try:
        yield
    finally:
        if added and entry in sys.path:
            sys.path.remove(entry)


def _import_root(module_name: str) -> str | None:
    """Return the sys.path folder the module was imported from, if it came from a file."""
    file = getattr(sys.modules.get(module_name), "__file__", None)
    if file is None:
        return None
    path = Path(file).absolute()
    depth = module_name.count(".") + (path.stem == "__init__")
    return str(path.parents[depth])


def builtin_workers(target: AppTarget) -> tuple[str, ...]:
    """Return the built-in workers for the app: all for the image library, else the plumbing."""
    # scale: no-op jobs of the toolkit's own, at three sizes (benchmarks/scale.py).
    return (WORKERS if target.is_image_library else PLUMBING) + ("scale",)


def offered_workers(target: AppTarget) -> tuple[str, ...]:
    """Return what --workers may name: the built-in workers, then the kinds with workloads."""
    builtin = builtin_workers(target)
    kinds = tuple(kind.name for kind in target.app.kinds if kind.workloads)
    for name in kinds:
        if name in builtin:
            raise ValueError(
                f"Kind {name!r} of {target.app.name} declares benchmark workloads, but "
                f"{name!r} is also a built-in compare worker; rename the kind or drop its "
                "workloads."
            )
        _check_unique(target.app.kind(name))
    return builtin + kinds


def _check_unique(kind: WorkerKind) -> None:
    names = [workload.name for workload in kind.workloads]
    repeated = sorted({name for name in names if names.count(name) > 1})
    if repeated:
        raise ValueError(
            f"Kind {kind.name!r} declares more than one workload named "
            f"{', '.join(map(repr, repeated))}; give each workload its own name."
        )


def select_workers(target: AppTarget, text: str | None) -> tuple[str, ...]:
    """Return the workers named by --workers, or raise naming why.

    Without --workers: every offered worker for the image library; for another app, its
    own kinds' workloads only (the built-in plumbing measures the image library's jobs,
    and needs its sample built; name it with --workers plumbing to have it too).
    """
    offered = offered_workers(target)
    if text is None:
        if target.is_image_library:
            return offered
        return tuple(name for name in offered if name in target.app.names)
    idle = [n for n in split_names(text) if n in target.app.names and n not in offered]
    if idle:
        raise ValueError(
            f"Kind {idle[0]!r} of {target.app.name} declares no benchmark workloads; add "
            "workloads=(Workload(...),) to its WorkerKind to compare it."
        )
    return parse_workers(text, offered)


def kind_workloads(app: App, workers: Sequence[str], quick: bool) -> list[KindWorkload]:
    """Return the declared workloads of the kinds among ``workers``, at the run's size."""
    return [
        KindWorkload.declared(kind, workload, quick)
        for kind in app.kinds
        if kind.name in workers
        for workload in kind.workloads
    ]


def find_workload(app: App, key: str) -> tuple[WorkerKind, Workload]:
    """Return the kind and the workload a ``kind/name`` key names, or raise naming the choices."""
    kind_name, _, name = key.partition(_KEY_SEPARATOR)
    kind = app.kind(kind_name)
    for workload in kind.workloads:
        if workload.name == name:
            return kind, workload
    declared = ", ".join(repr(w.name) for w in kind.workloads) or "none"
    raise ValueError(f"Kind {kind.name!r} has no workload {name!r}; it declares {declared}.")


def is_kind_workload(workload: str) -> bool:
    """Return True if a run's workload name is a declared kind's (``kind/name``)."""
    return _KEY_SEPARATOR in workload
