"""What an app hands the contract plugin: its declarations and a quick and a long call per kind."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    import pytest

    from workerkit._app import App
    from workerkit._stack import Stack

__all__ = ["STACKS", "Contract", "Role", "Sample", "SampleSource", "call"]

STACKS: tuple[str, ...] = ("legacy", "simplified")

Role = Literal["quick", "long", "failing"]
"""Which of a kind's samples a case starts: a quick job, one with a long step, one that raises."""


@dataclass(frozen=True, slots=True)
class Sample:
    """The arguments of one job: ``service.start(kind, *args, **kwargs)``."""

    args: tuple[Any, ...] = ()
    kwargs: Mapping[str, Any] = field(default_factory=dict)


def call(*args: Any, **kwargs: Any) -> Sample:
    """Return the sample of a job started with these arguments."""
    return Sample(args, kwargs)


SampleSource = Sample | Callable[["pytest.FixtureRequest"], Sample]
"""A sample, or a function that builds one from the test's fixtures (request.getfixturevalue)."""


@dataclass(frozen=True, slots=True)
class Contract:
    """Point the contract cases at an app: a quick job and a job with a long step per kind.

    ``quick`` jobs must finish; ``long`` jobs must have one step that takes about
    ``long_step_s`` by itself (one number, or one per kind), so that a cancel can land
    inside it, and a canceled long job must end within half that step. A kind in
    ``uninterruptible`` (its long step is one call nothing can stop) is only held to
    ending canceled. ``cancel_after_ms`` is how long a long job runs before it is canceled.
    ``terminal_timeout_s`` is how long a case waits for a job's end (and gives
    ``wait_for_all``): a stack that never ends a job costs that much per case, so set it
    near what the quick jobs need on a loaded machine.
    ``failing`` gives, for the kinds that have one, a job whose work raises (the cases
    about failures skip the other kinds). A sample given as a function of the test's
    ``request`` is called once for every job a case starts (a case may start several):
    make fresh inputs in each call, or hand out read-only ones.

    Every legacy case runs in a child pytest (``workerkit.testing._isolation``). A legacy
    case that fails is reported as an expected failure of the legacy stack
    (``legacy_failures="xfail"``), or fails the run (``"fail"``). ``legacy_long`` gives
    legacy its own long samples where its manager needs them: one that waits for a
    canceled job on the GUI thread, or ``terminate()``s a thread that does not stop in
    time (LoRAIro's 2025 manager does both, after 2 s), is better shown on a long step
    shorter than its wait.
    """

    app: App
    quick: Mapping[str, SampleSource]
    long: Mapping[str, SampleSource]
    stacks: tuple[str, ...] = STACKS
    # Further stacks to run the cases on, by label: a Stack class standing in for the
    # simplified stack (used to check that the cases catch a broken stack).
    extra_stacks: Mapping[str, type[Stack]] = field(default_factory=dict)
    legacy_long: Mapping[str, SampleSource] = field(default_factory=dict)
    failing: Mapping[str, SampleSource] = field(default_factory=dict)
    max_threads: int = 2
    long_step_s: float | Mapping[str, float] = 1.0
    uninterruptible: frozenset[str] = frozenset()
    cancel_after_ms: int = 150
    shutdown_timeout_ms: int = 5000
    terminal_timeout_s: float = 60.0
    legacy_failures: Literal["xfail", "fail"] = "xfail"

    def __post_init__(self) -> None:
        for role, samples in (("quick", self.quick), ("long", self.long)):
            for name in samples:
                self.app.kind(name)
            missing = [name for name in self.app.names if name not in samples]
            if missing:
                raise ValueError(
                    f"Contract for {self.app.name}: no {role} sample for "
                    f"{', '.join(map(str, missing))}; add one per declared kind, e.g. "
                    f"{role}={{'{missing[0]}': call(...)}}."
                )
        for name in (*self.legacy_long, *self.failing):
            self.app.kind(name)

    def step_of(self, kind: str) -> float:
        """Return how long ``kind``'s long step takes by itself, in seconds."""
        step = self.long_step_s
        return float(step) if isinstance(step, int | float) else float(step[kind])

    @property
    def labels(self) -> tuple[str, ...]:
        """Return every stack label the cases run on: the stacks, then the extra stacks."""
        return (*self.stacks, *self.extra_stacks)

    def sample(self, kind: str, role: Role, request: Any, stack: str = "") -> Sample:
        """Return the ``role`` sample of ``kind``, built from the test's fixtures if need be.

        Raises:
            KeyError: ``kind`` has no ``failing`` sample (see ``has_failing``).
        """
        if role == "long" and stack == "legacy" and kind in self.legacy_long:
            source = self.legacy_long[kind]
        else:
            source = {"quick": self.quick, "long": self.long, "failing": self.failing}[role][kind]
        return source if isinstance(source, Sample) else source(request)

    def has_failing(self, kind: str) -> bool:
        """Return True if ``kind`` has a ``failing`` sample."""
        return kind in self.failing
