"""Test your declared kinds against the worker contract, on both stacks (a pytest plugin).

```python
from workerkit.testing import Contract, ContractSuite, call

class TestMyWorkers(ContractSuite):
    contract = Contract(app, quick={"primes": call(1000)}, long={"primes": call(10**8)})
```
"""

from __future__ import annotations

from workerkit.testing._cases import ContractSuite
from workerkit.testing._contract import Contract, Sample, call
from workerkit.testing._harness import legacy_thread_names
from workerkit.testing._threads import qthreads_alive

__all__ = [
    "Contract",
    "ContractSuite",
    "Sample",
    "call",
    "legacy_thread_names",
    "qthreads_alive",
]
