"""Shared fixtures: repository paths and fresh embedded homes."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from backcourt.bootstrap import build
from backcourt.config import load_settings
from backcourt.ports import Services

REPO = Path(__file__).resolve().parents[1]
FIXTURES = REPO / "tests" / "fixtures" / "nba"

pytest_plugins = ["emulator_fixtures", "bq_fixtures", "gcs_fixtures"]  # emulators (session)


@pytest.fixture
def services(tmp_path: Path) -> Iterator[Services]:
    """Adapters on a fresh home folder."""
    s = build(load_settings(tmp_path / "home", env={}))
    yield s
    s.close()


SUMMARY_LINE = "summary_line"
"""``record_property(SUMMARY_LINE, text)``: a figure line a test prints for the reader (the
``cloud-scale:`` line). Printed again at the end of the session by the controller, so it shows
even when the tests run in xdist workers (whose output is not shown)."""


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """The tests' summary lines (``SUMMARY_LINE`` properties), in the order they ran."""
    lines = [str(value) for reports in terminalreporter.stats.values() for r in reports
             if getattr(r, "when", None) == "call"
             for key, value in getattr(r, "user_properties", ()) if key == SUMMARY_LINE]
    if lines:
        terminalreporter.section("figures")
        for line in lines:
            terminalreporter.write_line(line)
