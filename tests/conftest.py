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
