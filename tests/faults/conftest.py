"""The fault suite's summary: one line per scenario at the end of the run (tests/faults/harness.py)."""

from __future__ import annotations

from _pytest.terminal import TerminalReporter

from tests.faults.harness import RESULTS


def pytest_terminal_summary(terminalreporter: TerminalReporter) -> None:
    if RESULTS:
        terminalreporter.section("fault scenarios")
        for result in RESULTS:
            terminalreporter.line(result.line())
