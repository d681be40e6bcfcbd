"""Configuration mistakes are errors or warnings that name the mistake and the fix."""

from __future__ import annotations

import itertools
from pathlib import Path

import pytest

from workerkit._app import AppError, load_app
from workerkit.flags import FlagWarning, resolve_flags
from workerkit.imagelib.kinds import app as image_library

_MODULES = itertools.count()

WORKERS = """
from workerkit import App, LegacyWorker, WorkerKind
from workerkit.imagelib.legacy_workers.search_worker import SearchWorker


def count(control, limit):
    return limit


primes = WorkerKind(name="primes", legacy=LegacyWorker(SearchWorker), simplified=count)
app = App("mistakes", [primes])
"""


@pytest.fixture
def module(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """Write an app module under a new name into an importable folder; return the name."""
    name = f"mistake_workers_{next(_MODULES)}"
    (tmp_path / f"{name}.py").write_text(WORKERS)
    monkeypatch.syspath_prepend(str(tmp_path))
    return name


def test_config_misspelt_kind_variable_warns_with_the_right_name() -> None:
    """Fails if WORKERKIT_SERACH=simplified is ignored in silence (search stays legacy)."""
    with pytest.warns(FlagWarning, match=r"WORKERKIT_SERACH names no worker kind of the image"):
        flags = resolve_flags(image_library, env={"WORKERKIT_SERACH": "simplified"})
    assert flags["search"].value == "legacy"


def test_config_other_workerkit_settings_do_not_warn(recwarn: pytest.WarningsRecorder) -> None:
    """Fails if workerkit's own settings or an app's other variables are taken for flags."""
    env = {"WORKERKIT_APP": "x:y", "WORKERKIT_API_KEY": "k", "WORKERKIT_CACHE": "/tmp"}
    resolve_flags(image_library, env=env)
    assert not [w for w in recwarn if issubclass(w.category, FlagWarning)]


def test_config_workerkit_table_instead_of_tool_workerkit_is_named(tmp_path: Path) -> None:
    """Fails if a [workerkit] table silently falls back to the image library."""
    (tmp_path / "pyproject.toml").write_text('[workerkit]\napp = "workers:app"\n')
    with pytest.raises(AppError, match=r"has a \[workerkit\] table with app = 'workers:app'; "):
        load_app(cwd=tmp_path)


def test_config_missing_attribute_names_the_apps_the_module_has(module: str) -> None:
    """Fails if a misspelt attribute reads as 'is NoneType, not a workerkit App'."""
    with pytest.raises(AppError) as raised:
        load_app(f"{module}:ap")
    assert f"module {module!r} has no attribute 'ap' (its App objects: app)" in str(raised.value)


def test_config_dot_instead_of_colon_names_the_fix(module: str) -> None:
    """Fails if 'module.app' gives no hint of the module:attribute form."""
    with pytest.raises(AppError, match=rf"write '{module}:app' \(module:attribute\)"):
        load_app(f"{module}.app")


def test_config_missing_module_says_so(tmp_path: Path) -> None:
    """Fails if a module that does not exist is reported as anything else."""
    with pytest.raises(AppError, match=r"Cannot import the app module 'no_such_workers' "):
        load_app("no_such_workers:app", cwd=tmp_path)


def test_config_default_stack_sets_every_kinds_default_flag() -> None:
    """Fails if an app that finished its migration cannot say so (stage 3 could never pass)."""
    import dataclasses

    done = dataclasses.replace(image_library, default_stack="simplified")
    flags = resolve_flags(done, env={})
    assert {flag.value for flag in flags.values()} == {"simplified"}
    assert flags["search"].source == "App(default_stack=)"


def test_config_default_stack_other_than_a_stack_is_refused() -> None:
    """Fails if a misspelt default_stack is accepted (every job would fail at start)."""
    from workerkit import App
    from workerkit._kind import DeclarationError

    with pytest.raises(DeclarationError, match=r"default_stack must be 'legacy' or 'simplified'"):
        App("x", image_library.kinds, default_stack="pool")
