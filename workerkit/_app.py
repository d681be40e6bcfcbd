"""An application's declared worker kinds, its migration stages, and where to find them.

The app is named in ``[tool.workerkit] app = "module:attribute"`` of ``pyproject.toml``
or ``workerkit.toml`` (or ``--app``, or ``WORKERKIT_APP``); with none configured, the
image library (``workerkit.imagelib.kinds:app``) is the app.
"""

from __future__ import annotations

import importlib
import os
import sys
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from workerkit._config import ConfigError, project_configs
from workerkit._extras import extra_advice
from workerkit._kind import DeclarationError, WorkerKind, check_kinds

if TYPE_CHECKING:
    from workerkit._stacks import StackFactory

__all__ = [
    "DEFAULT_APP",
    "App",
    "AppError",
    "Stage",
    "Suite",
    "UnknownKind",
    "app_spec",
    "load_app",
]

DEFAULT_APP = "workerkit.imagelib.kinds:app"
APP_ENV = "WORKERKIT_APP"


class AppError(ValueError):
    """The configured app cannot be found or is not an App; the message says where to fix it."""


@dataclass(frozen=True, slots=True)
class Suite:
    """A pytest selection whose result is a checklist gate: paths and ``-k`` words."""

    name: str
    paths: tuple[str, ...]
    words: tuple[str, ...] = ()

    def command(self) -> str:
        """Return the pytest command that runs about the same selection by hand."""
        keyword = f' -k "{" and ".join(self.words)}"' if self.words else ""
        return f"pytest {' '.join(self.paths)}{keyword}"


@dataclass(frozen=True, slots=True)
class Stage:
    """One migration stage of the checklist: the kinds it moves and what gates it.

    ``workers`` names further ``workerkit compare`` rows whose budgets the stage checks;
    ``suites`` further test selections that must pass; ``removes_legacy`` says the stage
    ends with no kind routable to the legacy stack.
    """

    number: int
    title: str
    kinds: tuple[str, ...] = ()
    workers: tuple[str, ...] = ()
    suites: tuple[Suite, ...] = ()
    removes_legacy: bool = False


@dataclass(frozen=True, slots=True)
class App:
    """Hold an application's declared kinds; look kinds up by name or by job id.

    Args:
        name: The app's name, as the tools show it.
        kinds: The app's worker kinds.
        legacy_stack: The stack that runs a kind whose flag is ``legacy``: the app's own
            worker manager behind a ``workerkit.Stack`` subclass (or any
            ``factory(app, parent)`` returning a Stack). None: workerkit's careful
            QThread-per-job stack, wired as Qt documents it.
        stages: The migration stages the checklist walks through.
        budgets: The checklist's limits for compare rows and the shadow log.
        default_stack: Where a kind's jobs go when no flag source names a stack: legacy
            (the default, while the migration runs) or simplified (once it is done: the
            checklist's last stage asks that no kind can reach legacy any more).

    Raises:
        DeclarationError: Two kinds share a name or a job-id prefix, a stage names an
            undeclared kind, ``legacy_stack`` is not callable, or ``default_stack`` is
            neither legacy nor simplified.
    """

    name: str
    kinds: tuple[WorkerKind, ...]
    legacy_stack: StackFactory | None = None
    stages: tuple[Stage, ...] = ()
    budgets: Mapping[str, Any] = field(default_factory=dict)
    default_stack: str = "legacy"
    _by_name: Mapping[str, WorkerKind] = field(init=False, repr=False, compare=False)

    def __init__(
        self,
        name: str,
        kinds: Iterable[WorkerKind],
        *,
        legacy_stack: StackFactory | None = None,
        stages: Sequence[Stage] = (),
        budgets: Mapping[str, Any] | None = None,
        default_stack: str = "legacy",
    ) -> None:
        kinds = tuple(kinds)
        if default_stack not in ("legacy", "simplified"):
            raise DeclarationError(
                f"{name}: default_stack must be 'legacy' or 'simplified', not {default_stack!r}."
            )
        if legacy_stack is not None and not callable(legacy_stack):
            raise DeclarationError(
                f"{name}: legacy_stack must be a workerkit.Stack subclass (or a factory "
                f"of (app, parent) returning one), not {legacy_stack!r}."
            )
        object.__setattr__(self, "name", name)
        object.__setattr__(self, "kinds", kinds)
        object.__setattr__(self, "legacy_stack", legacy_stack)
        object.__setattr__(self, "stages", tuple(stages))
        object.__setattr__(self, "budgets", dict(budgets or {}))
        object.__setattr__(self, "default_stack", default_stack)
        object.__setattr__(self, "_by_name", check_kinds(kinds))
        self._check_stages()

    @property
    def legacy_stack_name(self) -> str:
        """Return what runs this app's legacy side, for the tools: its stack's name."""
        stack = self.legacy_stack
        if stack is None:
            return "workerkit's QThread-per-job stack"
        return getattr(stack, "__qualname__", None) or type(stack).__name__

    @property
    def names(self) -> tuple[str, ...]:
        """Return the declared kind names in declaration order."""
        return tuple(self._by_name)

    def kind(self, name: str | WorkerKind[Any, Any]) -> WorkerKind[Any, Any]:
        """Return the declared kind ``name`` (a name, or the declaration itself).

        Raises:
            UnknownKind: The app declares no such kind (the message lists those it does).
        """
        if isinstance(name, WorkerKind):
            if self._by_name.get(name.name) is not name:
                raise UnknownKind(self, name.name, declaration=name.name in self._by_name)
            return name
        key = name.strip().lower() if isinstance(name, str) else name
        try:
            return self._by_name[key]
        except KeyError:
            raise UnknownKind(self, name) from None

    def of_job(self, job_id: str) -> WorkerKind:
        """Return the kind whose prefix the job id carries (both stacks keep the prefix)."""
        for kind in self.kinds:
            if job_id.startswith(kind.prefix + "_"):
                return kind
        prefixes = ", ".join(f"{k.prefix}_" for k in self.kinds)
        raise ValueError(
            f"Job id {job_id!r} does not start with a known kind prefix of {self.name} "
            f"({prefixes})."
        )

    def _check_stages(self) -> None:
        for stage in self.stages:
            for name in stage.kinds:
                if name not in self._by_name:
                    raise DeclarationError(
                        f"Stage {stage.number} of {self.name} names kind {name!r}, which is not "
                        f"declared; use one of {', '.join(self.names)}."
                    )


class UnknownKind(KeyError):
    """A kind that the app does not declare (by name, or a declaration it does not hold)."""

    def __init__(self, app: App, name: object, *, declaration: bool = False) -> None:
        self.app_name, self.name, self.declared = app.name, name, app.names
        self.declaration = declaration
        super().__init__(str(self))

    def __str__(self) -> str:
        if self.declaration:
            return (
                f"The kind {self.name!r} given is not the declaration {self.app_name} holds "
                f"under that name (a copy, or another app's kind); pass the app's own "
                f"declaration or the name {self.name!r}."
            )
        return (
            f"Unknown worker kind {self.name!r}: {self.app_name} declares "
            f"{', '.join(self.declared)}."
        )


def app_spec(cwd: Path | None = None, explicit: str | None = None) -> tuple[str, str]:
    """Return (``module:attribute``, where it came from) for the configured app."""
    if explicit:
        return explicit, "command line --app"
    if os.environ.get(APP_ENV, "").strip():
        return os.environ[APP_ENV].strip(), f"environment {APP_ENV}"
    try:
        configs = project_configs(cwd)
    except ConfigError as exc:
        raise AppError(str(exc)) from None
    for config in configs:
        if config.app is not None:
            return config.app, config.app_source
    return DEFAULT_APP, "the default: no app configured"


def _import(module_name: str, cwd: Path) -> Any:
    # The console script does not put the working folder on sys.path, as `python -m` does:
    # an app module of the project one stands in is found there last.
    try:
        return importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        folder = str(cwd.resolve())
        if not exc.name or not module_name.startswith(exc.name) or folder in sys.path:
            raise
        sys.path.append(folder)
        return importlib.import_module(module_name)


def load_app(spec: str | None = None, *, cwd: Path | None = None) -> App:
    """Import and return the configured App (``module:attribute``, attribute default app).

    Args:
        spec: ``module:attribute`` naming the App; None: the configured one (``app_spec``).
        cwd: The folder whose ``pyproject.toml`` / ``workerkit.toml`` configure the app.

    Returns:
        The app.

    Raises:
        AppError: The module cannot be imported, has no such attribute, or the
            attribute is no App; the message says which, where it was configured, and
            the fix.
    """
    text, source = app_spec(cwd, spec)
    module_name, _, attribute = text.partition(":")
    folder = cwd or Path.cwd()
    try:
        module = _import(module_name, folder)
    except ImportError as exc:
        raise AppError(_import_problem(text, source, exc, folder)) from None
    attribute = attribute or "app"
    if not hasattr(module, attribute):
        found = _apps_in(module)
        hint = f" (its App objects: {', '.join(found)})" if found else " (it holds no App)"
        raise AppError(
            f"{text} ({source}): module {module_name!r} has no attribute {attribute!r}{hint}; "
            f"name the App as '{module_name}:<attribute>'."
        )
    app = getattr(module, attribute)
    if not isinstance(app, App):
        raise AppError(
            f"{text} ({source}) is {type(app).__name__}, not a workerkit App; point it at "
            "an App(...) holding your WorkerKind declarations."
        )
    return app


def _import_problem(text: str, source: str, exc: ImportError, folder: Path) -> str:
    """Say why ``text`` did not import: a missing module, or a '.' where ':' was meant."""
    module_name, _, _ = text.partition(":")
    parent, dot, last = module_name.rpartition(".")
    if ":" not in text and dot:
        try:
            holder = _import(parent, folder)
        except ImportError:
            holder = None
        if holder is not None and isinstance(getattr(holder, last, None), App):
            return (
                f"Cannot import the app module {module_name!r} ({source}); '{parent}' has "
                f"an App named {last!r}: write '{parent}:{last}' (module:attribute)."
            )
    advice = None
    if isinstance(exc, ModuleNotFoundError):
        advice = extra_advice(exc, f"The app {text} ({source})")
    if advice is not None:
        return (
            f"{advice}; or name your own app in [tool.workerkit] app = 'module:attribute' "
            f"(or {APP_ENV})."
        )
    return (
        f"Cannot import the app module {module_name!r} ({source}): {exc}; check the name "
        "and that the module is importable (installed, or on PYTHONPATH); the form is "
        "'module:attribute'."
    )


def _apps_in(module: Any) -> list[str]:
    return sorted(name for name, value in vars(module).items() if isinstance(value, App))
