"""Shadow mode for primes: legacy visible, the pool function unseen, both results compared."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

from pytestqt.qtbot import QtBot

from examples.numbers_app.tests.jobs import JobLog, is_pool_progress
from examples.numbers_app.tests.support import expected_primes
from examples.numbers_app.workers import fetch, primes
from workerkit import App


def test_shadow_shows_legacy_and_logs_a_match(
    qtbot: QtBot, make_service: Callable[..., Any], tmp_path: Path
) -> None:
    """Show the legacy result once, compare it with the pool function's, log one match."""
    shadow_log = tmp_path / "primes-shadow.jsonl"
    service = make_service(stacks={"primes": "legacy"}, shadow_log=shadow_log)
    service.set_stack("primes", "shadow")
    assert service.stack_for("primes") == "shadow"
    log = JobLog(service)
    with qtbot.waitSignal(service.shadow_compared, timeout=5000) as compared:
        job = service.start(primes, 40_000)
    job_id = job.id
    assert job_id.startswith("primes_")
    record = compared.args[0]
    assert record["match"] is True, record
    assert (record["kind"], record["legacy_job"], record["differences"]) == ("primes", job_id, [])
    assert record["candidate_job"] != job_id
    qtbot.waitUntil(lambda: log.terminals(job_id) == ["finished"], timeout=5000)
    qtbot.waitUntil(lambda: service.active_count() == 0, timeout=5000)
    assert log.of(job_id, "finished") == [expected_primes(40_000)] == [job.result()]
    visible = [event for event, _, _ in log.events if event in ("started", "finished")]
    assert visible == ["started", "finished"], "the candidate leaked into the service signals"
    assert not any(is_pool_progress(p) for p in log.of(job_id, "progressed"))
    qtbot.waitUntil(lambda: _complete(shadow_log), timeout=5000)
    lines = shadow_log.read_text(encoding="utf-8").splitlines()
    assert len(lines) == 1
    assert json.loads(lines[0])["match"] is True
    stats = service.shadow_stats()
    assert (stats.compared, stats.matched, stats.mismatched) == (1, 1, 0)
    assert (stats.candidate_failed, stats.skipped) == (0, 0)


def test_shadow_logs_what_the_comparator_reports(
    qtbot: QtBot, make_service: Callable[..., Any], tmp_path: Path
) -> None:
    """Log a mismatch with the comparator's differences, and still show the legacy result."""
    strict = replace(primes, compare=lambda legacy, candidate: [f"count {candidate.count}"])
    picky = App("numbers_app_picky", [strict, fetch])
    shadow_log = tmp_path / "picky.jsonl"
    service = make_service(app=picky, stacks={"primes": "shadow"}, shadow_log=shadow_log)
    log = JobLog(service)
    with qtbot.waitSignal(service.shadow_compared, timeout=5000) as compared:
        job_id = service.start("primes", 10_000)
    assert compared.args[0]["match"] is False
    assert compared.args[0]["differences"] == ["count 1229"]
    qtbot.waitUntil(lambda: log.terminals(job_id) == ["finished"], timeout=5000)
    assert log.of(job_id, "finished") == [expected_primes(10_000)]
    qtbot.waitUntil(lambda: _complete(shadow_log), timeout=5000)
    assert json.loads(shadow_log.read_text(encoding="utf-8"))["match"] is False
    stats = service.shadow_stats()
    assert (stats.compared, stats.matched, stats.mismatched) == (1, 0, 1)


def _complete(path: Path) -> bool:
    """Return True once ``path`` holds at least one whole JSON line."""
    return path.is_file() and path.read_text(encoding="utf-8").endswith("\n")
