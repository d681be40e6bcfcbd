"""Regression tests for the PySide6 pin: 6.12.0 on CPython < 3.12 aborts after ~570 emits.

Each emit() of that build drops a reference to True; once the count reaches zero the
interpreter dies with "Fatal Python error: bool_dealloc". pyproject.toml excludes 6.12.0
for python_version < '3.12'.
"""

from __future__ import annotations

import re
import sys
import tomllib
from pathlib import Path

import PySide6
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from .child import ChildRun, run_child

STORM = Path(__file__).with_name("emit_storm.py")
PYPROJECT = Path(__file__).resolve().parents[1] / "pyproject.toml"
BAD_VERSION = "6.12.0"
PYSIDE_DISTRIBUTIONS = {"pyside6", "pyside6-essentials", "pyside6-addons"}
# The bug drops one reference per emit of True; normal noise is a handful either way.
REFCOUNT_DROP_LIMIT = 100


def run_storm() -> ChildRun:
    """Run tests/emit_storm.py in a fresh interpreter with the offscreen platform."""
    return run_child([sys.executable, str(STORM)], timeout_s=60)


def reported(stdout: str, name: str) -> int | None:
    """Return the number the storm printed after ``name``, or None when it printed none."""
    match = re.search(rf"^{name} (\d+)$", stdout, re.MULTILINE)
    return int(match.group(1)) if match else None


def test_pyside_emit_storm_survives_20000_queued_signals() -> None:
    result = run_storm()
    shown = result.describe()
    assert result.ok, f"The emit storm failed (a crash is the pinned bug):\n{shown}"
    assert reported(result.stdout, "received") == 20_000, shown
    assert reported(result.stdout, "trues") == 5_000, shown
    before = reported(result.stdout, "true_refcount_before")
    after = reported(result.stdout, "true_refcount_after")
    assert before is not None and after is not None, shown
    assert after > before - REFCOUNT_DROP_LIMIT, f"Emits dropped references to True:\n{shown}"


def test_pyside_installed_version_not_known_bad() -> None:
    version = PySide6.__version__
    bad = version == BAD_VERSION and sys.version_info < (3, 12)
    assert not bad, (
        f"PySide6 {version} is installed on Python {sys.version.split()[0]}: this combination "
        "aborts the interpreter after ~570 signal emits (Fatal Python error: bool_dealloc). "
        f"pyproject.toml pins PySide6-Essentials/PySide6-Addons '!={BAD_VERSION}' for "
        "python_version < '3.12'; reinstall with `pip install -e .` to respect the pin, or "
        "use Python 3.12 or newer."
    )


def test_pyside_pin_excludes_bad_version_before_312() -> None:
    project = tomllib.loads(PYPROJECT.read_text(encoding="utf-8"))["project"]
    requirements = [Requirement(line) for line in project["dependencies"]]
    pyside = [r for r in requirements if canonicalize_name(r.name) in PYSIDE_DISTRIBUTIONS]
    environment = {"python_version": "3.11", "python_full_version": "3.11.9"}
    on_311 = [r for r in pyside if r.marker is None or r.marker.evaluate(environment)]
    assert on_311, f"pyproject.toml lists no PySide6 requirement for Python 3.11: {pyside}"
    allowing = [str(r) for r in on_311 if r.specifier.contains(BAD_VERSION, prereleases=True)]
    assert not allowing, (
        f"pyproject.toml allows PySide6 {BAD_VERSION} on Python 3.11 through {allowing}; it "
        "aborts the interpreter there (bool_dealloc). Keep '!=6.12.0' on every PySide6 "
        "requirement with python_version < '3.12'."
    )
