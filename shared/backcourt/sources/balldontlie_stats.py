"""balldontlie ``stats`` (player box scores of one date) → player box-score rows.

``data[]`` holds one row per player and game: the player line (``min`` as "38", "38:12", "00" or
"", the counting stats and ``player{}``, read exactly as the ``box_scores`` lines of
:mod:`backcourt.sources.balldontlie`: 0 minutes and no stats is ``dnp``), the player's
``team{id, abbreviation}`` and the ``game{id, date, status, home_team_id, visitor_team_id,
home_team_score, visitor_team_score}``. The game names its teams by balldontlie id only, so the
home and away tricodes come from the rows' ``team``. Games are matched to the day's schedule by
(date, home, away) as for ``box_scores``; their NBA.com id comes from the schedule.

The endpoint is paginated and also answers for games not yet over, so a file is refused when it is
one page of several (``meta.next_cursor`` set), when a game is not final, when the rows of one
game disagree about it, when a row's team does not play in its game, when a team has no rows, or
when a team's player points do not add up to its final score (rows missing).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from backcourt.domain.calendar import ScheduledGame
from backcourt.sources import balldontlie, box
from backcourt.sources.parsing import Raw

SOURCE = "balldontlie_stats"


@dataclass(frozen=True)
class _Game:
    """A balldontlie game as a row's ``game`` object gives it."""

    bdl_id: int
    played_on: date
    home_id: int
    away_id: int
    home_score: int
    away_score: int


@dataclass
class _Lines:
    """The rows of one game: the game (from its first row), tricodes by team id, and the rows
    as (where, team id, record)."""

    game: _Game
    first: str
    teams: dict[int, str] = field(default_factory=dict)
    rows: list[tuple[str, int, dict[str, Any]]] = field(default_factory=list)


def _rows(raw: Raw, doc: Any) -> list[dict[str, Any]]:
    """``data[]`` as objects, after checking the file is not one page of several."""
    top = raw.obj(doc, "file")
    if "meta" in top:
        cursor = raw.obj(top["meta"], "meta").get("next_cursor")
        if cursor is not None:
            raw.fail(f"meta.next_cursor is {cursor!r}: the file is one page of a paginated "
                     "answer, not the whole date")
    data = raw.arr(raw.key(top, "data", "file"), "data")
    return [raw.obj(rec, f"data[{i}]") for i, rec in enumerate(data)]


def _game(raw: Raw, rec: dict[str, Any], where: str) -> _Game:
    """The ``game`` of a row; a game that is not final is refused."""
    at = f"{where}.game"
    g = raw.obj(raw.key(rec, "game", where), at)
    bdl_id = raw.integer(raw.key(g, "id", at), f"{at}.id")
    status = raw.text(raw.key(g, "status", at), f"{at}.status")
    if not status.lower().startswith("final"):
        raw.fail(f"{at}.status: game {bdl_id} is not final (status {status!r})")

    def number(key: str) -> int:
        return raw.integer(raw.key(g, key, at), f"{at}.{key}")

    return _Game(
        bdl_id=bdl_id,
        played_on=raw.iso_date(raw.key(g, "date", at), f"{at}.date"),
        home_id=number("home_team_id"),
        away_id=number("visitor_team_id"),
        home_score=number("home_team_score"),
        away_score=number("visitor_team_score"),
    )


def _team(raw: Raw, rec: dict[str, Any], where: str) -> tuple[int, str]:
    """(balldontlie team id, NBA.com tricode) of a row's ``team``."""
    at = f"{where}.team"
    team = raw.obj(raw.key(rec, "team", where), at)
    return (raw.integer(raw.key(team, "id", at), f"{at}.id"),
            raw.team(raw.key(team, "abbreviation", at), f"{at}.abbreviation"))


def _add(raw: Raw, games: dict[int, _Lines], rec: dict[str, Any], where: str) -> None:
    """File one row under its game, checking it agrees with the game's other rows."""
    game = _game(raw, rec, where)
    team_id, tricode = _team(raw, rec, where)
    lines = games.setdefault(game.bdl_id, _Lines(game, where))
    if game != lines.game:
        raw.fail(f"{where}.game disagrees with {lines.first}.game about game {game.bdl_id}")
    if team_id not in (game.home_id, game.away_id):
        raw.fail(f"{where}.team: {tricode} (id {team_id}) does not play in game {game.bdl_id} "
                 f"(home_team_id {game.home_id}, visitor_team_id {game.away_id})")
    known = lines.teams.setdefault(team_id, tricode)
    if known != tricode:
        raw.fail(f"{where}.team.abbreviation: team id {team_id} is {tricode} here but {known} "
                 f"in {lines.first}")
    lines.rows.append((where, team_id, rec))


def _by_game(raw: Raw, doc: Any) -> list[_Lines]:
    """The rows of a file grouped by game, in order of first appearance."""
    games: dict[int, _Lines] = {}
    for i, rec in enumerate(_rows(raw, doc)):
        _add(raw, games, rec, f"data[{i}]")
    return list(games.values())


def dates_of(doc: Any, source_file: str) -> set[date]:
    """The game dates (``data[].game.date``) a file covers."""
    raw = Raw(source_file)
    return {lines.game.played_on for lines in _by_game(raw, doc)}


def _sides(raw: Raw, lines: _Lines) -> tuple[str, str]:
    """(home, away) tricodes of a game, from its rows."""
    game = lines.game
    for team_id, side in ((game.home_id, "home"), (game.away_id, "visitor")):
        if team_id not in lines.teams:
            raw.fail(f"game {game.bdl_id} has no player rows for its {side} team (id {team_id})")
    return lines.teams[game.home_id], lines.teams[game.away_id]


def _check_scores(raw: Raw, lines: _Lines, home: str, away: str, rows: Sequence[box.Row]) -> None:
    """Each team's player points add up to its final score."""
    game = lines.game
    for team, score in ((home, game.home_score), (away, game.away_score)):
        points = sum(r["points"] or 0 for r in rows if r["team_abbr"] == team)
        if points != score:
            raw.fail(f"game {game.bdl_id}: the {team} player points add up to {points}, not its "
                     f"final score {score} (rows missing?)")


def _game_rows(
    raw: Raw, lines: _Lines, source_file: str,
    day: date | None, games: Sequence[ScheduledGame] | None,
) -> list[box.Row]:
    """The player rows of one game, matched to the schedule and checked."""
    home, away = _sides(raw, lines)
    game = balldontlie.scheduled_game(raw, lines.game.played_on, home, away, day, games)
    rows = []
    for where, team_id, rec in lines.rows:
        team = lines.teams[team_id]
        player, stats = balldontlie.player_line(raw, rec, where)
        rows.append(box.player_row(game, team, team == home, player, stats,
                                   (SOURCE, source_file)))
    box.check_both_teams(raw, game, rows)
    _check_scores(raw, lines, home, away, rows)
    return rows


def parse_players(
    doc: Any,
    source_file: str,
    game_date: date | None = None,
    games: Sequence[ScheduledGame] | None = None,
) -> list[box.Row]:
    """Player rows of a balldontlie stats file.

    Args:
        game_date, games: the date the file is stored under and its schedule; every game must be
            on it. Without them (format checks at ingest) games are taken from the file itself.
    Raises:
        MalformedRawFile: structure, types, unknown team, a page of several, a game not final,
            rows that disagree or do not add up, or a game not on the schedule.
    """
    raw = Raw(source_file)
    rows: list[box.Row] = []
    for lines in _by_game(raw, doc):
        rows.extend(_game_rows(raw, lines, source_file, game_date, games))
    return rows
