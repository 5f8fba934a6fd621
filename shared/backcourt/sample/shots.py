"""Shot charts of the synthetic league: every field-goal attempt of a box score, placed on the
court.

A player's box line is split exactly: FGA shots, FGM of them made, FG3A of them threes, FG3M of
the threes made. What is drawn (from streams of their own, so the box scores do not change):

* **Player shot profile** (persistent: drawn from the seed and the player id, so it follows him
  across seasons and teams): the paint share of his two-point attempts (G 0.50, F 0.58, C 0.78,
  lower for players who shoot more threes, ± 0.07), the restricted-area share of his paint shots
  (~0.68) and the corner share of his threes (G 0.20, F 0.30, C 0.35). With his three-point
  share of attempts this makes his paint / mid-range / three mix (:func:`profile_shares`).
* **Team zone defence** (persistent, drifting between seasons like the ratings): how much easier
  (> 0) or harder (< 0) than average each team makes paint, mid-range and three-point shots for
  its opponents, on the log-odds scale (sd 0.25, then 0.7 · last + N(0, 0.15) per season).
  Against a weak paint defence a shooter takes more of his twos in the paint (log-odds of paint
  vs mid-range + weak paint − weak mid-range) and more of his made twos are paint shots (each
  shot's make weight = zone base rate × exp(weakness)); a weak three-point defence gives up more
  corner threes. Since the totals come from the box score, zone FG% allowed differs by team.
* **Places**: restricted area 0-4 ft, rest of the paint 4-8 ft, mid-range 8.5-22 ft (inside
  the arc), corner threes at |LOC_X| 22.1-23.6 ft below LOC_Y 8.5 ft (left corner LOC_X > 0),
  above the break 23.9-27.2 ft, backcourt (0.3 % of threes) beyond half court. LOC_X/LOC_Y in
  tenths of feet, SHOT_DISTANCE the rounded distance in feet. Clock times are uniform over the
  game (overtimes included), GAME_EVENT_IDs increase with time.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from itertools import repeat
from typing import Any

import numpy as np

from backcourt.domain.ids import season_start_year
from backcourt.domain.teams import BY_TRICODE, TEAMS
from backcourt.sample.league import SEASONS, League, Player, stream
from backcourt.sample.sim import GameResult, Line

# Sub-zones (index into ZONE_BASIC), each with a base make weight and a defence axis
# (0 paint, 1 mid-range, 2 three).
RA, NRA, MID, LC3, RC3, ATB, BC = range(7)
ZONE_BASIC = ("Restricted Area", "In The Paint (Non-RA)", "Mid-Range", "Left Corner 3",
              "Right Corner 3", "Above the Break 3", "Backcourt")
_BASE_MAKE = np.array([0.66, 0.44, 0.42, 0.39, 0.39, 0.355, 0.03])
_AXIS = np.array([0, 0, 1, 2, 2, 2, 2])
_PAINT_OF_TWOS = {"G": 0.50, "F": 0.58, "C": 0.78}
_CORNER_OF_THREES = {"G": 0.20, "F": 0.30, "C": 0.35}
_THREE_MEAN = {"G": 0.42, "F": 0.34, "C": 0.13}  # league.py's three_share by position
_BACKCOURT = 0.003
DEFENCE_SD = 0.25
DEFENCE_DRIFT_SD = 0.15
_ACTIONS: tuple[tuple[str, ...], ...] = (
    ("Driving Layup Shot", "Layup Shot", "Dunk Shot", "Cutting Layup Shot", "Tip Layup Shot",
     "Driving Finger Roll Layup Shot", "Alley Oop Dunk Shot", "Putback Layup Shot"),
    ("Floating Jump shot", "Driving Floating Jump Shot", "Hook Shot", "Turnaround Hook Shot",
     "Jump Shot"),
    ("Jump Shot", "Pullup Jump shot", "Step Back Jump shot", "Turnaround Fadeaway shot",
     "Fadeaway Jump Shot"),
    ("Jump Shot", "Running Jump Shot"),
    ("Jump Shot", "Running Jump Shot"),
    ("Jump Shot", "Pullup Jump shot", "Step Back Jump shot", "Running Pull-Up Jump Shot"),
    ("Jump Shot",),
)
_ZONE_BASIC = np.array(ZONE_BASIC, dtype=object)
_ACTION_FLAT = np.array([a for acts in _ACTIONS for a in acts], dtype=object)
_ACTION_COUNT = np.array([len(acts) for acts in _ACTIONS])
_ACTION_START = np.concatenate([[0], np.cumsum(_ACTION_COUNT)[:-1]])
_AREAS = np.array(["Center(C)", "Left Side(L)", "Right Side(R)", "Left Side Center(LC)",
                   "Right Side Center(RC)", "Back Court(BC)"], dtype=object)
_RANGES = np.array(["Less Than 8 ft.", "8-16 ft.", "16-24 ft.", "24+ ft.", "Back Court Shot"],
                   dtype=object)
_EVENT_TYPE = np.array(["Missed Shot", "Made Shot"], dtype=object)
_SHOT_TYPE = np.array(["2PT Field Goal", "3PT Field Goal"], dtype=object)
HEADERS = [
    "GRID_TYPE", "GAME_ID", "GAME_EVENT_ID", "PLAYER_ID", "PLAYER_NAME", "TEAM_ID", "TEAM_NAME",
    "PERIOD", "MINUTES_REMAINING", "SECONDS_REMAINING", "EVENT_TYPE", "ACTION_TYPE", "SHOT_TYPE",
    "SHOT_ZONE_BASIC", "SHOT_ZONE_AREA", "SHOT_ZONE_RANGE", "SHOT_DISTANCE", "LOC_X", "LOC_Y",
    "SHOT_ATTEMPTED_FLAG", "SHOT_MADE_FLAG", "GAME_DATE", "HTM", "VTM",
]


@dataclass(frozen=True)
class ShotProfile:
    """A player's persistent shot tendencies."""

    paint_of_twos: float  # share of his two-point attempts taken in the paint
    rim_of_paint: float  # share of his paint attempts in the restricted area
    corner_of_threes: float  # share of his threes from the corners


def _logit(p: np.ndarray | float) -> Any:
    return np.log(p) - np.log1p(-np.asarray(p))


def _expit(x: np.ndarray) -> np.ndarray:
    out: np.ndarray = 1.0 / (1.0 + np.exp(-x))
    return out


def player_profile(seed: int, p: Player) -> ShotProfile:
    """The shot profile of a player (the same in every season)."""
    rng = stream(seed, 0, f"shot-profile/{p.player_id}")
    a, b, c = rng.normal(0.0, 1.0, 3)
    paint = _PAINT_OF_TWOS[p.position] - 0.6 * (p.three_share - _THREE_MEAN[p.position])
    return ShotProfile(
        paint_of_twos=float(np.clip(paint + 0.07 * a, 0.15, 0.95)),
        rim_of_paint=float(np.clip(0.68 + 0.07 * b, 0.4, 0.9)),
        corner_of_threes=float(np.clip(_CORNER_OF_THREES[p.position] + 0.06 * c, 0.05, 0.6)),
    )


def profile_shares(seed: int, p: Player, three_of_attempts: float) -> dict[str, float]:
    """A player's paint / mid_range / three shares of his attempts, given his three share."""
    prof = player_profile(seed, p)
    twos = 1.0 - three_of_attempts
    return {"paint": twos * prof.paint_of_twos, "mid_range": twos * (1 - prof.paint_of_twos),
            "three": three_of_attempts}


def zone_defence(season: str, seed: int) -> dict[str, np.ndarray]:
    """Per team, opponents' log-odds edge (paint, mid-range, three) against it in a season."""
    rng = stream(seed, 0, "zone-defence")
    weak = rng.normal(0.0, DEFENCE_SD, (len(TEAMS), 3))
    for _ in SEASONS[1 : SEASONS.index(season) + 1]:
        weak = 0.7 * weak + rng.normal(0.0, DEFENCE_DRIFT_SD, (len(TEAMS), 3))
    return {t.tricode: weak[i] for i, t in enumerate(TEAMS)}


_Shooter = tuple[int, str, str, Line]  # (game index in the batch, team, opponent, line)
BATCH = 64  # games drawn together (vectorised); the draws depend on it


class ShotMaker:
    """Draws the shots of every game of one season (call :meth:`charts` once, in play order)."""

    def __init__(self, league: League, seed: int) -> None:
        self.seed = seed
        self.rng = stream(seed, season_start_year(league.season), "shots")
        self.defence = zone_defence(league.season, seed)
        self._profiles: dict[int, tuple[float, float, float]] = {}

    def _profile(self, p: Player) -> tuple[float, float, float]:
        got = self._profiles.get(p.player_id)
        if got is None:
            prof = player_profile(self.seed, p)
            got = (prof.paint_of_twos, prof.rim_of_paint, prof.corner_of_threes)
            self._profiles[p.player_id] = got
        return got

    def charts(self, results: Sequence[GameResult]) -> Iterator[list[tuple[Any, ...]]]:
        """Per game, its Shot_Chart_Detail rows (HEADERS order, by GAME_EVENT_ID)."""
        for i in range(0, len(results), BATCH):
            yield from self._batch(results[i : i + BATCH])

    def _batch(self, games: Sequence[GameResult]) -> list[list[tuple[Any, ...]]]:
        shooters = [(g, side.tricode, other.tricode, ln) for g, r in enumerate(games)
                    for side, other in ((r.away, r.home), (r.home, r.away))
                    for ln in side.lines if ln.played and ln.fga > 0]
        zones, made, who = self._zones(shooters)
        rows = self._rows(games, shooters, zones, made, who)
        game_of = np.array([s[0] for s in shooters])[who]
        bounds = np.searchsorted(game_of, np.arange(len(games) + 1)).tolist()
        return [rows[bounds[g] : bounds[g + 1]] for g in range(len(games))]

    def _zones(self, shooters: Sequence[_Shooter]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Sub-zone and made flag of every shot, and the index of its shooter (ascending)."""
        rng = self.rng
        lines = [s[3] for s in shooters]
        weak = np.array([self.defence[s[2]] for s in shooters])
        prof = np.array([self._profile(ln.player) for ln in lines])
        box = np.array([(ln.fga - ln.fg3a, ln.fg3a, ln.fgm - ln.fg3m, ln.fg3m) for ln in lines])
        paint = _expit(_logit(prof[:, 0]) + weak[:, 0] - weak[:, 1])
        rim = prof[:, 1]
        corner = _expit(_logit(prof[:, 2]) + weak[:, 2])
        p2 = np.stack([paint * rim, paint * (1 - rim), 1 - paint], axis=1)
        atb = (1 - corner) * (1 - _BACKCOURT)
        p3 = np.stack([corner / 2, corner / 2, atb, 1 - corner - atb], axis=1)
        counts = np.concatenate([rng.multinomial(box[:, 0], p2),
                                 rng.multinomial(box[:, 1], p3)], axis=1)  # shooters × 7
        who = np.repeat(np.arange(len(lines)), counts.sum(axis=1))
        zones = np.repeat(np.tile(np.arange(7), len(lines)), counts.ravel())
        weight = _BASE_MAKE[zones] * np.exp(weak[who, _AXIS[zones]])
        made = _pick_made(rng, who * 2 + (zones >= LC3), weight, box[:, 2:].ravel())
        return zones, made, who

    def _rows(self, games: Sequence[GameResult], shooters: Sequence[_Shooter],
              zones: np.ndarray, made: np.ndarray, who: np.ndarray) -> list[tuple[Any, ...]]:
        """Rows of every shot of the batch, game after game, each game in time order."""
        rng, n = self.rng, len(zones)
        x, y = _places(rng, zones)
        dist = np.rint(np.hypot(x, y) / 10.0).astype(np.int64)
        game_of = np.array([s[0] for s in shooters])[who]
        length = np.array([2880 + 300 * r.overtimes for r in games])[game_of]
        elapsed = 1 + (rng.random(n) * length).astype(np.int64)
        steps = np.cumsum(rng.integers(2, 7, n))
        first = np.searchsorted(game_of, game_of)  # index of the game's first shot
        events = 1 + steps - np.concatenate([[0], steps])[first]
        picks = rng.random(n)
        o = np.lexsort((elapsed, game_of))
        period, remaining = _clock(elapsed[o])
        z, w, g, x, y, dist, made = zones[o], who[o], game_of[o], x[o], y[o], dist[o], made[o]
        players = np.array([(ln.player.player_id, ln.player.name, BY_TRICODE[team].team_id,
                             BY_TRICODE[team].full_name) for _, team, _, ln in shooters],
                           dtype=object)[w]
        fixture = np.array([(r.fixture.nba_game_id, f"{r.fixture.game_date:%Y%m%d}",
                             r.fixture.home, r.fixture.away) for r in games], dtype=object)[g]
        action = _ACTION_FLAT[_ACTION_START[z] + (picks[o] * _ACTION_COUNT[z]).astype(np.int64)]
        return list(zip(
            repeat("Shot Chart Detail"), fixture[:, 0].tolist(), events.tolist(),
            players[:, 0].tolist(), players[:, 1].tolist(), players[:, 2].tolist(),
            players[:, 3].tolist(), period.tolist(), (remaining // 60).tolist(),
            (remaining % 60).tolist(), _EVENT_TYPE[made.astype(np.int64)].tolist(),
            action.tolist(), _SHOT_TYPE[(z >= LC3).astype(np.int64)].tolist(),
            _ZONE_BASIC[z].tolist(), _AREAS[_area_codes(z, x, y)].tolist(),
            _RANGES[_range_codes(z, dist)].tolist(), dist.tolist(), x.tolist(), y.tolist(),
            repeat(1), made.astype(np.int64).tolist(), fixture[:, 1].tolist(),
            fixture[:, 2].tolist(), fixture[:, 3].tolist(),
        ))


def _pick_made(rng: np.random.Generator, group: np.ndarray, weight: np.ndarray,
               makes: np.ndarray) -> np.ndarray:
    """Exactly ``makes[g]`` made shots in every group g, drawn by weight without replacement
    (smallest exponential keys Exp(1)/weight win)."""
    keys = rng.exponential(1.0, len(group)) / weight
    order = np.lexsort((keys, group))
    sorted_groups = group[order]
    starts = np.searchsorted(sorted_groups, sorted_groups, side="left")
    rank = np.arange(len(group)) - starts
    made = np.zeros(len(group), dtype=bool)
    made[order] = rank < makes[sorted_groups]
    return made


def _places(rng: np.random.Generator, zones: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """LOC_X, LOC_Y (tenths of feet) of shots in the given sub-zones."""
    n = len(zones)
    u, v = rng.random(n), rng.random(n)
    dist = np.select(
        [zones == RA, zones == NRA, zones == MID, zones == ATB],
        [4.0 * u ** 1.3, 4.2 + 3.7 * u, 8.5 + 13.5 * u, 23.9 + 3.3 * u ** 1.4],
        0.0,
    )
    half = np.select([zones == RA, zones == NRA, zones == MID], [110.0, 100.0, 88.0], 64.0)
    angle = np.radians((2.0 * v - 1.0) * half)
    across = dist * np.sin(angle)
    limit = np.where(zones == MID, 21.5, np.inf)  # mid-range stays inside the corner lines
    scale = np.where(np.abs(across) > limit, limit / np.maximum(np.abs(across), 1e-9), 1.0)
    x = 10.0 * across * scale
    y = 10.0 * dist * np.cos(angle) * scale
    corner = (zones == LC3) | (zones == RC3)
    x = np.where(corner, np.where(zones == LC3, 1.0, -1.0) * (221.0 + 15.0 * u), x)
    y = np.where(corner, -40.0 + 125.0 * v, y)
    back = zones == BC
    x = np.where(back, -240.0 + 480.0 * u, x)
    y = np.where(back, 430.0 + 330.0 * v, y)
    return np.rint(x).astype(np.int64), np.rint(y).astype(np.int64)


def _clock(elapsed: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(PERIOD, seconds left in it) for elapsed game seconds 1…length."""
    regulation = elapsed <= 2880
    period = np.where(regulation, (elapsed - 1) // 720 + 1, 5 + (elapsed - 2881) // 300)
    end = np.where(regulation, period * 720, 2880 + (period - 4) * 300)
    return period, end - elapsed


def _area_codes(zones: np.ndarray, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Index into _AREAS: centre within 22.5° of straight on, sides beyond 67.5°."""
    slope = np.abs(x) / np.maximum(y, 1)
    left = x > 0
    centre = (y > 0) & (slope <= 0.414)
    side = (zones == NRA) | (y <= 0) | (slope > 2.414)
    codes: np.ndarray = np.select(
        [zones == BC, zones == RA, zones == LC3, zones == RC3, centre, side],
        [5, 0, 1, 2, 0, np.where(left, 1, 2)],
        np.where(left, 3, 4),
    )
    return codes


def _range_codes(zones: np.ndarray, feet: np.ndarray) -> np.ndarray:
    """Index into _RANGES."""
    codes: np.ndarray = np.select(
        [zones == BC, (zones >= LC3) | (feet >= 24), feet < 8, feet < 16], [4, 3, 0, 1], 2)
    return codes


LEAGUE_AVERAGE_HEADERS = ["GRID_TYPE", "SHOT_ZONE_BASIC", "SHOT_ZONE_AREA", "SHOT_ZONE_RANGE",
                          "FGA", "FGM", "FG_PCT"]
# Illustrative league-wide attempts and makes per (zone, area, range); not from real data.
_LEAGUE: tuple[tuple[str, str, str, int, int], ...] = (
    ("Above the Break 3", "Center(C)", "24+ ft.", 8120, 2902),
    ("Above the Break 3", "Left Side Center(LC)", "24+ ft.", 12210, 4320),
    ("Above the Break 3", "Right Side Center(RC)", "24+ ft.", 12030, 4250),
    ("Backcourt", "Back Court(BC)", "Back Court Shot", 210, 5),
    ("In The Paint (Non-RA)", "Center(C)", "Less Than 8 ft.", 9800, 4280),
    ("In The Paint (Non-RA)", "Left Side(L)", "Less Than 8 ft.", 1150, 480),
    ("In The Paint (Non-RA)", "Right Side(R)", "Less Than 8 ft.", 1120, 470),
    ("Left Corner 3", "Left Side(L)", "24+ ft.", 4310, 1680),
    ("Mid-Range", "Center(C)", "16-24 ft.", 2260, 950),
    ("Mid-Range", "Left Side Center(LC)", "16-24 ft.", 2500, 1040),
    ("Mid-Range", "Left Side(L)", "8-16 ft.", 2300, 960),
    ("Mid-Range", "Right Side Center(RC)", "16-24 ft.", 2450, 1010),
    ("Mid-Range", "Right Side(R)", "8-16 ft.", 2280, 940),
    ("Restricted Area", "Center(C)", "Less Than 8 ft.", 30500, 20100),
    ("Right Corner 3", "Right Side(R)", "24+ ft.", 4250, 1650),
)


def league_averages() -> list[list[Any]]:
    """The LeagueAverages rows written with every shot chart."""
    return [["League Averages", b, a, r, fga, fgm, round(fgm / fga, 3)]
            for b, a, r, fga, fgm in _LEAGUE]

