"""Tests of the numbers app: declarations, both stacks' results, routing and shadow mode."""
