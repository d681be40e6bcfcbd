"""Contract 8: shutdown() with a job of every kind active keeps to its timeout, cleanly.

Run in a subprocess: the legacy stack may terminate() a thread that runs Python (D4).
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from .conftest import Defect, LongSearch, run_script, stack_params

pytestmark = [pytest.mark.timeout(180), pytest.mark.slow]

TIMEOUT_MS = 2_000
MARGIN_S = 0.5


@pytest.mark.parametrize(
    "stack",
    stack_params(
        Defect(
            "D3",
            "shutdown cancels the jobs one after another, each cancel blocking the GUI thread; "
            "the 3 s HTTP call outlasts the 2 s wait, is terminate()d and stays active",
            also=("D4", "D1"),
        )
    ),
)
def test_shutdown_with_every_kind_active_returns_within_its_timeout(
    search_db: Path,
    slow_library: Path,
    long_search: LongSearch,
    big_png: Path,
    tmp_path: Path,
    stack: str,
) -> None:
    db = tmp_path / "search.sqlite"
    shutil.copyfile(search_db, db)
    after = long_search.conditions.registered_after
    config = {
        "library": str(slow_library),
        "db": str(db),
        "caption": long_search.conditions.caption,
        "registered_after": after.isoformat() if after else None,
        "big_png": str(big_png),
        "timeout_ms": TIMEOUT_MS,
    }
    config_path = tmp_path / "config.json"
    config_path.write_text(json.dumps(config))
    run = run_script("contract_shutdown.py", stack, str(config_path), timeout_s=120)
    measured = run.measured
    assert not run.hung and measured is not None, run.describe()
    assert measured["all_active"], run.describe()
    assert measured["elapsed_s"] <= TIMEOUT_MS / 1000 + MARGIN_S, run.describe()
    assert measured["returned"] is True, run.describe()
    assert measured["active_after"] == 0, run.describe()
    assert run.returncode == 0 and "exited" in run.stdout, run.describe()
    assert run.qt_warnings() == [], run.describe()
