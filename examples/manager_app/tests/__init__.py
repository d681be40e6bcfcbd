"""Tests of the manager app: its own WorkerManager behind workerkit, and both stacks."""
