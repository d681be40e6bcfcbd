"""Contract 8: shutdown() with a job of every kind active keeps to its timeout, cleanly.

Run in a subprocess: the legacy stack may terminate() a thread that runs Python (D4). The
HTTP call it cancels lasts 1.5 s, under the 2 s after which it would: a terminate() here
can hang the process until the watchdog ends it, which would only cost time.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from workerkit.imagelib.sample import SampleManifest

from ..child import run_script
from .conftest import Defect, LongSearch, qt_warnings, stack_params

pytestmark = [pytest.mark.timeout(180), pytest.mark.slow]

TIMEOUT_MS = 2_000
MARGIN_S = 0.5
SEARCH_S = 0.3


@pytest.mark.parametrize(
    "stack",
    stack_params(
        Defect(
            "D1",
            "the annotation canceled inside its HTTP call stays active after shutdown (and "
            "each cancel blocks the GUI thread in turn, D3, close to the timeout)",
        )
    ),
)
def test_shutdown_with_every_kind_active_returns_within_its_timeout(
    search_db: Path,
    sample_library: SampleManifest,
    long_search: LongSearch,
    tmp_path: Path,
    stack: str,
) -> None:
    db = tmp_path / "search.sqlite"
    shutil.copyfile(search_db, db)
    # Short enough that a legacy cancel, waiting for it on two busy cores, stays under 2 s.
    search = long_search.shortened(SEARCH_S)
    after = search.registered_after
    config = {
        "library": str(sample_library.root),
        "db": str(db),
        "caption": search.caption,
        "registered_after": after.isoformat() if after else None,
        "timeout_ms": TIMEOUT_MS,
    }
    config_path = tmp_path / "config.json"
    config_path.write_text(json.dumps(config))
    run = run_script("contract_shutdown.py", stack, str(config_path), timeout_s=60)
    measured = run.measured
    assert not run.hung and measured is not None, run.describe()
    assert measured["all_active"], run.describe()
    assert measured["elapsed_s"] <= TIMEOUT_MS / 1000 + MARGIN_S, run.describe()
    assert measured["returned"] is True, run.describe()
    assert measured["active_after"] == 0, run.describe()
    assert run.returncode == 0 and "exited" in run.stdout, run.describe()
    assert qt_warnings(run) == [], run.describe()
