"""Contract 1: every job ends with exactly one terminal event, and nothing of it comes later."""

from __future__ import annotations

import pytest

from .conftest import QUIET_MS, Defect, Scenarios, kind_stack_params

pytestmark = pytest.mark.timeout(120)

CANCEL_ALSO_FAILS = Defect(
    "D2",
    "the job raises at its next cancellation check and reports an error after the canceled",
)


@pytest.mark.parametrize(("kind", "stack"), kind_stack_params())
def test_finished_job_reports_exactly_one_terminal_event(
    scenarios: Scenarios, kind: str, stack: str
) -> None:
    run = scenarios.finished(kind, stack)
    assert [e.name for e in run.terminal()] == ["job_finished"], run.describe()
    assert [e.name for e in run.kind_terminal()] == [f"{_word(kind)}_finished"], run.describe()
    # The run waited QUIET_MS after the terminal event: nothing of the job may follow it.
    assert run.after_terminal() == [], f"within {QUIET_MS} ms: {run.describe()}"


@pytest.mark.parametrize(
    ("kind", "stack"),
    kind_stack_params({"registration": CANCEL_ALSO_FAILS, "thumbnail": CANCEL_ALSO_FAILS}),
)
def test_canceled_job_reports_exactly_one_terminal_event(
    scenarios: Scenarios, kind: str, stack: str
) -> None:
    run = scenarios.canceled(kind, stack)
    assert [e.name for e in run.terminal()] == ["job_canceled"], run.describe()
    assert [e.name for e in run.kind_terminal()] == [f"{_word(kind)}_canceled"], run.describe()
    assert run.after_terminal() == [], f"within {QUIET_MS} ms: {run.describe()}"


def _word(kind: str) -> str:
    from .conftest import SIGNAL_WORDS

    return SIGNAL_WORDS[kind]
