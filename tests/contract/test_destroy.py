"""Contract 9: destroying a service while a job runs leaves the process alive.

Run in a subprocess: on the legacy stack Qt aborts the process (D10).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from workerkit.imagelib.sample import SampleManifest

from ..child import run_script
from .conftest import Defect, qt_warnings, stack_params

pytestmark = [pytest.mark.timeout(180), pytest.mark.slow]


@pytest.mark.parametrize(
    "stack",
    stack_params(
        Defect("D10", "Qt aborts the process: QThread destroyed while the thread is still running")
    ),
)
def test_destroying_a_busy_service_keeps_the_process_alive(
    sample_library: SampleManifest, tmp_path: Path, stack: str
) -> None:
    run = run_script(
        "destroy_running_service.py",
        stack,
        str(sample_library.root),
        str(tmp_path / "library.sqlite"),
        timeout_s=90,
    )
    assert not run.hung, run.describe()
    assert run.returncode == 0 and "destroyed" in run.stdout, run.describe()
    assert qt_warnings(run) == [], run.describe()
