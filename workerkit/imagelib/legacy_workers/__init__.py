"""LoRAIro's 2025 worker stack: its heavy base worker, its four workers, its WorkerManager."""
