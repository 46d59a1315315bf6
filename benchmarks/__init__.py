"""Speed and fidelity benchmarks, run with ``python -m benchmarks`` (not part of the tests)."""
