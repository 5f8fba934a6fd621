"""Fixtures of the incident tests: the 2024-25 sample season generated once per test process,
and fresh homes holding the raw files of a few of its dates."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Sequence
from datetime import date
from pathlib import Path

import pytest

from backcourt.adapters.local.bucket import FolderBucket

sys.path.insert(0, str(Path(__file__).resolve().parent))  # `import faults` from the tests

from faults import new_home  # noqa: E402

SEASON = "2024-25"


@pytest.fixture(scope="session")
def sample_bucket(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The 2024-25 sample season (real schedule, synthetic box scores), generated once per test
    run: xdist workers share it through the run's common temp folder (a file lock decides who
    generates it; the others wait and read). Tests copy from it, never write to it."""
    import fcntl

    from backcourt.sample import generate_season

    base = tmp_path_factory.getbasetemp()
    run_root = base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base  # this run only
    shared = run_root / f"incidents-sample-{SEASON}"
    shared.mkdir(parents=True, exist_ok=True)
    root = shared / "bucket"
    with (shared / "lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            if not (shared / "complete").exists():
                generate_season(FolderBucket(root), SEASON)
                (shared / "complete").touch()
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)
    return root


@pytest.fixture
def make_home(sample_bucket: Path, tmp_path: Path) -> Callable[..., Path]:
    """``make_home(days, name="home")``: a fresh home with the raw files of ``days``."""

    def make(days: Sequence[date], name: str = "home") -> Path:
        return new_home(sample_bucket, tmp_path / name, days)

    return make
