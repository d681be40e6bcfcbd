"""docs/api.md is the reference generated from the public docstrings, and it is current."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from .child import run_child

ROOT = Path(__file__).parent.parent

pytestmark = pytest.mark.timeout(120)


def test_api_docs_match_the_docstrings() -> None:
    """Fails when a public docstring or signature changed and docs/api.md was not regenerated."""
    run = run_child([sys.executable, str(ROOT / "docs" / "generate_api.py"), "--check"],
                    cwd=ROOT, timeout_s=100)  # fmt: skip
    assert run.ok, run.describe()


def test_api_docs_cover_every_public_name() -> None:
    """Fails if a name of workerkit.__all__ or workerkit.testing.__all__ has no entry."""
    import workerkit
    import workerkit.testing

    text = (ROOT / "docs" / "api.md").read_text(encoding="utf-8")
    for package in (workerkit, workerkit.testing):
        for name in package.__all__:
            assert f"### `{package.__name__}.{name}`" in text, name
