"""Bootstrap and lookback rules of the processors that read earlier dates."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from backcourt.domain import registry
from backcourt.domain.calendar import ScheduledGame, SeasonCalendar, build_calendar
from backcourt.domain.ids import system_game_id
from backcourt.domain.registry import DateType
from backcourt.services.lookback import bootstrap_dates

pytestmark = pytest.mark.local

OPENER = date(2024, 10, 22)
# Game dates every other day for 40 days, with an All-Star-like gap in the middle.
DAYS = [OPENER + timedelta(days=2 * i) for i in range(20) if i not in (9, 10)]


def _cal() -> SeasonCalendar:
    games = [ScheduledGame(f"00224{i:05d}", system_game_id(d, "NYK", "PHI"), d, "2024-25",
                           DateType.REGULAR, "PHI", "NYK") for i, d in enumerate(DAYS)]
    return build_calendar("2024-25", games)


def test_bootstrap_is_the_first_game_dates_of_the_season() -> None:
    mlfs = registry.get("ml_feature_store")
    cal = _cal()
    assert bootstrap_dates(mlfs, [cal]) == DAYS[: mlfs.min_history_dates]
    assert bootstrap_dates(registry.get("player_game_summary"), [cal]) == []


def _now() -> datetime:
    return datetime(2024, 12, 1, tzinfo=UTC)
