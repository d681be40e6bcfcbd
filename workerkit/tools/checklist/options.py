"""Where the checklist looks for its facts, and whether it may run tests and benchmarks."""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from workerkit._app import APP_ENV
from workerkit._shadow_log import DEFAULT_SHADOW_LOG as SHADOW_LOG_NAME

__all__ = [
    "CONTRACT_DIR",
    "DEFAULT_COMPARE",
    "DEFAULT_MIGRATION",
    "DEFAULT_SHADOW_LOG",
    "RESULTS_DIR",
    "Options",
    "default_contract_tests",
]

DEFAULT_MIGRATION = Path("MIGRATION.md")
DEFAULT_COMPARE = Path("workerkit-compare/compare.json")
DEFAULT_SHADOW_LOG = Path(SHADOW_LOG_NAME)
RESULTS_DIR = Path("workerkit-checklist")
CONTRACT_DIR = "tests/contract"


@dataclass(slots=True)
class Options:
    """Where the checklist looks for its facts, and whether it may run tests and benchmarks.

    ``app`` is the app's ``module:attribute`` (default: the configured app, see
    ``workerkit._app.load_app``); ``contract_tests`` are the test paths that gate each
    kind, selected with pytest's ``-k "simplified and <kind>"``.
    """

    migration: Path = DEFAULT_MIGRATION
    compare: Path | None = None
    shadow_log: Path = DEFAULT_SHADOW_LOG
    config: Path | None = None
    run: bool = False
    results_dir: Path = RESULTS_DIR
    env: Mapping[str, str] | None = None
    python: str = sys.executable
    compare_command: tuple[str, ...] | None = None
    app: str | None = None
    contract_tests: tuple[str, ...] = (CONTRACT_DIR,)

    @property
    def root(self) -> Path:
        """Return the project directory: the one MIGRATION.md is in."""
        return self.migration.resolve().parent

    def environment(self) -> Mapping[str, str]:
        """Return the environment the flags are read from."""
        return os.environ if self.env is None else self.env

    def subprocess_env(self) -> dict[str, str] | None:
        """Return the environment of pytest and compare runs: the app given, else inherited."""
        return None if self.app is None else {**os.environ, APP_ENV: self.app}


def default_contract_tests(root: Path) -> tuple[str, ...]:
    """Return where the project's contract tests are.

    tests/contract if it exists, else every test file that subclasses ContractSuite (the
    guide's tests/test_contract.py), else tests/.
    """
    if (root / CONTRACT_DIR).is_dir():
        return (CONTRACT_DIR,)
    found = sorted(
        path.relative_to(root).as_posix()
        for path in root.glob("**/test*.py")
        if ".venv" not in path.parts and "ContractSuite" in path.read_text(errors="ignore")
    )
    return tuple(found) or ("tests",)
