"""Routing: the environment and workerkit.toml pick each kind's stack; bad names are refused."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from pytestqt.qtbot import QtBot

from examples.numbers_app.tests.jobs import JobLog, is_pool_progress
from examples.numbers_app.tests.support import expected_primes


def run_primes(qtbot: QtBot, service: Any) -> list[object]:
    """Run one small primes job to its end; return the progress values the GUI saw."""
    log = JobLog(service)
    with qtbot.waitSignal(service.job_finished, timeout=5000) as finished:
        job_id = service.start("primes", 20_000)
    assert finished.args[2] == expected_primes(20_000)
    return log.of(job_id, "progressed")


def test_environment_routes_primes_to_simplified(
    qtbot: QtBot, make_service: Callable[..., Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Send primes to the pool function when WORKERKIT_PRIMES=simplified; fetch stays legacy."""
    monkeypatch.setenv("WORKERKIT_PRIMES", "simplified")
    service = make_service()
    assert service.stack_for("primes") == "simplified"
    assert service.stack_for("fetch") == "legacy"
    progress = run_primes(qtbot, service)
    assert progress and all(is_pool_progress(p) for p in progress)


def test_without_flags_primes_runs_on_legacy(
    qtbot: QtBot, make_service: Callable[..., Any]
) -> None:
    """Keep primes on the QThread worker when nothing selects a stack."""
    service = make_service()
    assert service.stack_for("primes") == "legacy"
    progress = run_primes(qtbot, service)
    assert progress and not any(is_pool_progress(p) for p in progress)


def test_workers_table_routes_fetch_and_primes(
    make_service: Callable[..., Any], tmp_path: Path
) -> None:
    """Read each kind's stack from the [workers] table of workerkit.toml in the working dir."""
    (tmp_path / "workerkit.toml").write_text(
        '[workers]\nprimes = "shadow"\nfetch = "simplified"\n', encoding="utf-8"
    )
    service = make_service()
    assert service.stack_for("primes") == "shadow"
    assert service.stack_for("fetch") == "simplified"


def test_environment_beats_the_workers_table(
    make_service: Callable[..., Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Let WORKERKIT_PRIMES override the [workers] table."""
    (tmp_path / "workerkit.toml").write_text('[workers]\nprimes = "shadow"\n', encoding="utf-8")
    monkeypatch.setenv("WORKERKIT_PRIMES", "legacy")
    assert make_service().stack_for("primes") == "legacy"


def test_set_stack_of_an_unknown_kind_lists_the_declared_kinds(
    make_service: Callable[..., Any],
) -> None:
    """Refuse a kind the app does not declare, naming primes and fetch."""
    service = make_service(stacks={"primes": "legacy"})
    with pytest.raises((KeyError, ValueError), match="primes, fetch"):
        service.set_stack("squares", "simplified")
    assert service.stack_for("primes") == "legacy"


def test_set_stack_refuses_shadow_for_the_writing_kind(
    make_service: Callable[..., Any],
) -> None:
    """Refuse shadow mode for fetch, which writes, and name primes as the kind that allows it."""
    service = make_service(stacks={"fetch": "simplified"})
    with pytest.raises(ValueError, match=r"fetch writes.*allowed for primes"):
        service.set_stack("fetch", "shadow")
    assert service.stack_for("fetch") == "simplified"


def test_set_stack_moves_new_jobs_only(make_service: Callable[..., Any]) -> None:
    """Switch the primes route at run time and read it back."""
    service = make_service(stacks={"primes": "legacy"})
    service.set_stack("primes", "simplified")
    assert service.stack_for("primes") == "simplified"
    with pytest.raises(ValueError, match="legacy, simplified, shadow"):
        service.set_stack("primes", "threads")
