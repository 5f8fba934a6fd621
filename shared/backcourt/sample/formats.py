"""Raw files in the real formats of ``tests/fixtures/nba`` (NBA.com box score, balldontlie
box_scores, Odds API historical event odds, parsed NBA.com injury report, NBA.com
shotchartdetail).

The box score copies a quirk of the real file: in ``TeamStarterBenchStats`` the Bench rows carry
the tricode in TEAM_NAME, the city in TEAM_ABBREVIATION and the team slug in TEAM_CITY.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from datetime import UTC, date, datetime, timedelta
from operator import attrgetter
from typing import Any

from backcourt.domain.ids import season_of
from backcourt.domain.teams import BY_TRICODE
from backcourt.sample import shots
from backcourt.sample.league import Player
from backcourt.sample.market import BOOKS, GameMarket
from backcourt.sample.season import ReportEntry
from backcourt.sample.sim import GameResult, Line, TeamGame
from backcourt.sample.slate import Fixture
from backcourt.sample.static import COLLEGES, COUNTRIES, TEAM_INFO

PLAYER_HEADERS = [
    "GAME_ID", "TEAM_ID", "TEAM_ABBREVIATION", "TEAM_CITY", "PLAYER_ID", "PLAYER_NAME",
    "NICKNAME", "START_POSITION", "COMMENT", "MIN", "FGM", "FGA", "FG_PCT", "FG3M", "FG3A",
    "FG3_PCT", "FTM", "FTA", "FT_PCT", "OREB", "DREB", "REB", "AST", "STL", "BLK", "TO", "PF",
    "PTS", "PLUS_MINUS",
]
_TOTALS = [
    "FGM", "FGA", "FG_PCT", "FG3M", "FG3A", "FG3_PCT", "FTM", "FTA", "FT_PCT", "OREB", "DREB",
    "REB", "AST", "STL", "BLK", "TO", "PF", "PTS",
]
TEAM_HEADERS = ["GAME_ID", "TEAM_ID", "TEAM_NAME", "TEAM_ABBREVIATION", "TEAM_CITY", "MIN",
                *_TOTALS, "PLUS_MINUS"]
STARTER_BENCH_HEADERS = ["GAME_ID", "TEAM_ID", "TEAM_NAME", "TEAM_ABBREVIATION", "TEAM_CITY",
                         "STARTERS_BENCH", "MIN", *_TOTALS]


def dumps(obj: object, *, indent: int | None = None) -> bytes:
    """Deterministic UTF-8 JSON (compact unless indented)."""
    seps = (",", ":") if indent is None else (",", ": ")
    return json.dumps(obj, ensure_ascii=False, indent=indent, separators=seps).encode("utf-8")


def event_id(nba_game_id: str) -> str:
    """A stable 32-hex Odds API event id for a game."""
    return hashlib.md5(f"backcourt-sample/{nba_game_id}".encode()).hexdigest()


def iso_z(moment: datetime) -> str:
    """``2024-01-25T03:55:40Z``."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def clock(seconds: int) -> str:
    """Minutes as NBA.com writes them: ``49:25``, ``7:28``, ``240:00``."""
    return f"{seconds // 60}:{seconds % 60:02d}"


def _pct(made: int, att: int) -> float:
    return round(made / att, 3) if att else 0.0


# ------------------------------------------------------------------------- NBA.com box score


def boxscore(result: GameResult) -> bytes:
    """``boxscoretraditionalv2`` for one game."""
    gid = result.fixture.nba_game_id
    total = (240 + 25 * result.overtimes) * 60
    players = [_player_row(gid, side, ln) for side in (result.away, result.home)
               for ln in side.lines]
    teams = [_team_row(gid, side, total, side.points - other.points)
             for side, other in ((result.home, result.away), (result.away, result.home))]
    split = [_split_row(gid, side, starters) for starters in (True, False)
             for side in (result.away, result.home)]
    doc = {
        "resource": "boxscore",
        "parameters": {"GameID": gid, "StartPeriod": 0, "EndPeriod": 0, "StartRange": 0,
                       "EndRange": 0, "RangeType": 0},
        "resultSets": [
            {"name": "PlayerStats", "headers": PLAYER_HEADERS, "rowSet": players},
            {"name": "TeamStats", "headers": TEAM_HEADERS, "rowSet": teams},
            {"name": "TeamStarterBenchStats", "headers": STARTER_BENCH_HEADERS,
             "rowSet": split},
        ],
    }
    return dumps(doc)


_KEYS = ("seconds", "fgm", "fga", "fg3m", "fg3a", "ftm", "fta", "oreb", "dreb", "ast", "stl",
         "blk", "tov", "pf", "pts")


_GET = attrgetter(*_KEYS)


def _stats(lines: Sequence[Line]) -> dict[str, int]:
    """Column sums over the lines of players who played."""
    rows = [_GET(ln) for ln in lines if ln.played]
    if not rows:
        return dict.fromkeys(_KEYS, 0)
    return {k: sum(col) for k, col in zip(_KEYS, zip(*rows, strict=True), strict=True)}


def _tail(x: Mapping[str, int]) -> list[Any]:
    """The columns from FGM to PTS."""
    return [x["fgm"], x["fga"], _pct(x["fgm"], x["fga"]), x["fg3m"], x["fg3a"],
            _pct(x["fg3m"], x["fg3a"]), x["ftm"], x["fta"], _pct(x["ftm"], x["fta"]), x["oreb"],
            x["dreb"], x["oreb"] + x["dreb"], x["ast"], x["stl"], x["blk"], x["tov"], x["pf"],
            x["pts"]]


def _player_row(gid: str, side: TeamGame, ln: Line) -> list[Any]:
    team = BY_TRICODE[side.tricode]
    p = ln.player
    head: list[Any] = [gid, team.team_id, team.tricode, team.city, p.player_id, p.name,
                       p.first_name, ln.start, ln.comment]
    if not ln.played:
        return head + [None] * 20
    return head + [clock(ln.seconds), ln.fgm, ln.fga, _pct(ln.fgm, ln.fga), ln.fg3m, ln.fg3a,
                   _pct(ln.fg3m, ln.fg3a), ln.ftm, ln.fta, _pct(ln.ftm, ln.fta), ln.oreb,
                   ln.dreb, ln.oreb + ln.dreb, ln.ast, ln.stl, ln.blk, ln.tov, ln.pf, ln.pts,
                   ln.pm]


def _team_row(gid: str, side: TeamGame, total: int, margin: int) -> list[Any]:
    team = BY_TRICODE[side.tricode]
    return [gid, team.team_id, team.nickname, team.tricode, team.city, clock(total),
            *_tail(_stats(side.lines)), margin]


def _split_row(gid: str, side: TeamGame, starters: bool) -> list[Any]:
    team = BY_TRICODE[side.tricode]
    s = _stats([ln for ln in side.lines if bool(ln.start) == starters])
    if starters:
        names = [team.nickname, team.tricode, team.city, "Starters"]
    else:
        names = [team.tricode, team.city, TEAM_INFO[team.tricode].slug, "Bench"]
    return [gid, team.team_id, *names, clock(s["seconds"]), *_tail(s)]


# ------------------------------------------------------------------------------ balldontlie


def balldontlie(results: Sequence[GameResult]) -> bytes:
    """balldontlie ``box_scores`` of one date: same numbers, minutes rounded to whole minutes."""
    games = []
    for r in results:
        fx = r.fixture
        games.append({
            "date": fx.game_date.isoformat(),
            "season": fx.game_date.year if fx.game_date.month >= 7 else fx.game_date.year - 1,
            "status": "Final",
            "period": 4 + r.overtimes,
            "time": "Final",
            "postseason": fx.type_digit in "45",
            "home_team_score": r.home.points,
            "visitor_team_score": r.away.points,
            "home_team": _bdl_team(r.home),
            "visitor_team": _bdl_team(r.away),
        })
    return dumps({"data": games})


def _bdl_team(side: TeamGame) -> dict[str, Any]:
    team, info = BY_TRICODE[side.tricode], TEAM_INFO[side.tricode]
    return {
        "id": info.bdl_id, "conference": info.conference, "division": info.division,
        "city": team.city, "name": team.nickname, "full_name": team.full_name,
        "abbreviation": team.tricode, "players": [_bdl_line(ln) for ln in side.lines],
    }


def _bdl_pct(made: int, att: int) -> float | int:
    return round(made / att, 7) if att else 0


def _bdl_line(ln: Line) -> dict[str, Any]:
    return {
        "min": f"{round(ln.seconds / 60):02d}",
        "fgm": ln.fgm, "fga": ln.fga, "fg_pct": _bdl_pct(ln.fgm, ln.fga),
        "fg3m": ln.fg3m, "fg3a": ln.fg3a, "fg3_pct": _bdl_pct(ln.fg3m, ln.fg3a),
        "ftm": ln.ftm, "fta": ln.fta, "ft_pct": _bdl_pct(ln.ftm, ln.fta),
        "oreb": ln.oreb, "dreb": ln.dreb, "reb": ln.oreb + ln.dreb, "ast": ln.ast,
        "stl": ln.stl, "blk": ln.blk, "turnover": ln.tov, "pf": ln.pf, "pts": ln.pts,
        "player": _bdl_player(ln.player),
    }


def _bdl_player(p: Player) -> dict[str, Any]:
    k = p.player_id
    inches = {"G": 76, "F": 80, "C": 83}[p.position] + k % 3
    rnd = 1 if p.skill >= 14 else 2
    return {
        "id": p.bdl_id, "first_name": p.first_name, "last_name": p.last_name,
        "position": p.position, "height": f"{inches // 12}-{inches % 12}",
        "weight": str(190 + (inches - 74) * 7 + k % 9), "jersey_number": str(k % 50),
        "college": COLLEGES[k % len(COLLEGES)], "country": COUNTRIES[(k // 7) % len(COUNTRIES)],
        "draft_year": p.birth_year + 20, "draft_round": rnd,
        "draft_number": k % 30 + 1 + (30 if rnd == 2 else 0),
    }


# ---------------------------------------------------------------------------------- Odds API


def _wrapper(at: datetime, data: dict[str, Any]) -> bytes:
    return dumps({
        "timestamp": iso_z(at),
        "previous_timestamp": iso_z(at - timedelta(seconds=302)),
        "next_timestamp": iso_z(at + timedelta(seconds=298)),
        "data": data,
    })


def _event(fx: Fixture, eid: str, bookmakers: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "id": eid, "sport_key": "basketball_nba", "sport_title": "NBA",
        "commence_time": iso_z(fx.tip),
        "home_team": BY_TRICODE[fx.home].full_name,
        "away_team": BY_TRICODE[fx.away].full_name,
        "bookmakers": bookmakers,
    }


def game_lines(result: GameResult, market: GameMarket) -> tuple[str, bytes]:
    """(file name, body) of the historical spreads/totals snapshot of a game."""
    fx = result.fixture
    home, away = BY_TRICODE[fx.home].full_name, BY_TRICODE[fx.away].full_name
    titles = dict(BOOKS)
    books = []
    for b in market.lines:
        upd = iso_z(b.updated)
        books.append({"key": b.book, "title": titles[b.book], "last_update": upd, "markets": [
            {"key": "spreads", "last_update": upd, "outcomes": [
                {"name": away, "price": b.away_price, "point": -b.spread_home},
                {"name": home, "price": b.home_price, "point": b.spread_home}]},
            {"key": "totals", "last_update": upd, "outcomes": [
                {"name": "Over", "price": b.over_price, "point": b.total},
                {"name": "Under", "price": b.under_price, "point": b.total}]},
        ]})
    eid = event_id(fx.nba_game_id)
    name = f"{eid}_{market.lines_at:%H%M%S}.json"
    return name, _wrapper(market.lines_at, _event(fx, eid, books))


def player_props(result: GameResult, market: GameMarket) -> tuple[str, bytes]:
    """(file name, body) of the player_points snapshot of a game."""
    fx = result.fixture
    books = []
    for key, title in BOOKS:
        mine = [x for x in market.props if x.book == key]
        if not mine:
            continue
        upd = iso_z(mine[0].updated)
        outcomes = []
        for x in mine:
            outcomes.append({"name": "Over", "description": x.player.name, "price": x.over,
                             "point": x.line})
            outcomes.append({"name": "Under", "description": x.player.name, "price": x.under,
                             "point": x.line})
        books.append({"key": key, "title": title, "last_update": upd, "markets": [
            {"key": "player_points", "last_update": upd, "outcomes": outcomes}]})
    eid = event_id(fx.nba_game_id)
    name = f"{eid}_{market.props_at:%H%M%S}.json"
    return name, _wrapper(market.props_at, _event(fx, eid, books))


# ----------------------------------------------------------------------------- injury report


def report_hour(entries_tips: Sequence[datetime]) -> int:
    """Report issued at 5 PM ET, or two hours before an earlier first tip."""
    first = min(entries_tips)
    return 17 if first.hour >= 19 else max(first.hour - 2, 8)


def injury_report(day: date, season: str, hour: int, entries: Sequence[ReportEntry]) -> bytes:
    """The parsed NBA.com injury report of a game date (``records`` ordered like the PDF)."""
    ordered = sorted(entries, key=lambda e: (e.fixture.tip, e.fixture.away, e.team,
                                             e.listing.player.report_name))
    records = [{
        "date": day.strftime("%m/%d/%Y"),
        "gametime": f"{e.fixture.tip:%I:%M} (ET)",
        "matchup": f"{e.fixture.away}@{e.fixture.home}",
        "team": e.team,
        "player": e.listing.player.report_name,
        "status": e.listing.status,
        "reason": e.listing.reason,
        "confidence": 1.0,
    } for e in ordered]
    counts = {s: sum(r["status"] == s for r in records)
              for s in ("Out", "Questionable", "Doubtful", "Probable", "Available")}
    digest = hashlib.md5(f"{day}/{hour}".encode()).hexdigest()
    doc = {
        "metadata": {
            "gamedate": f"{day:%Y%m%d}", "hour": f"{(hour - 1) % 12 + 1:02d}",
            "period": "PM" if hour >= 12 else "AM", "hour24": f"{hour:02d}", "season": season,
            "scrape_time": f"{hour:02d}-{int(digest[8:10], 16) % 60:02d}-"
                           f"{int(digest[10:12], 16) % 60:02d}",
            "run_id": digest[:8],
        },
        "parsing_stats": {
            "total_records": len(records),
            "overall_confidence": 1.0 if records else 0.0,
            "status_counts": counts,
            "confidence_distribution": {"100%": len(records)} if records else {},
            "parsing_stats": {
                "total_lines": 12 + len(records) + len({r["matchup"] for r in records}),
                "player_lines": len(records), "merged_multiline": 0, "unparsed_count": 0,
                "confidence_distribution": {},
            },
            "unparsed_lines_sample": [],
        },
        "records": records,
    }
    return dumps(doc, indent=2)


# ---------------------------------------------------------------------------- shot chart

_SEASON_TYPES = {"2": "Regular Season", "4": "Playoffs", "5": "PlayIn", "6": "Regular Season"}


def shot_chart(result: GameResult, rows: Sequence[Sequence[Any]]) -> bytes:
    """``shotchartdetail`` of one game (every team, every player, FGA) with the given rows."""
    fx = result.fixture
    params = {
        "LeagueID": "00", "Season": season_of(fx.game_date),
        "SeasonType": _SEASON_TYPES.get(fx.type_digit, "Regular Season"), "TeamID": 0,
        "PlayerID": 0, "GameID": fx.nba_game_id, "Outcome": None, "Location": None, "Month": 0,
        "SeasonSegment": None, "DateFrom": None, "DateTo": None, "OpponentTeamID": 0,
        "VsConference": None, "VsDivision": None, "Position": None, "RookieYear": None,
        "GameSegment": None, "Period": 0, "LastNGames": 0, "ClutchTime": None,
        "AheadBehind": None, "PointDiff": None, "RangeType": 0, "StartPeriod": 1,
        "EndPeriod": 10, "StartRange": 0, "EndRange": 28800, "ContextFilter": "",
        "ContextMeasure": "FGA",
    }
    doc = {
        "resource": "shotchartdetail",
        "parameters": params,
        "resultSets": [
            {"name": "Shot_Chart_Detail", "headers": shots.HEADERS, "rowSet": rows},
            {"name": "LeagueAverages", "headers": shots.LEAGUE_AVERAGE_HEADERS,
             "rowSet": shots.league_averages()},
        ],
    }
    return dumps(doc)
