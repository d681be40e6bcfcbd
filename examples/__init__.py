"""Example applications that migrate their background work with workerkit."""
