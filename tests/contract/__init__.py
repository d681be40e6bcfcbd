"""The WorkerService contract, checked through its public interface on both stacks."""
