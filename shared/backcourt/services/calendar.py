"""Calendars and scheduled games read from the phase-2 schedule table."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any

from backcourt.domain.calendar import ScheduledGame, SeasonCalendar, build_calendar
from backcourt.domain.ids import season_start_year
from backcourt.domain.registry import DateType
from backcourt.ports import Warehouse

_COLUMNS = (
    "nba_game_id, game_id, game_date, season, game_type, home_team_abbr, away_team_abbr, "
    "game_status, postponed, home_team_score, away_team_score"
)


def _game(row: dict[str, Any]) -> ScheduledGame:
    return ScheduledGame(
        nba_game_id=row["nba_game_id"], game_id=row["game_id"], game_date=row["game_date"],
        season=row["season"], game_type=DateType(row["game_type"]),
        home=row["home_team_abbr"], away=row["away_team_abbr"],
        status=int(row["game_status"] or 0), postponed=bool(row["postponed"]),
        home_score=row["home_team_score"], away_score=row["away_team_score"],
    )


def season_games(warehouse: Warehouse, season: str) -> list[ScheduledGame]:
    """Every game of a season in the schedule table."""
    season_start_year(season)  # validates the name
    rows = warehouse.query(
        f"SELECT {_COLUMNS} FROM nba_raw.schedule WHERE season = @season "
        "ORDER BY game_date, nba_game_id",
        {"season": season},
    )
    return [_game(r) for r in rows]


def games_between(warehouse: Warehouse, start: date, end: date) -> dict[date, list[ScheduledGame]]:
    """Scheduled games per date in [start, end]."""
    rows = warehouse.query(
        f"SELECT {_COLUMNS} FROM nba_raw.schedule WHERE game_date BETWEEN @s AND @e "
        "ORDER BY game_date, nba_game_id",
        {"s": start, "e": end},
    )
    out: dict[date, list[ScheduledGame]] = {}
    for row in rows:
        game = _game(row)
        out.setdefault(game.game_date, []).append(game)
    return out


def season_calendar(warehouse: Warehouse, season: str) -> SeasonCalendar:
    """The typed calendar of a season (empty when its schedule is not loaded)."""
    return build_calendar(season, season_games(warehouse, season))


def calendars(warehouse: Warehouse, seasons: Sequence[str]) -> list[SeasonCalendar]:
    """Calendars of several seasons."""
    return [season_calendar(warehouse, s) for s in seasons]
