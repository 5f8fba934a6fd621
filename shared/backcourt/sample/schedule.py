"""The NBA.com ``scheduleLeagueV2`` document of a generated season, built from its results.

Every game carries the fields of the real file (ids, codes, ET and UTC times, labels, arena,
records, scores, seeds, points leader). Regular-season records are the team's record after the
game; play-in records count play-in games; playoff records are the series score after the game.
All-Star weekend games of the real id list are included (no box scores) with exhibition teams.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from datetime import date, datetime, time, timedelta
from typing import Any

import numpy as np

from backcourt.domain.dates import EASTERN
from backcourt.domain.ids import season_start_year
from backcourt.domain.teams import BY_TRICODE
from backcourt.sample.formats import dumps, iso_z
from backcourt.sample.sim import GameResult, TeamGame
from backcourt.sample.slate import Fixture, local_time, tip_at
from backcourt.sample.static import TEAM_INFO

_DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_EMPTY_BROADCASTERS: dict[str, list[Any]] = {k: [] for k in (
    "nationalTvBroadcasters", "nationalRadioBroadcasters", "nationalOttBroadcasters",
    "homeTvBroadcasters", "homeRadioBroadcasters", "homeOttBroadcasters",
    "awayTvBroadcasters", "awayRadioBroadcasters", "awayOttBroadcasters",
    "intlRadioBroadcasters", "intlTvBroadcasters", "intlOttBroadcasters")}


def schedule_document(season: str, results: Sequence[GameResult],
                      all_star: Sequence[tuple[str, date]], rng: np.random.Generator) -> bytes:
    """The season's schedule file (compact JSON, like the real one)."""
    played = sorted(results, key=lambda r: (r.fixture.game_date, r.fixture.tip,
                                            r.fixture.nba_game_id))
    opener = min(r.fixture.game_date for r in played if r.fixture.type_digit == "2")
    records = _records(played)
    games: list[tuple[datetime, str, dict[str, Any]]] = []
    for r in played:
        rec = records[r.fixture.nba_game_id]
        games.append((r.fixture.tip, r.fixture.nba_game_id, _game(r, rec, opener)))
    games += _all_star_games(all_star, rng)
    by_day: dict[date, list[tuple[datetime, str, dict[str, Any]]]] = defaultdict(list)
    for g in games:
        by_day[g[0].date()].append(g)
    game_dates = []
    for day in sorted(by_day):
        todays = [doc for _, _, doc in sorted(by_day[day], key=lambda x: (x[0], x[1]))]
        for i, doc in enumerate(todays):
            doc["gameSequence"] = i + 1
        game_dates.append({"gameDate": f"{day:%m/%d/%Y} 00:00:00", "games": todays})
    year = season_start_year(season)
    doc = {
        "meta": {"version": 1,
                 "request": f"http://nba.cloud/league/00/{season}/scheduleleaguev2?Format=json",
                 "time": f"{year + 1}-08-27T13:13:27.1327Z"},
        "leagueSchedule": {
            "seasonYear": season, "leagueId": "00", "gameDates": game_dates,
            "weeks": _weeks(opener, max(r.fixture.game_date for r in played)),
            "broadcasterList": [],
        },
    }
    return dumps(doc)


def _week_number(day: date, opener: date) -> int:
    monday = opener - timedelta(days=opener.weekday())
    return (day - monday).days // 7 + 1


def _weeks(opener: date, last: date) -> list[dict[str, Any]]:
    monday = opener - timedelta(days=opener.weekday())
    out = []
    for n in range(1, _week_number(last, opener) + 1):
        start = opener if n == 1 else monday + timedelta(days=7 * (n - 1))
        end = monday + timedelta(days=7 * n - 1)
        out.append({"weekNumber": n, "weekName": f"Week {n}",
                    "startDate": f"{start}T00:00:00Z", "endDate": f"{end}T00:00:00Z"})
    return out


Record = Mapping[str, tuple[int, int, str]]  # team → (wins, losses) after the game, series text


def _records(played: Sequence[GameResult]) -> dict[str, Record]:
    """Per game id: each team's record after the game, and the series text."""
    season: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    play_in: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    series: dict[str, dict[str, list[int]]] = defaultdict(lambda: defaultdict(lambda: [0, 0]))
    out: dict[str, Record] = {}
    for r in played:
        fx, win = r.fixture, r.winner
        lose = fx.away if win == fx.home else fx.home
        digit = fx.type_digit
        if digit == "6":  # a one-off final: its own record
            out[fx.nba_game_id] = {win: (1, 0, ""), lose: (0, 1, "")}
            continue
        table = (season if digit == "2" else play_in if digit == "5"
                 else series[fx.nba_game_id[:9]])
        table[win][0] += 1
        table[lose][1] += 1
        text = _series_text(fx, win, lose, table) if digit in "45" else ""
        out[fx.nba_game_id] = {t: (table[t][0], table[t][1], text) for t in (fx.home, fx.away)}
    return out


def _series_text(fx: Fixture, win: str, lose: str, table: Mapping[str, list[int]]) -> str:
    if fx.type_digit == "5":
        if fx.nba_game_id[7] == "2":
            return f"{win} clinch 8 seed"
        return f"{win} clinch 7 seed" if fx.home_seed == 7 else f"{lose} eliminated"
    a, b = table[fx.home][0], table[fx.away][0]
    lead = fx.home if a >= b else fx.away
    hi, lo = max(a, b), min(a, b)
    if hi == 4:
        return f"{lead} wins {hi}-{lo}"
    if a == b:
        return f"Series tied {a}-{b}"
    return f"{lead} leads {hi}-{lo}"


def _time_fields(fx: Fixture) -> dict[str, Any]:
    day, tip = fx.game_date, fx.tip
    utc_tip = iso_z(tip)
    return {
        "gameDateEst": f"{day}T00:00:00Z",
        "gameTimeEst": f"1900-01-01T{tip:%H:%M}:00Z",
        "gameDateTimeEst": f"{day}T{tip:%H:%M}:00Z",
        "gameDateUTC": iso_z(datetime.combine(day, time(0), EASTERN)),
        "gameTimeUTC": f"1900-01-01T{utc_tip[11:]}",
        "gameDateTimeUTC": utc_tip,
        "awayTeamTime": f"{local_time(tip, fx.away):%Y-%m-%dT%H:%M}:00Z",
        "homeTeamTime": f"{local_time(tip, fx.home):%Y-%m-%dT%H:%M}:00Z",
        "day": _DAYS[day.weekday()],
        "monthNum": day.month,
    }


def _game(r: GameResult, rec: Record, opener: date) -> dict[str, Any]:
    fx = r.fixture
    week = _week_number(fx.game_date, opener)
    info = TEAM_INFO[fx.home]
    series_text = rec[fx.home][2]
    return {
        "gameId": fx.nba_game_id,
        "gameCode": f"{fx.game_date:%Y%m%d}/{fx.away}{fx.home}",
        "gameStatus": 3, "gameStatusText": "Final", "gameSequence": 0,
        **_time_fields(fx),
        "weekNumber": week, "weekName": f"Week {week}", "ifNecessary": False,
        "seriesGameNumber": f"Game {fx.series_game}" if fx.series_game else "",
        "gameLabel": fx.label, "gameSubLabel": fx.sub_label, "seriesText": series_text,
        "arenaName": info.arena, "arenaState": info.arena_state, "arenaCity": info.arena_city,
        "postponedStatus": "N", "branchLink": "", "gameSubtype": "", "isNeutral": fx.neutral,
        "broadcasters": _EMPTY_BROADCASTERS,
        "homeTeam": _team(r.home, rec, fx.home_seed),
        "awayTeam": _team(r.away, rec, fx.away_seed),
        "pointsLeaders": [_leader(r)],
    }


def _team(side: TeamGame, rec: Record, seed: int) -> dict[str, Any]:
    team = BY_TRICODE[side.tricode]
    wins, losses, _ = rec[side.tricode]
    return {"teamId": team.team_id, "teamName": team.nickname, "teamCity": team.city,
            "teamTricode": team.tricode, "teamSlug": TEAM_INFO[team.tricode].slug,
            "wins": wins, "losses": losses, "score": side.points, "seed": seed}


def _leader(r: GameResult) -> dict[str, Any]:
    best = max(((ln, side) for side in (r.home, r.away) for ln in side.lines if ln.played),
               key=lambda x: (x[0].pts, -x[0].player.player_id))
    ln, side = best
    team = BY_TRICODE[side.tricode]
    return {"personId": ln.player.player_id, "firstName": ln.player.first_name,
            "lastName": ln.player.last_name, "teamId": team.team_id, "teamCity": team.city,
            "teamName": team.nickname, "teamTricode": team.tricode, "points": float(ln.pts)}


_EXHIBITION = {
    "4": ("Rising Stars Semifinal", "Game 1", ("TMA", "Team A"), ("TMB", "Team B"), 40),
    "5": ("Rising Stars Semifinal", "Game 2", ("TMC", "Team C"), ("TMD", "Team D"), 40),
    "6": ("Rising Stars Championship", "", ("TMA", "Team A"), ("TMC", "Team C"), 25),
    "1": ("NBA All-Star Game", "", ("EST", "East"), ("WST", "West"), 180),
}


def _all_star_games(ids: Sequence[tuple[str, date]],
                    rng: np.random.Generator) -> list[tuple[datetime, str, dict[str, Any]]]:
    """All-Star weekend exhibitions of the real id list, with made-up exhibition teams."""
    out = []
    for k, (gid, day) in enumerate(sorted(ids)):
        label, sub, (atri, aname), (htri, hname), target = _EXHIBITION.get(
            gid[-1], _EXHIBITION["1"])
        tip = tip_at(day, "20:00") if gid[-1] == "1" else tip_at(day, "21:00") + timedelta(
            minutes=40 * k)
        hs, as_ = (int(x) for x in rng.integers(target - 8, target + 12, 2))
        as_ = as_ + 1 if as_ == hs else as_
        fx = Fixture(gid, day, htri, atri, tip, label=label, sub_label=sub)
        game: dict[str, Any] = {
            "gameId": gid, "gameCode": f"{day:%Y%m%d}/{atri}{htri}", "gameStatus": 3,
            "gameStatusText": "Final", "gameSequence": 0, **_time_fields(fx),
            "weekNumber": 0, "weekName": "", "ifNecessary": False, "seriesGameNumber": "",
            "gameLabel": label, "gameSubLabel": sub, "seriesText": "", "arenaName": "",
            "arenaState": "", "arenaCity": "", "postponedStatus": "N", "branchLink": "",
            "gameSubtype": "", "isNeutral": False, "broadcasters": _EMPTY_BROADCASTERS,
            "homeTeam": _exhibition_team(htri, hname, hs, hs > as_),
            "awayTeam": _exhibition_team(atri, aname, as_, as_ > hs),
            "pointsLeaders": [],
        }
        out.append((tip, gid, game))
    return out


def _exhibition_team(tri: str, name: str, score: int, won: bool) -> dict[str, Any]:
    team_id = 1610616800 + sum(ord(c) for c in tri)
    return {"teamId": team_id, "teamName": name, "teamCity": "", "teamTricode": tri,
            "teamSlug": name.lower().replace(" ", "-"), "wins": int(won), "losses": int(not won),
            "score": score, "seed": 0}
