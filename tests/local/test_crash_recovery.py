"""A backfill over a narrow window loads part of a season's schedule; a wider one completes it.
(The SIGKILL crash-recovery test lives in tests/incidents/test_worker_sigkill.py.)"""

from __future__ import annotations

import shutil
from datetime import date
from pathlib import Path

import pytest

from backcourt.bootstrap import build
from backcourt.config import load_settings
from backcourt.domain.dates import date_range
from backcourt.domain.registry import Phase
from backcourt.ports import Services
from backcourt.services.backfill import Runner
from backcourt.services.plan import Window
from backcourt.sources.layout import RAW, SOURCES
from sample_cache import cached_season

pytestmark = pytest.mark.local

SEASON = "2024-25"
START, END = date(2025, 1, 6), date(2025, 1, 26)  # three weeks of January
WINDOW = Window(START, END)
ENV = {"BACKCOURT_CHUNK_DAYS": "2"}


@pytest.fixture(scope="module")
def sample_bucket(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The 2024-25 sample season generated once per test run (a bucket folder, read only)."""
    return cached_season(tmp_path_factory, SEASON)


def _new_home(sample: Path, root: Path) -> Path:
    """A home whose bucket holds the schedule and the window's raw files."""
    bucket = load_settings(root, env={}).local.bucket_path
    shutil.copytree(sample / RAW / "nbacom_schedule", bucket / RAW / "nbacom_schedule")
    for source in SOURCES:
        for day in date_range(START, END):
            folder = sample / RAW / source / day.isoformat()
            if folder.is_dir():
                shutil.copytree(folder, bucket / RAW / source / day.isoformat())
    return root


def _open(home: Path) -> Services:
    return build(load_settings(home, env=dict(ENV)))


def _box_score_dates(bucket: Path) -> list[date]:
    """Window dates with at least one NBA.com box score file (one per competitive game)."""
    return [d for d in date_range(START, END)
            if any((bucket / RAW / "nbacom_boxscore" / d.isoformat()).glob("*.json"))]


def test_a_partly_loaded_schedule_is_completed_by_a_wider_backfill(sample_bucket: Path,
                                                                  tmp_path: Path) -> None:
    home = _new_home(sample_bucket, tmp_path / "partial")
    s = _open(home)
    try:
        narrow = Window(date(2025, 1, 14), date(2025, 1, 15))
        Runner(s).backfill([SEASON], [Phase.RAW], narrow)  # loads the schedule of 2 dates
        Runner(s).backfill([SEASON], [Phase.RAW], WINDOW)
        got = s.warehouse.query("SELECT DISTINCT game_date FROM nba_raw.player_boxscores "
                                "ORDER BY game_date")
        assert [r["game_date"] for r in got] == _box_score_dates(s.settings.local.bucket_path)
    finally:
        s.close()
