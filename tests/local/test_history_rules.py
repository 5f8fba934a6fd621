"""Bootstrap and lookback rules of the processors that read earlier dates."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from backcourt.adapters.local.sqlite_status import SqliteStatusStore
from backcourt.domain import registry
from backcourt.domain.calendar import ScheduledGame, SeasonCalendar, build_calendar
from backcourt.domain.ids import system_game_id
from backcourt.domain.registry import DateType
from backcourt.domain.status import Outcome, State
from backcourt.services.lookback import bootstrap_dates, lookback_missing

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


def test_lookback_names_every_incomplete_upstream_date(tmp_path: Path) -> None:
    store = SqliteStatusStore(tmp_path / "s.sqlite")
    cal = _cal()
    pdc = registry.get("player_daily_cache")
    ups = [u.processor for u in pdc.upstream
           if registry.get(u.processor).phase is registry.Phase.ANALYTICS]
    assert ups  # player_game_summary, team_offense_game_summary, upcoming context
    for name in ups:
        store.seed(name, DAYS, [])
        for d in DAYS:
            assert store.acquire(name, d, owner="t", run_id="r", ttl=timedelta(minutes=1),
                                 now=_now())
            store.finish(name, d, "t", Outcome(State.SUCCEEDED, rows_written=1), _now())
    target = DAYS[-1]
    hole = DAYS[-3]
    store.annotate("player_game_summary", hole, State.DEGRADED, "gate: game missing")
    missing = lookback_missing(store, pdc, cal, [target, DAYS[3]])
    assert missing[target] == [f"player_game_summary {hole.isoformat()}"]
    assert missing[DAYS[3]] == []  # its 30-day window does not reach the hole
    # Dates outside the 30-day window do not count, however incomplete.
    old = DAYS[0]
    store.annotate("player_game_summary", old, State.FAILED, "x")
    assert lookback_missing(store, pdc, cal, [target])[target] == [
        f"player_game_summary {hole.isoformat()}"]
    store.close()


def _now() -> datetime:
    return datetime(2024, 12, 1, tzinfo=UTC)
