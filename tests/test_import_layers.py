"""The import layers of pyproject.toml's [tool.importlinter] contracts hold (import-linter).

The stacks live in top-level folders that install as ``workerkit.legacy`` and
``workerkit.simplified``, a mapping import-linter cannot read from an editable install; so
the check runs on a copy of the installed layout made of links to the real files.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).parent.parent
LINT = Path(sys.executable).parent / "lint-imports"

pytestmark = pytest.mark.timeout(120)


def installed_layout(target: Path) -> Path:
    """Link workerkit/ into ``target`` as installed: the stacks under it; return ``target``."""
    package = target / "workerkit"
    package.mkdir()
    for entry in (ROOT / "workerkit").iterdir():
        (package / entry.name).symlink_to(entry)
    for stack in ("legacy", "simplified"):
        (package / stack).symlink_to(ROOT / stack)
    return target


def lint(layout: Path) -> subprocess.CompletedProcess[str]:
    """Run lint-imports with the project's contracts on ``layout``."""
    env = {**os.environ, "PYTHONPATH": str(layout)}
    return subprocess.run(
        [str(LINT), str(ROOT / "pyproject.toml"), "--no-cache"],
        cwd=layout, env=env, capture_output=True, text=True, timeout=100, check=False,
    )  # fmt: skip


def test_import_layers_hold(tmp_path: Path) -> None:
    """Fails when the toolkit imports the image library or the tools, the image library
    reaches inside a stack, or a module of the checklist imports one above it."""
    done = lint(installed_layout(tmp_path))
    assert done.returncode == 0, done.stdout + done.stderr
    assert "3 kept, 0 broken" in done.stdout, done.stdout


def test_import_layers_catch_the_toolkit_importing_the_image_library(tmp_path: Path) -> None:
    """Fails if a forbidden import goes unnoticed (the contracts would check nothing)."""
    layout = installed_layout(tmp_path)
    kind = layout / "workerkit" / "_kind.py"
    kind.unlink()
    kind.write_text(
        (ROOT / "workerkit" / "_kind.py").read_text() + "\nimport workerkit.imagelib.kinds\n"
    )
    done = lint(layout)
    assert done.returncode != 0
    assert "workerkit._kind -> workerkit.imagelib.kinds" in done.stdout, done.stdout
