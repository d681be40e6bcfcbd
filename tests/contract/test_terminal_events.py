"""Contract 1: every job ends with exactly one terminal event, and nothing of it comes later."""

from __future__ import annotations

import pytest

from .conftest import QUIET_MS, SIGNAL_WORDS, Defect, Scenarios, kind_stack_params

pytestmark = pytest.mark.timeout(120)

# The blocking cancel (D3) lets the job run on; canceled is emitted synchronously, before the
# events the job queued meanwhile reach the GUI thread.
EVENTS_AFTER_CANCELED = Defect(
    "D3",
    "cancel blocks until the job has run on, then reports canceled before the job's queued "
    "progress",
)
ERROR_AFTER_CANCELED = Defect(
    "D2", "the job raises at its next cancellation check and reports an error after canceled"
)


@pytest.mark.parametrize(("kind", "stack"), kind_stack_params())
def test_finished_job_reports_exactly_one_terminal_event(
    scenarios: Scenarios, kind: str, stack: str
) -> None:
    run = scenarios.finished(kind, stack)
    word = SIGNAL_WORDS[kind]
    assert [e.name for e in run.terminal()] == ["job_finished"], run.describe()
    assert [e.name for e in run.kind_terminal()] == [f"{word}_finished"], run.describe()
    # The run waited QUIET_MS after the terminal event: nothing of the job may follow it.
    assert run.after_terminal() == [], f"within {QUIET_MS} ms: {run.describe()}"


@pytest.mark.parametrize(
    ("kind", "stack"),
    kind_stack_params(
        {
            "registration": ERROR_AFTER_CANCELED,
            "search": EVENTS_AFTER_CANCELED,
            "thumbnail": ERROR_AFTER_CANCELED,
            "annotation": EVENTS_AFTER_CANCELED,
        }
    ),
)
def test_canceled_job_reports_exactly_one_terminal_event(
    scenarios: Scenarios, kind: str, stack: str
) -> None:
    run = scenarios.canceled(kind, stack)
    word = SIGNAL_WORDS[kind]
    assert [e.name for e in run.terminal()] == ["job_canceled"], run.describe()
    assert [e.name for e in run.kind_terminal()] == [f"{word}_canceled"], run.describe()
    assert run.after_terminal() == [], f"within {QUIET_MS} ms: {run.describe()}"
