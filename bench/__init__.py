"""Benchmark harness (run modules with `python -m bench.<name>`); results go to bench/results/."""
