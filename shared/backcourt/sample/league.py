"""The latent league: team ratings and 15-man rosters per season.

The 2021-22 league is drawn from the seed; every later season is the previous one after an
off-season (ageing, skill drift, retirements replaced by rookies, player swaps between teams,
rating drift). A season's league therefore depends only on the seed, never on which seasons
were generated before.
"""

from __future__ import annotations

import zlib
from collections.abc import Mapping
from dataclasses import dataclass, replace

import numpy as np

from backcourt.domain.ids import player_lookup, season_start_year
from backcourt.domain.teams import TEAMS
from backcourt.sample.static import FIRST_NAMES, LAST_NAMES, SUFFIXES

SEASONS: tuple[str, ...] = ("2021-22", "2022-23", "2023-24", "2024-25")

ROLE_SLOTS: tuple[str, ...] = (
    ("star",) + ("starter",) * 4 + ("rotation",) * 4 + ("bench",) * 3 + ("deep",) * 3
)
ROLE_MINUTES: Mapping[str, float] = {
    "star": 36.0, "starter": 31.5, "rotation": 18.0, "bench": 8.0, "deep": 3.5,
}
_SLOT_SKILL: Mapping[str, tuple[float, float]] = {
    "star": (28.0, 2.0), "starter": (18.0, 3.0), "rotation": (11.5, 2.0),
    "bench": (9.5, 1.8), "deep": (8.5, 1.5),
}
MAX_SKILL = 32.0
_SLOT_POSITIONS = ("?", "G", "G", "F", "C", "G", "F", "C", "F", "G", "F", "C", "G", "F", "C")
_THREE_SHARE = {"G": 0.42, "F": 0.34, "C": 0.13}
_FT_SHARE = {"G": 0.13, "F": 0.12, "C": 0.16}
# League points per 100 possessions of the generated seasons (2024-25 is fitted to real scores).
BASE_EFFICIENCY: Mapping[str, float] = {"2021-22": 112.0, "2022-23": 115.0, "2023-24": 115.2}


def stream(seed: int, season_year: int, name: str) -> np.random.Generator:
    """An independent random stream for (seed, season, purpose); season_year 0 = league-wide."""
    key = zlib.crc32(name.encode())
    return np.random.Generator(np.random.PCG64(np.random.SeedSequence([seed, season_year, key])))


@dataclass(frozen=True)
class Player:
    """One player. ``skill`` is points per 36 minutes in an average game."""

    player_id: int
    bdl_id: int
    first_name: str
    last_name: str  # carries the suffix ("Duke Jr."), as NBA.com injury reports do
    position: str  # G, F or C
    birth_year: int
    skill: float
    three_share: float  # share of field-goal points scored from three
    ft_share: float  # share of points scored from free throws
    role: str = "deep"
    minutes: float = 6.0  # minutes per game when healthy

    @property
    def name(self) -> str:
        """Display name, e.g. "David Duke Jr."."""
        return f"{self.first_name} {self.last_name}"

    @property
    def report_name(self) -> str:
        """Injury-report form "Last, First", e.g. "Duke Jr., David"."""
        return f"{self.last_name}, {self.first_name}"


@dataclass(frozen=True)
class TeamRating:
    """Offence and defence in points per 100 possessions against the league, and pace."""

    off: float
    defense: float  # positive = better defence (fewer points allowed)
    pace: float  # possessions per 48 minutes


@dataclass(frozen=True)
class League:
    """The league of one season."""

    season: str
    base_efficiency: float  # league points per 100 possessions
    ratings: Mapping[str, TeamRating]
    rosters: Mapping[str, tuple[Player, ...]]  # ordered best first: star, starters, …

    def players(self) -> list[Player]:
        """Every rostered player, team by team (tricode order), best first."""
        return [p for t in sorted(self.rosters) for p in self.rosters[t]]


@dataclass
class _Pool:
    """Mutable state of the league evolution: id counter and names in use."""

    rng: np.random.Generator
    next_id: int
    lookups: set[str]


def build_league(season: str, seed: int) -> League:
    """The league of ``season``: 2021-22 drawn from the seed, then one off-season per year."""
    pool = _Pool(stream(seed, 0, "league"), 1_641_000, set())
    rosters = {t.tricode: _initial_roster(pool) for t in TEAMS}
    ratings = {t.tricode: _initial_rating(pool.rng) for t in TEAMS}
    for nxt in SEASONS[1 : SEASONS.index(season) + 1]:
        rosters = _offseason_rosters(pool, rosters, season_start_year(nxt))
        ratings = {t: _drift_rating(pool.rng, r) for t, r in ratings.items()}
    ranked = {t: _assign_roles(pool.rng, ps) for t, ps in sorted(rosters.items())}
    return League(season, BASE_EFFICIENCY.get(season, 114.5), ratings, ranked)


def _initial_rating(rng: np.random.Generator) -> TeamRating:
    off, de = rng.normal(0.0, 2.8, 2)
    return TeamRating(float(off), float(de), float(rng.normal(99.5, 1.8)))


def _drift_rating(rng: np.random.Generator, r: TeamRating) -> TeamRating:
    d_off, d_def, d_pace = rng.normal(0.0, 1.0, 3)
    return TeamRating(
        0.7 * r.off + 1.8 * float(d_off),
        0.7 * r.defense + 1.8 * float(d_def),
        99.5 + 0.7 * (r.pace - 99.5) + float(d_pace),
    )


def _initial_roster(pool: _Pool) -> list[Player]:
    return [_new_player(pool, slot, 2021, _SLOT_POSITIONS[i]) for i, slot in
            enumerate(ROLE_SLOTS)]


def _new_player(pool: _Pool, slot: str, season_year: int, position: str) -> Player:
    rng = pool.rng
    if position == "?":
        position = str(rng.choice(["G", "F", "C"], p=[0.45, 0.4, 0.15]))
    mean, sd = _SLOT_SKILL[slot]
    age = int(rng.integers(19, 23)) if slot in ("bench", "deep") else int(rng.integers(22, 31))
    first, last = _new_name(pool)
    pid = pool.next_id
    pool.next_id += 1
    return Player(
        player_id=pid,
        bdl_id=100 + (pid - 1_641_000) * 7,
        first_name=first,
        last_name=last,
        position=position,
        birth_year=season_year - age,
        skill=float(np.clip(rng.normal(mean, sd), 4.0, MAX_SKILL)),
        three_share=float(np.clip(_THREE_SHARE[position] + rng.normal(0, 0.06), 0.0, 0.7)),
        ft_share=float(np.clip(_FT_SHARE[position] + rng.normal(0, 0.04), 0.05, 0.35)),
    )


def _new_name(pool: _Pool) -> tuple[str, str]:
    """A first and last name whose lookup key is not yet used in the league."""
    rng = pool.rng
    while True:
        first = FIRST_NAMES[int(rng.integers(len(FIRST_NAMES)))]
        last = LAST_NAMES[int(rng.integers(len(LAST_NAMES)))]
        if rng.random() < 0.07:
            last = f"{last} {SUFFIXES[int(rng.integers(len(SUFFIXES)))]}"
        key = player_lookup(f"{first} {last}")
        if key not in pool.lookups:
            pool.lookups.add(key)
            return first, last


def _offseason_rosters(
    pool: _Pool, rosters: Mapping[str, list[Player]], season_year: int
) -> dict[str, list[Player]]:
    out = {t: [_age_or_replace(pool, p, season_year) for p in ps] for t, ps in rosters.items()}
    _swap_players(pool.rng, out)
    return {t: sorted(ps, key=lambda p: -p.skill) for t, ps in out.items()}


def _age_or_replace(pool: _Pool, p: Player, season_year: int) -> Player:
    rng = pool.rng
    age = season_year - p.birth_year
    if (age >= 34 and rng.random() < 0.5) or rng.random() < 0.04:
        slot = "starter" if rng.random() < 0.1 else str(rng.choice(["rotation", "bench", "deep"]))
        return _new_player(pool, slot, season_year, p.position)
    growth = 1.2 if age < 24 else 0.5 if age < 27 else 0.0 if age < 30 else -0.8
    skill = float(np.clip(p.skill + growth + rng.normal(0.0, 1.0), 4.0, MAX_SKILL))
    return replace(p, skill=skill)


def _swap_players(rng: np.random.Generator, rosters: dict[str, list[Player]]) -> None:
    """About 12 % of the league changes team: swaps of players of similar standing."""
    teams = sorted(rosters)
    for _ in range(27):
        a, b = rng.choice(len(teams), 2, replace=False)
        ta, tb = teams[int(a)], teams[int(b)]
        rank = int(rng.integers(1, 15))
        ia = min(rank, len(rosters[ta]) - 1)
        ib = min(max(rank + int(rng.integers(-1, 2)), 0), len(rosters[tb]) - 1)
        rosters[ta][ia], rosters[tb][ib] = rosters[tb][ib], rosters[ta][ia]


def _assign_roles(rng: np.random.Generator, players: list[Player]) -> tuple[Player, ...]:
    ranked = sorted(players, key=lambda p: (-p.skill, p.player_id))
    return tuple(
        replace(p, role=slot, minutes=float(ROLE_MINUTES[slot] + rng.normal(0.0, 1.2)))
        for p, slot in zip(ranked, ROLE_SLOTS, strict=True)
    )
