"""NBA.com ``scheduleLeagueV2`` (one file per season) → schedule rows, and ScheduledGame objects.

``game_date`` is the date part of ``gameDateEst``; ``tip_time_et`` is ``gameDateTimeEst`` read as
America/New_York wall time (NBA.com tags it Z, but it is Eastern), stored as an aware UTC instant.
``game_type`` comes from the game id prefix. Competitive games (regular, cup final, play-in,
playoffs) must be between NBA teams; preseason and All-Star games may involve other teams
(international clubs, All-Star squads), whose tricodes are kept as given. Games whose teams are
not decided yet (an empty tricode, e.g. a future playoff slot) are skipped: they cannot be
given a system game id. Scores of games not yet started are NULL.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from datetime import date
from typing import Any

from backcourt.domain.calendar import ScheduledGame, game_type_of
from backcourt.domain.errors import BadInput
from backcourt.domain.ids import season_start_year, system_game_id
from backcourt.domain.registry import COMPETITIVE, DateType
from backcourt.domain.teams import tricode_for
from backcourt.sources.parsing import Raw

SOURCE = "nbacom_schedule"
_GAME_ID = re.compile(r"^\d{10}$")
_TRICODE = re.compile(r"^[A-Z0-9]{2,4}$")


def season_of_file(doc: Any, source_file: str) -> str:
    """The season a schedule file covers (``leagueSchedule.seasonYear``, e.g. "2024-25")."""
    raw = Raw(source_file)
    league = raw.obj(raw.key(raw.obj(doc, "file"), "leagueSchedule", "file"), "leagueSchedule")
    season = raw.text(raw.key(league, "seasonYear", "leagueSchedule"), "leagueSchedule.seasonYear")
    try:
        season_start_year(season)
    except BadInput:
        raw.fail(f"leagueSchedule.seasonYear: expected a season like 2024-25, got {season!r}")
    return season


def _team(raw: Raw, game: dict[str, Any], key: str, kind: DateType, where: str) -> str | None:
    side = raw.obj(raw.key(game, key, where), f"{where}.{key}")
    at = f"{where}.{key}"
    code = raw.opt_text(raw.key(side, "teamTricode", at), f"{at}.teamTricode")
    if code is None:
        return None
    known = tricode_for(code)
    if known:
        return known
    if kind in COMPETITIVE or not _TRICODE.match(code):
        raw.fail(f"{at}.teamTricode: unknown team {code!r}")
    return code


def _score(raw: Raw, game: dict[str, Any], key: str, status: int, where: str) -> int | None:
    side = raw.obj(game[key], f"{where}.{key}")
    score = raw.opt_int(side.get("score"), f"{where}.{key}.score")
    return None if status == 1 else score


def _row(raw: Raw, game: dict[str, Any], where: str, season: str) -> dict[str, Any] | None:
    nba_id = raw.text(raw.key(game, "gameId", where), f"{where}.gameId")
    if not _GAME_ID.match(nba_id):
        raw.fail(f"{where}.gameId: expected 10 digits, got {nba_id!r}")
    kind = game_type_of(nba_id)
    home = _team(raw, game, "homeTeam", kind, where)
    away = _team(raw, game, "awayTeam", kind, where)
    if home is None or away is None:
        return None
    game_date = raw.iso_date(raw.key(game, "gameDateEst", where), f"{where}.gameDateEst")
    status = raw.integer(raw.key(game, "gameStatus", where), f"{where}.gameStatus")
    postponed = raw.opt_text(game.get("postponedStatus"), f"{where}.postponedStatus")
    neutral = game.get("isNeutral")
    return {
        "game_date": game_date,
        "nba_game_id": nba_id,
        "game_id": system_game_id(game_date, away, home),
        "season": season,
        "season_year": season_start_year(season),
        "game_type": kind.value,
        "game_label": raw.opt_text(game.get("gameLabel"), f"{where}.gameLabel"),
        "game_status": status,
        "postponed": postponed not in (None, "N"),
        "tip_time_et": raw.eastern_wall(raw.key(game, "gameDateTimeEst", where),
                                        f"{where}.gameDateTimeEst"),
        "home_team_abbr": home,
        "away_team_abbr": away,
        "home_team_score": _score(raw, game, "homeTeam", status, where),
        "away_team_score": _score(raw, game, "awayTeam", status, where),
        "is_neutral": None if neutral is None else raw.boolean(neutral, f"{where}.isNeutral"),
        "source": SOURCE,
        "source_file": raw.path,
    }


def parse(doc: Any, source_file: str) -> list[dict[str, Any]]:
    """Schedule rows (columns of ``nba_raw.schedule``) of a season file, in file order.

    Raises:
        MalformedRawFile: structure, types, an unknown team in a competitive game, a duplicate
            game.
    """
    raw = Raw(source_file)
    season = season_of_file(doc, source_file)
    league = raw.obj(raw.obj(doc, "file")["leagueSchedule"], "leagueSchedule")
    days = raw.arr(raw.key(league, "gameDates", "leagueSchedule"), "leagueSchedule.gameDates")
    rows: list[dict[str, Any]] = []
    seen: set[tuple[date, str]] = set()
    for i, day in enumerate(days):
        where = f"leagueSchedule.gameDates[{i}]"
        games = raw.arr(raw.key(raw.obj(day, where), "games", where), f"{where}.games")
        for j, game in enumerate(games):
            row = _row(raw, raw.obj(game, f"{where}.games[{j}]"), f"{where}.games[{j}]", season)
            if row is None:
                continue
            key = (row["game_date"], row["nba_game_id"])
            if key in seen:
                raw.fail(f"game {key[1]} listed twice on {key[0].isoformat()}")
            seen.add(key)
            rows.append(row)
    return rows


def scheduled_game(row: Mapping[str, Any]) -> ScheduledGame:
    """The ScheduledGame of a schedule row."""
    return ScheduledGame(
        nba_game_id=row["nba_game_id"],
        game_id=row["game_id"],
        game_date=row["game_date"],
        season=row["season"],
        game_type=DateType(row["game_type"]),
        home=row["home_team_abbr"],
        away=row["away_team_abbr"],
        status=int(row["game_status"] or 0),
        postponed=bool(row["postponed"]),
        home_score=row["home_team_score"],
        away_score=row["away_team_score"],
    )


def games_by_date(rows: Iterable[Mapping[str, Any]]) -> dict[date, list[ScheduledGame]]:
    """ScheduledGame objects per date, in row order."""
    out: dict[date, list[ScheduledGame]] = {}
    for row in rows:
        game = scheduled_game(row)
        out.setdefault(game.game_date, []).append(game)
    return out
