"""Declare a worker kind once: its legacy QThread worker, its pool function, its nature.

No Qt is imported here beyond what checking a legacy worker class needs, so an app's
declarations module stays cheap to import (the CLI reads it to print flags).
"""

from __future__ import annotations

import inspect
import itertools
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Concatenate, Generic, ParamSpec, TypeVar

if TYPE_CHECKING:
    from workerkit._control import JobControl
    from workerkit._progress import WorkerProgress

P = ParamSpec("P")
R = TypeVar("R")

__all__ = ["INTERRUPT", "DeclarationError", "LegacyWorker", "WorkerKind", "Workload"]

_IDENTIFIER = re.compile(r"^[a-z][a-z0-9_]*$")

Comparator = Callable[[Any, Any], Sequence[str]]
"""Return how a candidate result differs from the legacy one (empty when they agree)."""


class DeclarationError(ValueError):
    """A kind declaration is incomplete or contradictory; the message names the kind and the fix."""


INTERRUPT = "requestInterruption"
"""``LegacyWorker(cancel=INTERRUPT)``: cancel through ``QThread.requestInterruption()``."""

# Per signal role: the fewest and the most values the signal may carry (None: no limit).
_ARITY: dict[str, tuple[int, int | None]] = {
    "finished": (0, 1),
    "result": (1, None),
    "error": (0, None),
    "canceled": (0, None),
    "progress": (1, 2),
    "batch_progress": (3, 3),
    "partial": (1, None),
}
_ROLE_USE = {
    "finished": "the result, or nothing (name the signal that carries the result as result=)",
    "result": "the result",
    "error": "the error message or exception, or nothing",
    "canceled": "nothing it needs",
    "progress": "a percentage or a progress object, and optionally a message",
    "batch_progress": "(current, total, item)",
    "partial": "the partial result",
}


@dataclass(frozen=True, slots=True, init=False)
class LegacyWorker:
    """Adapt an app's existing QThread-era worker class, unchanged, by the names of its parts.

    Two shapes are understood: a ``QObject`` worker moved to a new ``QThread`` whose
    ``started`` signal calls the ``run`` method, and a ``QThread`` subclass overriding
    ``run()``. Every name is the name of one of the worker's signals or methods, or None
    when it has no such part.

    Args:
        worker_class: The worker's class, a ``QObject`` or ``QThread`` subclass.
        factory: Builds one worker from a job's arguments (default: the class itself).
        run: The method the thread's ``started`` signal calls (``QObject`` workers). A
            run method that returns a value instead of sending it ends the job with it.
        finished: The signal the worker sends when it is done: with the result, or with
            nothing when ``result`` names the signal that carries it.
        result: A signal carrying the result, sent before a no-argument ``finished``.
        error: The signal carrying a failure (a message or an exception).
        error_of_result: A function of the result returning the failure it carries
            (an exception or a message) or None: for workers that send
            ``finished(Exception)`` or fold errors into their result.
        canceled: The worker's own signal saying it stopped on a cancel.
        progress: The progress signal: a percentage, a progress object with a
            ``percentage``, or (percentage, message).
        progress_of: A function turning the progress signal's value into a
            ``WorkerProgress``, for a progress object whose fields have other names
            (default: ``workerkit._progress.progress_of``).
        batch_progress: A signal of (current, total, item).
        partial: A signal carrying a partial result.
        cancel: The method that asks the worker to stop, or ``INTERRUPT`` for workers that
            poll ``QThread.isInterruptionRequested()``.
        partials_of_result: A function turning the finished result into the partials
            the simplified side delivers as it goes (sent just before ``job_finished``).

    Raises:
        DeclarationError: An unknown keyword was given (the message lists the known ones).
    """

    worker_class: type
    factory: Callable[..., Any] | None
    run: str
    finished: str
    result: str | None
    error: str | None
    error_of_result: Callable[[Any], object] | None
    canceled: str | None
    progress: str | None
    progress_of: Callable[[Any], WorkerProgress] | None
    batch_progress: str | None
    partial: str | None
    cancel: str | None
    partials_of_result: Callable[[Any], Any] | None

    def __init__(
        self,
        worker_class: type,
        *,
        factory: Callable[..., Any] | None = None,
        run: str = "run",
        finished: str = "finished",
        result: str | None = None,
        error: str | None = "error_occurred",
        error_of_result: Callable[[Any], object] | None = None,
        canceled: str | None = None,
        progress: str | None = None,
        progress_of: Callable[[Any], WorkerProgress] | None = None,
        batch_progress: str | None = None,
        partial: str | None = None,
        cancel: str | None = "cancel",
        partials_of_result: Callable[[Any], Any] | None = None,
        **unknown: Any,
    ) -> None:
        if unknown:
            known = ", ".join(n for n in LegacyWorker.__slots__ if n != "worker_class")
            raise DeclarationError(
                f"LegacyWorker({getattr(worker_class, '__name__', worker_class)}) got unknown "
                f"keyword{'s' if len(unknown) > 1 else ''} {', '.join(map(repr, unknown))}; "
                f"the known ones are {known}."
            )
        values = dict(locals())
        for name in LegacyWorker.__slots__:
            object.__setattr__(self, name, values[name])

    @property
    def is_thread(self) -> bool:
        """Return True for the QThread-subclass shape (the worker is its own thread)."""
        from PySide6.QtCore import QThread

        return issubclass(self.worker_class, QThread)

    def make(self, *args: Any, **kwargs: Any) -> Any:
        """Build one worker for a job."""
        return (self.factory or self.worker_class)(*args, **kwargs)

    def signals(self) -> dict[str, str]:
        """Return the named signals by role (finished, result, error, ...)."""
        roles = {role: getattr(self, role) for role in _ARITY}
        return {role: name for role, name in roles.items() if name is not None}

    def check(self, kind: str) -> None:
        """Raise DeclarationError for a missing part or a signal that cannot carry its role."""
        from PySide6.QtCore import QObject

        cls = self.worker_class
        if not (isinstance(cls, type) and issubclass(cls, QObject)):
            raise DeclarationError(
                f"Kind {kind!r}: LegacyWorker needs a QObject or QThread subclass, got {cls!r}; "
                "pass the worker class (and a factory if it needs arguments built)."
            )
        for role, name in self.signals().items():
            self._check_signal(kind, role, name)
        if self.is_thread and self.result is None and self.finished in ("finished", "started"):
            raise DeclarationError(
                f"Kind {kind!r}: {cls.__name__} is a QThread, whose own {self.finished!r} signal "
                "carries no result; name the signal that carries the result, e.g. "
                "finished='result_ready'."
            )
        self._check_methods(kind)

    def _check_signal(self, kind: str, role: str, name: str) -> None:
        from PySide6.QtCore import Signal

        cls = self.worker_class
        if not isinstance(getattr(cls, name, None), Signal):
            raise DeclarationError(
                f"Kind {kind!r}: {cls.__name__} has no signal {name!r} (the {role} "
                f"signal); name one of its signals ({_signal_names(cls)}) or pass "
                f"{role}=None."
            )
        if self.is_thread and role == "finished" and self.result is not None:
            return  # the thread's own finished(): the end of the run, no value
        fewest, most = _ARITY[role]
        counts = _parameter_counts(cls, name)
        if counts and not any(fewest <= n and (most is None or n <= most) for n in counts):
            shown = " or ".join(map(str, sorted(counts)))
            raise DeclarationError(
                f"Kind {kind!r}: {cls.__name__}.{name} carries {shown} value(s), but the {role} "
                f"signal must carry {_ROLE_USE[role]}; name another signal as {role}=."
            )

    def _check_methods(self, kind: str) -> None:
        cls = self.worker_class
        if self.is_thread and self.run != "run":
            raise DeclarationError(
                f"Kind {kind!r}: {cls.__name__} is a QThread, which runs its run() override; "
                f"run={self.run!r} does not apply to it: drop run=."
            )
        methods = {"cancel": self.cancel} | ({} if self.is_thread else {"run": self.run})
        if methods["cancel"] == INTERRUPT:
            del methods["cancel"]
        for role, name in methods.items():
            if name is not None and not callable(getattr(cls, name, None)):
                raise DeclarationError(
                    f"Kind {kind!r}: {cls.__name__} has no method {name!r} (the {role} "
                    f"method); name the method that {_ROLES[role]}"
                    + (f", INTERRUPT ({INTERRUPT!r})," if role == "cancel" else "")
                    + f" or pass {role}=None."
                )


_ROLES = {"cancel": "asks the worker to stop", "run": "does the work when the thread starts"}


def _parameter_counts(cls: type, name: str) -> set[int]:
    """Return how many values each overload of the signal ``name`` of ``cls`` carries."""
    from PySide6.QtCore import QMetaMethod

    meta = cls.staticMetaObject  # type: ignore[attr-defined]
    counts = set()
    for index in range(meta.methodCount()):
        method = meta.method(index)
        if (
            method.methodType() == QMetaMethod.MethodType.Signal
            and bytes(method.name()) == name.encode()
        ):
            counts.add(method.parameterCount())
    return counts


def _signal_names(cls: type) -> str:
    from PySide6.QtCore import Signal

    names = sorted(
        name
        for klass in cls.__mro__
        for name, value in vars(klass).items()
        if isinstance(value, Signal) and not name.startswith("_")
    )
    return ", ".join(dict.fromkeys(names)) or "it declares none"


@dataclass(frozen=True, slots=True)
class Workload:
    """A benchmark workload of one kind: ``size`` jobs, each called with what ``make`` returns.

    ``workerkit compare`` runs it on each stack in a fresh process, with ``size`` taken
    from ``sizes`` (quick run, full run). There ``setup(folder, size)``, if given, runs once
    with a private scratch folder and may prepare data; a context manager it returns is
    entered, and exited after the service has shut down. ``make(size)`` (or
    ``make(size, prepared)`` with what setup returned or entered) returns one job's
    ``(args, kwargs)`` and is called for every job before timing starts. One untimed
    warm-up job runs first; then the jobs run ``in_flight`` at a time (None: all at once).
    """

    name: str
    make: Callable[..., tuple[tuple[Any, ...], dict[str, Any]]]
    sizes: tuple[int, int] = (10, 100)
    setup: Callable[[Path, int], Any] | None = None
    in_flight: int | None = 1

    def arguments(self, size: int, prepared: Any = None) -> tuple[tuple[Any, ...], dict[str, Any]]:
        """Return one job's (args, kwargs): make(size), or make(size, prepared) with a setup."""
        args, kwargs = self.make(size) if self.setup is None else self.make(size, prepared)
        return tuple(args), dict(kwargs)

    def __post_init__(self) -> None:
        problem = self._problem()
        if problem is not None:
            raise DeclarationError(f"Workload {self.name!r} {problem}.")

    def _problem(self) -> str | None:
        if not isinstance(self.name, str) or not self.name or "/" in self.name:
            return "needs a name without '/', e.g. 'small_requests'"
        if not callable(self.make):
            return "needs make=a function of the size returning one job's (args, kwargs)"
        counts = isinstance(self.sizes, tuple) and len(self.sizes) == 2
        if not counts or not all(isinstance(n, int) and n > 0 for n in self.sizes):
            return f"needs sizes=(quick, full), two positive job counts, not {self.sizes!r}"
        if self.in_flight is not None and self.in_flight < 1:
            return "needs in_flight=None (all at once) or a positive number of jobs at once"
        return None


@dataclass(frozen=True, slots=True)
class WorkerKind(Generic[P, R]):
    """One kind of background job, declared once in the application's code.

    ``simplified`` is a plain function, sync or ``async def``, called on a pool thread as
    ``simplified(control, *args, **kwargs)``; ``legacy`` adapts the existing QThread
    worker, built with the same ``*args, **kwargs``. The kind is generic over the pool
    function's parameters after the control and its result, so a type checker checks
    ``service.start(kind, ...)``'s arguments and knows the type of the job's result.
    """

    name: str
    legacy: LegacyWorker | None
    simplified: Callable[Concatenate[JobControl, P], R] | None
    writes: bool = False
    latest_wins: bool = False
    compare: Comparator | None = None
    observe: Callable[[Any], Any] | None = None
    on_partial: Callable[[Any], Any] | None = None
    assemble: Callable[[Any, Sequence[Any]], Any] | None = None
    id_prefix: str = ""
    workloads: tuple[Workload, ...] = field(default=())

    def __post_init__(self) -> None:
        self._check()

    @property
    def prefix(self) -> str:
        """Return the job-id prefix of this kind (the name unless declared)."""
        return self.id_prefix or self.name

    @property
    def shadowable(self) -> bool:
        """Return True if shadow mode may run this kind (read-only, with a comparator)."""
        return not self.writes and self.compare is not None

    @property
    def is_async(self) -> bool:
        """Return True if the pool function is a coroutine function."""
        return inspect.iscoroutinefunction(self.simplified)

    def _check(self) -> None:
        if not isinstance(self.name, str) or not _IDENTIFIER.match(self.name):
            raise DeclarationError(
                f"Kind name {self.name!r} is not a lower-case identifier; name it like "
                "'thumbnail' or 'price_lookup' (it becomes WORKERKIT_<NAME> and a flag key)."
            )
        if self.legacy is None or self.simplified is None:
            missing = "legacy" if self.legacy is None else "simplified"
            raise DeclarationError(
                f"Kind {self.name!r} has no {missing} implementation; pass "
                + (
                    "legacy=LegacyWorker(YourQThreadWorker, ...)"
                    if missing == "legacy"
                    else "simplified=your_pool_function (def f(control, *args))"
                )
                + "."
            )
        if not callable(self.simplified):
            raise DeclarationError(
                f"Kind {self.name!r}: simplified must be a function f(control, *args), "
                f"got {self.simplified!r}."
            )
        problem = _control_problem(self.simplified)
        if problem is not None:
            raise DeclarationError(
                f"Kind {self.name!r}: the pool function {_name_of(self.simplified)} {problem}; "
                "its first parameter takes the job's control: def f(control: JobControl, "
                "*args) (workerkit.JobControl)."
            )
        if self.writes and self.compare is not None:
            raise DeclarationError(
                f"Kind {self.name!r} writes, but declares a shadow comparator: shadow mode runs "
                "every job twice, so a writing kind would write twice; drop compare= or "
                "declare writes=False if the kind only reads."
            )
        if self.writes and self.latest_wins:
            raise DeclarationError(
                f"Kind {self.name!r} writes and is latest_wins: a newer job would cancel a "
                "write half-way; drop latest_wins=True or declare writes=False."
            )
        self.legacy.check(self.name)


# Annotations of a first parameter that cannot be the job's control.
_NOT_A_CONTROL = frozenset({"int", "float", "str", "bytes", "bool", "Path", "list", "dict"})


def _control_problem(function: Callable[..., Any]) -> str | None:
    """Say why ``function`` cannot take the job's control first, or return None."""
    try:
        parameters = list(inspect.signature(function).parameters.values())
    except (TypeError, ValueError):  # a builtin without a signature: nothing to check
        return None
    kinds = (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
    if not parameters or parameters[0].kind not in (*kinds, inspect.Parameter.VAR_POSITIONAL):
        return "takes no positional parameter"
    annotation = parameters[0].annotation
    name = annotation if isinstance(annotation, str) else getattr(annotation, "__name__", "")
    if name in _NOT_A_CONTROL:
        return f"takes {parameters[0].name}: {name} first"
    return None


def _name_of(function: Callable[..., Any]) -> str:
    return getattr(function, "__qualname__", None) or repr(function)


def check_kinds(kinds: Sequence[WorkerKind[Any, Any]]) -> Mapping[str, WorkerKind[Any, Any]]:
    """Return the kinds by name, or raise DeclarationError for a repeated name or prefix."""
    by_name: dict[str, WorkerKind[Any, Any]] = {}
    for kind in kinds:
        if not isinstance(kind, WorkerKind):
            raise DeclarationError(f"Expected WorkerKind declarations, got {kind!r}.")
        if kind.name in by_name:
            raise DeclarationError(
                f"Two kinds are named {kind.name!r}; give each kind its own name."
            )
        by_name[kind.name] = kind
    prefixes = sorted((k.prefix + "_", k.name) for k in kinds)
    for (first, a), (second, b) in itertools.pairwise(prefixes):
        if second.startswith(first):
            raise DeclarationError(
                f"Kinds {a!r} and {b!r} have job-id prefixes {first!r} and {second!r}: an id of "
                f"{b!r} would read as {a!r}; give one of them another id_prefix."
            )
    return by_name
