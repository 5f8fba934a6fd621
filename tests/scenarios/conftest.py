"""Fixtures of the scenario suite: the sample season, fresh homes, and the driver (parametrized:
``local`` and ``functions``; the ``emulators`` driver lives in tests/cloud/)."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator, Sequence
from datetime import date
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))  # `import scenario_kit` from the tests

import scenario_kit  # noqa: E402
from faults import new_home  # noqa: E402  (scenario_kit puts tests/incidents on the path)


@pytest.fixture(scope="session")
def sample_bucket(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The 2024-25 sample season, generated once per test run (shared with tests/incidents)."""
    return scenario_kit.sample_bucket(tmp_path_factory)


@pytest.fixture
def make_home(sample_bucket: Path, tmp_path: Path) -> Callable[..., Path]:
    """``make_home(days, name)``: a fresh home with the schedule and the raw files of ``days``."""

    def make(days: Sequence[date], name: str = "home") -> Path:
        return new_home(sample_bucket, tmp_path / name, days)

    return make


@pytest.fixture(params=["local", "functions"])
def driver(request: pytest.FixtureRequest) -> Any:
    """The driver under test (a fresh one per test)."""
    return scenario_kit.DRIVERS[request.param]()


@pytest.fixture(scope="session")
def reference() -> dict[str, Any]:
    """What the ``local`` driver ended with, per scenario, so the ``functions`` run of the same
    scenario compares against it (computed on its own home when the local run was deselected)."""
    return {}


@pytest.fixture(autouse=True)
def _no_leftover_override() -> Iterator[None]:
    """No test leaves its adapters installed in the functions' runtime."""
    yield
    from backcourt.bootstrap import RUNTIME

    assert "services" not in RUNTIME.overrides

