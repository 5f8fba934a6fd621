"""What the box-score parsers share: matching a game to the day's schedule, building rows with
exactly the columns of ``nba_raw.player_boxscores`` / ``team_boxscores``, and team rows summed
from player rows for the sources that have no team box."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date
from typing import Any

from backcourt.domain import tables_raw as tr
from backcourt.domain.calendar import ScheduledGame, game_type_of
from backcourt.domain.ids import season_of, season_start_year, system_game_id
from backcourt.domain.registry import DateType
from backcourt.sources.parsing import Raw, table_row

STAT_COLUMNS: tuple[str, ...] = (
    "fg_made", "fg_attempted", "three_pt_made", "three_pt_attempted", "ft_made", "ft_attempted",
    "offensive_rebounds", "defensive_rebounds", "total_rebounds", "assists", "steals", "blocks",
    "turnovers", "personal_fouls", "points", "plus_minus",
)
COUNTING: tuple[str, ...] = STAT_COLUMNS[:-1]  # every stat a team total is the sum of

Row = dict[str, Any]


def find_game(
    raw: Raw,
    games: Sequence[ScheduledGame],
    game_date: date,
    *,
    nba_game_id: str | None = None,
    home: str | None = None,
    away: str | None = None,
) -> ScheduledGame:
    """The scheduled game a box score describes: by NBA.com id first, else by (date, home, away).

    Raises:
        MalformedRawFile: "game X not on the schedule of D".
    """
    for game in games:
        if nba_game_id and game.nba_game_id == nba_game_id and game.game_date == game_date:
            return game
    if home and away:
        for game in games:
            if (game.game_date, game.home, game.away) == (game_date, home, away):
                return game
    label = nba_game_id or f"{away}@{home}"
    raw.fail(f"game {label} not on the schedule of {game_date.isoformat()}")


def unscheduled_game(
    game_date: date, home: str, away: str, nba_game_id: str | None
) -> ScheduledGame:
    """A stand-in for a game read without a schedule (format checks at ingest)."""
    return ScheduledGame(
        nba_game_id=nba_game_id or "",
        game_id=system_game_id(game_date, away, home),
        game_date=game_date,
        season=season_of(game_date),
        game_type=game_type_of(nba_game_id) if nba_game_id else DateType.REGULAR,
        home=home,
        away=away,
    )


def side_of(raw: Raw, game: ScheduledGame, team: str, where: str) -> tuple[bool, str]:
    """(is_home, opponent) of a team in a game; a team not playing in it is named."""
    if team == game.home:
        return True, game.away
    if team == game.away:
        return False, game.home
    raw.fail(f"{where}: team {team} does not play in {game.away}@{game.home}")


def _game_columns(game: ScheduledGame, team: str, is_home: bool, opponent: str) -> Row:
    return {
        "game_date": game.game_date,
        "game_id": game.game_id,
        "nba_game_id": game.nba_game_id or None,
        "season_year": season_start_year(game.season),
        "team_abbr": team,
        "opponent_team_abbr": opponent,
        "is_home": is_home,
    }


def player_row(
    game: ScheduledGame,
    team: str,
    is_home: bool,
    player: Mapping[str, Any],
    stats: Mapping[str, int | None],
    audit: tuple[str, str],
) -> Row:
    """A player_boxscores row.

    Args:
        player: player_id, player_name, player_lookup, player_status, dnp_reason, starter,
            minutes.
        stats: a value (or None) for each of STAT_COLUMNS.
        audit: (source, source_file).
    """
    opponent = game.away if is_home else game.home
    values = _game_columns(game, team, is_home, opponent)
    values.update({k: player[k] for k in ("player_id", "player_name", "player_lookup",
                                           "player_status", "dnp_reason", "starter", "minutes")})
    values.update({k: stats[k] for k in STAT_COLUMNS})
    values["source"], values["source_file"] = audit
    return table_row(tr.PLAYER_BOXSCORES, values)


def team_row(
    game: ScheduledGame,
    team: str,
    is_home: bool,
    minutes: int | None,
    stats: Mapping[str, int | None],
    audit: tuple[str, str],
) -> Row:
    """A team_boxscores row."""
    opponent = game.away if is_home else game.home
    values = _game_columns(game, team, is_home, opponent)
    values["minutes"] = minutes
    values.update({k: stats[k] for k in STAT_COLUMNS})
    values["source"], values["source_file"] = audit
    return table_row(tr.TEAM_BOXSCORES, values)


def check_both_teams(raw: Raw, game: ScheduledGame, rows: Sequence[Row]) -> None:
    """A per-game box score must list players of both teams, and each player once."""
    teams = {r["team_abbr"] for r in rows}
    for team in (game.away, game.home):
        if team not in teams:
            raw.fail(f"game {game.game_id} has no player rows for {team}")
    check_unique_players(raw, game, rows)


def check_unique_players(raw: Raw, game: ScheduledGame, rows: Sequence[Row]) -> None:
    """Each player at most once per game."""
    seen: set[str] = set()
    for r in rows:
        if r["player_lookup"] in seen:
            raw.fail(f"game {game.game_id} lists player {r['player_name']!r} twice")
        seen.add(r["player_lookup"])


def team_rows_from_players(players: Sequence[Row]) -> list[Row]:
    """Team rows summed from player rows (two per game).

    Counting stats are sums (NULL stats of DNP rows count as 0); minutes are the rounded sum of
    player minutes; plus_minus is the team's points minus the opponent's points.
    """
    groups: dict[tuple[str, str], list[Row]] = {}
    for p in players:
        groups.setdefault((p["game_id"], p["team_abbr"]), []).append(p)
    totals = {key: {s: sum(r[s] or 0 for r in rows) for s in COUNTING}
              for key, rows in groups.items()}
    out = []
    for (game_id, team), rows in groups.items():
        first = rows[0]
        points = totals[(game_id, team)]["points"]
        opp = totals.get((game_id, first["opponent_team_abbr"]))
        values = {k: first[k] for k in tr.TEAM_BOXSCORES.column_names if k in first}
        values.update(totals[(game_id, team)])
        values["plus_minus"] = points - opp["points"] if opp else None
        values["minutes"] = round(sum(r["minutes"] or 0.0 for r in rows))
        out.append(table_row(tr.TEAM_BOXSCORES, values))
    return out
