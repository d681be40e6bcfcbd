"""The numbers app's kinds through workerkit's contract plugin, on both stacks."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from examples.numbers_app.server import PageServer
from examples.numbers_app.workers import app
from workerkit.testing import Contract, ContractSuite, Sample, call

# The pool function checks for a cancel between sieve segments: a count this big takes
# several seconds by itself.
LONG_LIMIT = 400_000_000
SLOW_PAGE_S = 3.0
# The legacy fetch worker cannot be interrupted inside its HTTP call: a canceled legacy job
# ends only when the call returns, so its slow page is kept shorter.
LEGACY_SLOW_PAGE_S = 0.8


@pytest.fixture
def contract_slow_server() -> Iterator[PageServer]:
    """Serve pages after a delay longer than the contract lets a canceled job run."""
    with PageServer(delay=SLOW_PAGE_S, lifetime=60.0) as server:
        yield server


@pytest.fixture
def contract_legacy_server() -> Iterator[PageServer]:
    """Serve pages after a delay the legacy cancel can outwait."""
    with PageServer(delay=LEGACY_SLOW_PAGE_S, lifetime=60.0) as server:
        yield server


def _fetch(request: pytest.FixtureRequest, server: str, count: int) -> Sample:
    pages: PageServer = request.getfixturevalue(server)
    db = request.getfixturevalue("tmp_path") / "pages.sqlite"
    return call(pages.urls(count), str(db))


def _fetch_missing(request: pytest.FixtureRequest) -> Sample:
    pages: PageServer = request.getfixturevalue("local_server")
    db = request.getfixturevalue("tmp_path") / "pages.sqlite"
    return call([f"{pages.base_url}/missing"], str(db))


class TestNumbersAppContract(ContractSuite):
    """Every contract case for primes and fetch."""

    contract = Contract(
        app,
        quick={"primes": call(50_000), "fetch": lambda r: _fetch(r, "local_server", 3)},
        long={
            "primes": call(LONG_LIMIT),
            "fetch": lambda r: _fetch(r, "contract_slow_server", 2),
        },
        legacy_long={"fetch": lambda r: _fetch(r, "contract_legacy_server", 1)},
        # A limit given as text makes both prime counters raise; a missing page, both fetchers.
        failing={"primes": call("50000"), "fetch": _fetch_missing},
        long_step_s=SLOW_PAGE_S,
    )
