"""Contract 3: service signals reach their slots on the GUI thread, which jobs never freeze."""

from __future__ import annotations

import pytest

from .conftest import STALL_BOUND_S, Defect, Scenarios, kind_stack_params

pytestmark = pytest.mark.timeout(120)


@pytest.mark.parametrize("scenario", ["finished", "canceled"])
@pytest.mark.parametrize(("kind", "stack"), kind_stack_params())
def test_service_signals_arrive_on_the_gui_thread(
    scenarios: Scenarios, scenario: str, kind: str, stack: str
) -> None:
    run = getattr(scenarios, scenario)(kind, stack)
    elsewhere = [f"{e.brief()} on {e.thread.name}" for e in run.events if not e.on_gui_thread]
    assert len(run.events) >= 3, run.describe()
    assert elsewhere == []


@pytest.mark.parametrize(
    ("kind", "stack"),
    kind_stack_params(
        {
            "thumbnail": Defect(
                "D6",
                "making a QPixmap in the worker thread freezes the GUI event loop for the "
                "whole decode of the big image",
            )
        }
    ),
)
def test_gui_event_loop_keeps_running_while_a_job_is_in_its_long_step(
    scenarios: Scenarios, kind: str, stack: str
) -> None:
    run = scenarios.canceled(kind, stack)
    if run.longest_stall_s >= STALL_BOUND_S:
        # Measure once more and keep the shorter stall: a freeze the stack causes comes
        # back every run; a pause of a loaded machine's scheduler (one CI run under load:
        # 267 ms on simplified, where the legacy freeze takes 706 ms) seldom does twice.
        retry = scenarios.again("canceled", kind, stack)
        run = min(run, retry, key=lambda r: r.longest_stall_s)
    assert run.longest_stall_s < STALL_BOUND_S, (
        f"a 5 ms timer on the GUI thread waited {run.longest_stall_s * 1000:.0f} ms in the "
        f"shorter of two runs; {run.describe()}"
    )
