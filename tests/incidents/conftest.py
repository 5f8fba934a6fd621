"""Fixtures of the incident tests: the 2024-25 sample season generated once per test process,
and fresh homes holding the raw files of a few of its dates."""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence
from datetime import date
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))  # `import faults` from the tests

from faults import new_home, shared_sample_bucket  # noqa: E402

SEASON = "2024-25"


@pytest.fixture(scope="session")
def sample_bucket(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The 2024-25 sample season, generated once per test run (``faults.shared_sample_bucket``)."""
    return shared_sample_bucket(tmp_path_factory, SEASON)


@pytest.fixture
def make_home(sample_bucket: Path, tmp_path: Path) -> Callable[..., Path]:
    """``make_home(days, name="home")``: a fresh home with the raw files of ``days``."""

    def make(days: Sequence[date], name: str = "home") -> Path:
        return new_home(sample_bucket, tmp_path / name, days)

    return make
