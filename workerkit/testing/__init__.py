"""Test your declared kinds against the worker contract, on both stacks (a pytest plugin).

```python
from workerkit.testing import Contract, ContractSuite, call

class TestMyWorkers(ContractSuite):
    contract = Contract(app, quick={"primes": call(1000)}, long={"primes": call(10**8)})
```
"""

from __future__ import annotations

from workerkit._extras import extra_advice

try:
    from workerkit.testing._cases import ContractSuite
    from workerkit.testing._contract import Contract, Sample, call
    from workerkit.testing._harness import legacy_thread_names
    from workerkit.testing._threads import qthreads_alive
except ModuleNotFoundError as exc:  # pytest or pytest-qt: the 'testing' extra
    advice = extra_advice(exc, "workerkit.testing")
    if advice is None:
        raise
    raise ModuleNotFoundError(advice, name=exc.name) from exc

__all__ = [
    "Contract",
    "ContractSuite",
    "Sample",
    "call",
    "legacy_thread_names",
    "qthreads_alive",
]
