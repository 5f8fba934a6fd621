"""Which games are played: the real NBA calendar (game ids and dates) with generated matchups.

Regular season: every date of the real id list gets as many games as it really had; the teams
of a date are those with the most games left (ties broken at random, a little against
back-to-backs), paired to even out how often two teams meet (conference rivals a little more often);
home and away come from an Euler orientation of the season's game graph, so every team has
exactly 41 home and 41 away games. Play-in and playoffs follow the real id scheme
(``005yy00101`` East 7v8 … ``004yy00RSG`` round R, series S, game G) among the best teams of the
generated standings; a series keeps its pair and has as many games as the real one had.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime, time, timedelta
from functools import cache
from importlib import resources
from zoneinfo import ZoneInfo

import numpy as np

from backcourt.domain.dates import EASTERN
from backcourt.domain.ids import season_start_year
from backcourt.domain.teams import TEAMS
from backcourt.sample.static import TEAM_INFO

GAME_IDS_CSV = "nbacom-game-ids-2021-22-to-2024-25.csv"
REGULAR_GAMES = 82
B2B_AVERSION = 0.3  # how much a team that played yesterday loses a tie for today's slots


@dataclass(frozen=True)
class Fixture:
    """One game to play (or replay, for 2024-25 whose real scores are kept)."""

    nba_game_id: str
    game_date: date
    home: str
    away: str
    tip: datetime  # aware, America/New_York
    neutral: bool = False
    label: str = ""  # NBA.com gameLabel
    sub_label: str = ""  # NBA.com gameSubLabel
    series_game: int = 0  # 1-7 in a playoff series
    home_seed: int = 0
    away_seed: int = 0
    forced_winner: str | None = None  # a playoff series decided in advance
    forced_score: tuple[int, int] | None = None  # real (home, away) final score

    @property
    def type_digit(self) -> str:
        """Third character of the NBA.com id: 2 regular, 4 playoffs, 5 play-in, 6 cup final."""
        return self.nba_game_id[2]


@cache
def _id_rows() -> tuple[tuple[str, date], ...]:
    text = resources.files("backcourt").joinpath("data", GAME_IDS_CSV).read_text("utf-8")
    rows = [line.split(",") for line in text.splitlines()[1:] if line.strip()]
    return tuple((gid, date.fromisoformat(day)) for gid, day in rows)


def season_ids(season: str, type_digit: str) -> list[tuple[str, date]]:
    """Real (game id, date) pairs of a season and game type, ordered by date then id."""
    prefix = f"00{type_digit}{season_start_year(season) % 100:02d}"
    return sorted(((g, d) for g, d in _id_rows() if g.startswith(prefix)),
                  key=lambda r: (r[1], r[0]))


def tip_at(day: date, hhmm: str) -> datetime:
    """An Eastern tip-off instant."""
    hour, minute = (int(x) for x in hhmm.split(":"))
    return datetime.combine(day, time(hour, minute), tzinfo=EASTERN)


# ---------------------------------------------------------------------------- regular season


def regular_season(season: str, rng: np.random.Generator) -> list[Fixture]:
    """All regular-season games of a generated season (real ids and dates)."""
    by_date: dict[date, list[str]] = defaultdict(list)
    for gid, day in season_ids(season, "2"):
        by_date[day].append(gid)
    teams = sorted(t.tricode for t in TEAMS)
    remaining = dict.fromkeys(teams, REGULAR_GAMES)
    last: dict[str, date] = {}
    meetings: dict[tuple[str, str], int] = defaultdict(int)
    dated_pairs: list[tuple[date, str, str]] = []
    for day in sorted(by_date):
        noise = rng.random(len(teams))
        yesterday = day - timedelta(days=1)
        order = sorted(
            range(len(teams)),
            key=lambda i: (-remaining[teams[i]],
                           noise[i] + (B2B_AVERSION if last.get(teams[i]) == yesterday else 0)),
        )
        chosen = [teams[i] for i in order[: 2 * len(by_date[day])]]
        for a, b in _pair(chosen, meetings, rng):
            dated_pairs.append((day, a, b))
            for t in (a, b):
                remaining[t] -= 1
                last[t] = day
    oriented = _orient([(a, b) for _, a, b in dated_pairs], rng)
    games = [(day, home, away) for (day, _, _), (away, home) in zip(dated_pairs, oriented,
                                                                      strict=True)]
    return _assign_ids(games, by_date, rng)


def _pair(chosen: list[str], meetings: dict[tuple[str, str], int],
          rng: np.random.Generator) -> list[tuple[str, str]]:
    """Pair the chosen teams, preferring pairs that met least (conference rivals a bit more)."""
    pool = [chosen[int(i)] for i in rng.permutation(len(chosen))]
    noise = {t: float(x) for t, x in zip(pool, rng.random(len(pool)), strict=True)}
    pairs = []
    while pool:
        a = pool.pop(0)
        b = min(pool, key=lambda u: (_pair_cost(a, u, meetings), noise[u]))
        pool.remove(b)
        meetings[_key(a, b)] += 1
        pairs.append((a, b))
    return pairs


def _key(a: str, b: str) -> tuple[str, str]:
    return (a, b) if a < b else (b, a)


def _pair_cost(a: str, b: str, meetings: Mapping[tuple[str, str], int]) -> float:
    other_conference = TEAM_INFO[a].conference != TEAM_INFO[b].conference
    return meetings.get(_key(a, b), 0) + (1.3 if other_conference else 0.0)


def _orient(edges: Sequence[tuple[str, str]], rng: np.random.Generator) -> list[tuple[str, str]]:
    """Orient every game (away, home) along Euler circuits: in = out at every team."""
    adj: dict[str, list[int]] = defaultdict(list)
    for i, (a, b) in enumerate(edges):
        adj[a].append(i)
        adj[b].append(i)
    for team in sorted(adj):
        adj[team] = [adj[team][int(j)] for j in rng.permutation(len(adj[team]))]
    used = [False] * len(edges)
    out: list[tuple[str, str]] = [("", "")] * len(edges)
    ptr = dict.fromkeys(adj, 0)
    for start in sorted(adj):
        stack = [start]
        while stack:
            v = stack[-1]
            while ptr[v] < len(adj[v]) and used[adj[v][ptr[v]]]:
                ptr[v] += 1
            if ptr[v] == len(adj[v]):
                stack.pop()
                continue
            e = adj[v][ptr[v]]
            used[e] = True
            a, b = edges[e]
            w = b if a == v else a
            out[e] = (v, w)
            stack.append(w)
    return out


def _regular_tip(home: str, day: date, rng: np.random.Generator) -> str:
    zone = TEAM_INFO[home].tz
    if day.weekday() >= 5 and rng.random() < 0.25:
        return str(rng.choice(["13:00", "15:30", "18:00"]))
    if zone in ("America/Los_Angeles",):
        return str(rng.choice(["22:00", "22:00", "22:30"]))
    if zone in ("America/Denver", "America/Phoenix"):
        return str(rng.choice(["21:00", "21:00", "20:00"]))
    if zone == "America/Chicago":
        return str(rng.choice(["20:00", "20:00", "19:30", "20:30"]))
    return str(rng.choice(["19:00", "19:30", "19:30", "20:00"]))


def _assign_ids(games: list[tuple[date, str, str]], by_date: Mapping[date, list[str]],
                rng: np.random.Generator) -> list[Fixture]:
    """Give each date's games tip times, then the date's real ids in tip order."""
    per_day: dict[date, list[tuple[str, str, str]]] = defaultdict(list)
    for day, home, away in games:
        per_day[day].append((_regular_tip(home, day, rng), home, away))
    out = []
    for day in sorted(per_day):
        ids = sorted(by_date[day])
        for gid, (hhmm, home, away) in zip(ids, sorted(per_day[day]), strict=True):
            out.append(Fixture(gid, day, home, away, tip_at(day, hhmm)))
    return out


# ----------------------------------------------------------------------- play-in and playoffs

_PLAYOFF_TIPS: Mapping[int, tuple[str, ...]] = {
    1: ("20:30",), 2: ("19:00", "21:30"), 3: ("18:30", "19:30", "22:00"),
    4: ("18:30", "19:00", "21:30", "22:00"),
}
_WEEKEND_TIPS: Mapping[int, tuple[str, ...]] = {
    1: ("20:30",), 2: ("15:30", "20:30"), 3: ("13:00", "15:30", "20:30"),
    4: ("13:00", "15:30", "18:00", "20:30"),
}


def _tips_for(day: date, count: int) -> tuple[str, ...]:
    table = _WEEKEND_TIPS if day.weekday() >= 5 else _PLAYOFF_TIPS
    return table.get(count, table[4] + ("22:30",) * (count - 4))


def _with_tips(fixtures: list[Fixture]) -> list[Fixture]:
    """Stagger the tip times of the games of each date."""
    by_day: dict[date, list[Fixture]] = defaultdict(list)
    for f in fixtures:
        by_day[f.game_date].append(f)
    out = []
    for day in sorted(by_day):
        todays = sorted(by_day[day], key=lambda f: f.nba_game_id)
        for f, hhmm in zip(todays, _tips_for(day, len(todays)), strict=False):
            out.append(replace(f, tip=tip_at(day, hhmm)))
    return out


def play_in_first(season: str, seeds: Mapping[str, Sequence[str]]) -> list[Fixture]:
    """Play-in day one and two: 7 v 8 and 9 v 10 of each conference (higher seed at home)."""
    ids = dict(season_ids(season, "5"))
    yy = f"{season_start_year(season) % 100:02d}"
    out = []
    for conf, base in (("East", 0), ("West", 2)):
        s = seeds[conf]
        for offset, hi in ((0, 7), (1, 9)):
            gid = f"005{yy}001{base + offset}1"
            out.append(Fixture(gid, ids[gid], s[hi - 1], s[hi], tip_at(ids[gid], "19:30"),
                               label="SoFi Play-In Tournament", sub_label=conf,
                               home_seed=hi, away_seed=hi + 1))
    return _with_tips(out)


def play_in_second(season: str, seeds: Mapping[str, Sequence[str]],
                   winners: Mapping[str, str]) -> list[Fixture]:
    """The games for the 8 seeds: loser of 7 v 8 hosts the winner of 9 v 10."""
    ids = dict(season_ids(season, "5"))
    yy = f"{season_start_year(season) % 100:02d}"
    out = []
    for conf, digit in (("East", 0), ("West", 1)):
        s = seeds[conf]
        loser78 = s[7] if winners[f"{conf}78"] == s[6] else s[6]
        winner910 = winners[f"{conf}910"]
        gid = f"005{yy}002{digit}1"
        out.append(Fixture(gid, ids[gid], loser78, winner910, tip_at(ids[gid], "19:30"),
                           label="SoFi Play-In Tournament", sub_label=conf,
                           home_seed=s.index(loser78) + 1, away_seed=s.index(winner910) + 1))
    return _with_tips(out)


_ROUND_LABELS = {1: "First Round", 2: "Conf. Semifinals", 3: "Conf. Finals"}


def playoffs(season: str, seeds: Mapping[str, Sequence[str]], strength: Mapping[str, float],
             rank: Mapping[str, int], rng: np.random.Generator) -> list[Fixture]:
    """The whole bracket, series decided in advance so each lasts as long as the real one.

    Args:
        season: the season name.
        seeds: conference → its eight playoff teams in seed order.
        strength: team → net rating, for the series odds.
        rank: team → league-wide standing (1 = best record), for the Finals home court.
        rng: the playoff stream.
    """
    series: dict[tuple[int, int], list[tuple[int, str, date]]] = defaultdict(list)
    for gid, day in season_ids(season, "4"):
        series[(int(gid[7]), int(gid[8]))].append((int(gid[9]), gid, day))
    seed_of = {t: i + 1 for conf in seeds.values() for i, t in enumerate(conf)}
    firsts = [(1, 8), (2, 7), (3, 6), (4, 5)]
    pairs = {(1, s + 4 * c): (seeds[conf][a - 1], seeds[conf][b - 1])
             for c, conf in enumerate(("East", "West")) for s, (a, b) in enumerate(firsts)}
    out: list[Fixture] = []
    for rnd in (1, 2, 3, 4):
        for key in sorted(k for k in series if k[0] == rnd):
            if key not in pairs:
                pairs[key] = _next_pair(key, winners_so_far(out))
            hi, lo = _order_by_seed(pairs[key], seed_of, rank)
            out += _series(key, sorted(series[key]), hi, lo, seed_of, strength, rng)
    return _with_tips(out)


def winners_so_far(fixtures: Sequence[Fixture]) -> dict[tuple[int, int], str]:
    """Series key → winner (the forced winner of the series' last game)."""
    out: dict[tuple[int, int], str] = {}
    for f in fixtures:
        if f.forced_winner is not None:
            out[(int(f.nba_game_id[7]), int(f.nba_game_id[8]))] = f.forced_winner
    return out


def _next_pair(key: tuple[int, int], won: Mapping[tuple[int, int], str]) -> tuple[str, str]:
    rnd, s = key
    if rnd == 2:  # 1/8 v 4/5 and 2/7 v 3/6, East series 0-1 from round-one 0-3
        base = 4 * (s // 2)
        a, b = (base, base + 3) if s % 2 == 0 else (base + 1, base + 2)
        return won[(1, a)], won[(1, b)]
    if rnd == 3:
        return won[(2, 2 * s)], won[(2, 2 * s + 1)]
    return won[(3, 0)], won[(3, 1)]


def _order_by_seed(pair: tuple[str, str], seed_of: Mapping[str, int],
                   rank: Mapping[str, int]) -> tuple[str, str]:
    a, b = pair
    ka, kb = (seed_of[a], rank[a]), (seed_of[b], rank[b])
    return (a, b) if ka <= kb else (b, a)


def _series(key: tuple[int, int], games: list[tuple[int, str, date]], hi: str, lo: str,
            seed_of: Mapping[str, int], strength: Mapping[str, float],
            rng: np.random.Generator) -> list[Fixture]:
    """One series: the winner and the order of wins are drawn first, then each game."""
    n = len(games)
    p_hi = 1.0 / (1.0 + math.exp(-0.3 * (strength[hi] - strength[lo] + 1.0)))
    winner, loser = (hi, lo) if rng.random() < p_hi else (lo, hi)
    loser_wins = set(int(i) for i in rng.choice(n - 1, n - 4, replace=False)) if n > 4 else set()
    rnd, s = key
    conf = "East" if (rnd < 4 and s < (4 if rnd == 1 else 2 if rnd == 2 else 1)) else "West"
    label = "NBA Finals" if rnd == 4 else f"{conf} {_ROUND_LABELS[rnd]}"
    out = []
    for i, (num, gid, day) in enumerate(games):
        home, away = (hi, lo) if num in (1, 2, 5, 7) else (lo, hi)
        won = loser if i in loser_wins else winner
        out.append(Fixture(gid, day, home, away, tip_at(day, "20:00"), label=label,
                           sub_label=f"Game {num}", series_game=num,
                           home_seed=seed_of[home], away_seed=seed_of[away], forced_winner=won))
    return out


# ----------------------------------------------------------------------------- real 2024-25


def real_fixtures(schedule: Mapping[str, object]) -> list[Fixture]:
    """Final competitive games (regular, cup final, play-in, playoffs) of a real schedule."""
    league = schedule["leagueSchedule"]
    assert isinstance(league, dict)
    out = []
    for day_block in league["gameDates"]:
        for g in day_block["games"]:
            if g["gameId"][2] not in "2456" or g["gameStatus"] != 3:
                continue
            if g["postponedStatus"] != "N":
                continue
            out.append(_real_fixture(g))
    return sorted(out, key=lambda f: (f.game_date, f.tip, f.nba_game_id))


def _real_fixture(g: Mapping[str, object]) -> Fixture:
    home, away = g["homeTeam"], g["awayTeam"]
    assert isinstance(home, dict) and isinstance(away, dict)
    utc = datetime.fromisoformat(str(g["gameDateTimeUTC"]).replace("Z", "+00:00"))
    return Fixture(
        nba_game_id=str(g["gameId"]),
        game_date=date.fromisoformat(str(g["gameDateEst"])[:10]),
        home=home["teamTricode"],
        away=away["teamTricode"],
        tip=utc.astimezone(EASTERN),
        neutral=bool(g["isNeutral"]),
        label=str(g["gameLabel"]),
        sub_label=str(g["gameSubLabel"]),
        home_seed=int(home["seed"] or 0),
        away_seed=int(away["seed"] or 0),
        forced_score=(int(home["score"]), int(away["score"])),
    )


def local_time(tip: datetime, tricode: str) -> datetime:
    """A tip-off in the team's arena time zone (NBA.com homeTeamTime / awayTeamTime)."""
    zone = TEAM_INFO[tricode].tz if tricode in TEAM_INFO else "America/New_York"
    return tip.astimezone(ZoneInfo(zone))
