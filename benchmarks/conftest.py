"""Benchmarks: speed targets from docs/design.md, measured, never in `make test`.

Run with `make bench`. Each prints what it measured and fails if the target is missed.
"""

pytest_plugins = ["tests.live_receiver"]
