"""A soak: the four kinds in a loop, with OS threads and memory sampled after every round.

Each stack runs tests/scripts/fault_soak.py in a child process (a clean heap to
measure, and a watchdog: a legacy D11 deadlock or crash is an expected failure, not a hang).

Bounds, and why:
- Threads: after every round the process has no more OS threads than after the
  first round (pool threads are reused, legacy QThreads end), and no QThread
  is left. One leaked thread per job would add four per round.
- Memory: the highest RSS of rounds 11-20 may exceed that of rounds 1-10 by at
  most 8 MiB. One round loads 8 thumbnails of 256x256 (8 x 256 KiB = 2 MiB as
  32-bit pixels); leaking them would add 20 MiB over ten rounds. Comparing window
  maxima, not single rounds, absorbs the allocator's round-to-round swings
  (measured: within 3 MiB on both stacks with this library) while a steady leak
  still shows.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from workerkit import STACKS

from ..child import run_script
from .conftest import write_image, write_sidecar

pytestmark = [pytest.mark.slow, pytest.mark.timeout(180)]

ROUNDS = 20
IMAGES = 8
RSS_GROWTH_BOUND_MB = 8.0


@pytest.fixture
def soak_library(tmp_path: Path) -> Path:
    """Return a folder of eight 640x480 images with sidecars."""
    root = tmp_path / "soak"
    root.mkdir()
    for index in range(IMAGES):
        image = write_image(root / f"soak{index:02}.png", 700 + index, size=(640, 480))
        write_sidecar(image, ["soak", f"image {index}"], f"soak image {index}")
    return root


@pytest.mark.parametrize("stack", STACKS)
def test_soak_of_the_four_kinds_keeps_threads_and_memory_flat(
    stack: str, soak_library: Path, tmp_path: Path
) -> None:
    run = run_script(
        "fault_soak.py", stack, ROUNDS, soak_library, tmp_path / "soak.sqlite", timeout_s=150
    )
    if stack == "legacy" and (run.hung or run.signal is not None):
        # D11 deadlocks or crashes legacy at random under load (a SIGSEGV inside a legacy
        # start, as in the compare's bursts): a measured outcome, reported as such; a run
        # that ends on its own is held to every bound below.
        pytest.xfail(f"D11: the legacy soak hung or was killed by a signal: {run.describe()}")
    assert not run.hung, f"the soak hung: {run.describe()}"
    assert run.returncode == 0 and run.stdout.rstrip().endswith("DONE"), run.describe()
    samples = [sample for sample in run.json_lines() if sample["round"]]
    assert len(samples) == ROUNDS
    assert all(sample["events"] == ["finished"] * 4 for sample in samples), samples
    assert all(sample["qthreads"] == 0 for sample in samples), samples
    threads = [int(sample["os_threads"]) for sample in samples]  # type: ignore[call-overload]
    assert max(threads) <= threads[0], f"OS threads per round: {threads}"
    rss = [float(sample["rss_mb"]) for sample in samples]  # type: ignore[arg-type]
    half = ROUNDS // 2
    growth = max(rss[half:]) - max(rss[:half])
    assert growth <= RSS_GROWTH_BOUND_MB, f"RSS per round (MiB): {rss}"
