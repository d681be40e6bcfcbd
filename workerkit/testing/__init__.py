"""Test your declared kinds against the worker contract, on both stacks (a pytest plugin).

```python
from workerkit.testing import Contract, ContractSuite, call

class TestMyWorkers(ContractSuite):
    contract = Contract(app, quick={"primes": call(1000)}, long={"primes": call(10**8)})
```
"""

from __future__ import annotations

from workerkit.testing.cases import ContractSuite
from workerkit.testing.contract import Contract, Sample, call

__all__ = ["Contract", "ContractSuite", "Sample", "call"]
