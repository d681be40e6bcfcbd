"""Contract 2: a job's progress never goes down, and a finished job's ends at 100."""

from __future__ import annotations

import pytest

from .conftest import Scenarios, kind_stack_params

pytestmark = pytest.mark.timeout(120)


@pytest.mark.parametrize(("kind", "stack"), kind_stack_params())
def test_finished_job_progress_never_decreases_and_ends_at_100(
    scenarios: Scenarios, kind: str, stack: str
) -> None:
    run = scenarios.finished(kind, stack)
    progress = run.progress()
    assert progress, f"no progress at all; {run.describe()}"
    assert progress == sorted(progress), f"progress went down: {progress}"
    assert progress[-1] == 100, f"last progress {progress[-1]}: {progress}"


@pytest.mark.parametrize(("kind", "stack"), kind_stack_params())
def test_canceled_job_progress_never_decreases(scenarios: Scenarios, kind: str, stack: str) -> None:
    run = scenarios.canceled(kind, stack)
    progress = run.progress()
    assert progress, f"no progress before the job was canceled; {run.describe()}"
    assert progress == sorted(progress), f"progress went down: {progress}"
