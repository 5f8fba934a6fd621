"""Pure domain: dates, ids, registry and calendar typing."""

from __future__ import annotations

from datetime import date

import pytest

from backcourt.domain import registry
from backcourt.domain.calendar import ScheduledGame, build_calendar, game_type_of
from backcourt.domain.dates import chunk, parse_date, runs
from backcourt.domain.errors import BadInput
from backcourt.domain.ids import player_lookup, season_bounds, season_of, system_game_id
from backcourt.domain.registry import DateType, Phase
from backcourt.domain.teams import tricode_for


def test_bad_dates_and_seasons_name_the_value() -> None:
    with pytest.raises(BadInput, match="2025-13-01"):
        parse_date("2025-13-01")
    with pytest.raises(BadInput, match="2024-26"):
        season_bounds("2024-26")
    with pytest.raises(BadInput, match="nonsense"):
        season_bounds("nonsense")


def test_seasons_and_ids() -> None:
    assert season_of(date(2024, 10, 22)) == "2024-25"
    assert season_of(date(2025, 6, 22)) == "2024-25"
    assert season_bounds("2021-22") == (date(2021, 7, 1), date(2022, 6, 30))
    assert system_game_id(date(2025, 1, 15), "NYK", "PHI") == "20250115_NYK_PHI"
    assert player_lookup("D'Angelo Russell") == "dangelorussell"
    assert player_lookup("Nikola Jokić") == "nikolajokic"
    assert player_lookup("Hart, Josh") == "joshhart"
    assert player_lookup("Jaren Jackson Jr.") == "jarenjacksonjr"
    assert player_lookup("Jaren Jackson, Jr.") == "jarenjacksonjr"
    assert player_lookup("Holiday, Jrue") == "jrueholiday"
    assert player_lookup("Zubac, Ivica") == "ivicazubac"
    assert tricode_for("Golden State Warriors") == "GSW"
    assert tricode_for("LA Clippers") == "LAC"
    assert tricode_for("BRK") == "BKN"
    assert tricode_for("Seattle SuperSonics") is None


def test_runs_and_chunks() -> None:
    days = [date(2025, 1, d) for d in (1, 2, 3, 5, 7, 8)]
    assert runs(days) == [(date(2025, 1, 1), date(2025, 1, 3)), (date(2025, 1, 5),) * 2,
                          (date(2025, 1, 7), date(2025, 1, 8))]
    assert [len(c) for c in chunk(days, 4)] == [4, 2]
    with pytest.raises(BadInput):
        chunk(days, 0)


def test_registry_order_and_lookup() -> None:
    names = [[p.name for p in lvl] for lvl in registry.levels(Phase.ANALYTICS)]
    assert names[0] == ["team_offense_game_summary", "team_defense_game_summary",
                        "upcoming_team_game_context"]
    assert names[1] == ["player_game_summary"]
    assert names[2] == ["upcoming_player_game_context"]
    assert [p.name for p in registry.levels(Phase.RAW)[0]] == ["schedule"]
    with pytest.raises(BadInput, match="unknown processor 'nope'"):
        registry.get("nope")
    with pytest.raises(BadInput, match="unknown phase"):
        registry.parse_phase("7")
    assert registry.parse_phase("5a") is Phase.PREDICTIONS


def _game(gid: str, day: date, home: str = "PHI", away: str = "NYK") -> ScheduledGame:
    return ScheduledGame(gid, system_game_id(day, away, home), day, "2024-25", game_type_of(gid),
                         home, away)


def test_calendar_types_dates_and_gaps() -> None:
    games = [
        _game("0012400001", date(2024, 10, 10)),
        _game("0022400001", date(2024, 10, 22)),
        _game("0022400002", date(2024, 10, 24)),
        _game("0062400001", date(2024, 12, 17)),
        _game("0032400001", date(2025, 2, 14)),
        _game("0052400001", date(2025, 4, 15)),
        _game("0042400001", date(2025, 4, 19)),
    ]
    cal = build_calendar("2024-25", games)
    assert cal.day(date(2024, 10, 10)).date_type is DateType.PRESEASON
    assert cal.day(date(2024, 10, 23)).date_type is DateType.NO_GAMES
    assert cal.day(date(2024, 12, 17)).date_type is DateType.CUP_FINAL
    assert cal.day(date(2025, 2, 14)).date_type is DateType.ALL_STAR
    pgs = registry.get("player_game_summary")
    assert cal.expected_dates(pgs) == [date(2024, 10, 22), date(2024, 10, 24), date(2024, 12, 17),
                                       date(2025, 4, 15), date(2025, 4, 19)]
    assert date(2025, 2, 14) in cal.not_expected_dates(pgs)
    assert date(2025, 2, 14) in cal.expected_dates(registry.get("schedule"))
