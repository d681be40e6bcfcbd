"""Contract 7: a burst of 500 jobs runs on no more OS threads than the pool allows, and ends.

Run in a subprocess with a watchdog: a legacy burst can deadlock the GUI thread (D11).
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from ..child import run_script
from .conftest import Defect, stack_params

pytestmark = [pytest.mark.timeout(180), pytest.mark.slow]

BURST_JOBS = 500
WATCHDOG_S = 120


@pytest.mark.parametrize(
    "stack",
    stack_params(
        Defect(
            "D5",
            "starts within one second share one id, so most of the burst is refused and the "
            "rest reuse one id; each job that starts gets its own OS thread (D9); a deadlock "
            "(D11) would show as a hang",
            also=("D9",),
        )
    ),
)
def test_burst_of_500_jobs_stays_within_the_pool_and_every_job_ends(
    registered_db: Path, tmp_path: Path, stack: str
) -> None:
    db = tmp_path / "burst.sqlite"
    shutil.copyfile(registered_db, db)
    run = run_script("contract_burst.py", stack, str(db), str(BURST_JOBS), timeout_s=WATCHDOG_S)
    measured = run.measured
    assert not run.hung and measured is not None and run.returncode == 0, run.describe()
    assert not measured["timed_out"], run.describe()
    assert measured["refused"] == 0, run.describe()
    assert measured["distinct_ids"] == measured["started"] == BURST_JOBS, run.describe()
    assert measured["terminal"] == BURST_JOBS, run.describe()
    assert measured["more_than_one_terminal"] == 0, run.describe()
    assert measured["extra_threads"] <= measured["pool_limit"], run.describe()
