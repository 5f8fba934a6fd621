"""The bookmakers: spreads and totals from the team model, player points lines from recent form.

Game lines know the teams' true ratings, home court, rest and the injury report (spread ≈
expected margin, total ≈ expected total, rounded to halves). Player lines know only scoring
history: ``0.6 · mean(last 10 played) + 0.4 · season average`` (the season average shrunk toward
the pre-season prior by five pseudo-games; the prior alone before a player's third game),
floored to a half point. They ignore teammates' injuries, opponent and rest, which is where a
model can find an edge. DraftKings posts that line; FanDuel sometimes differs by 0.5-1.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import numpy as np

from backcourt.sample.league import Player

BOOKS: tuple[tuple[str, str], ...] = (("draftkings", "DraftKings"), ("fanduel", "FanDuel"))
PROP_MIN_MINUTES = 15.0


@dataclass(frozen=True)
class BookLine:
    """One bookmaker's spread and total for a game."""

    book: str
    spread_home: float  # points given to the home team (negative = home favoured)
    total: float
    home_price: float  # decimal odds
    away_price: float
    over_price: float
    under_price: float
    updated: datetime


@dataclass(frozen=True)
class PropLine:
    """One bookmaker's player points line."""

    book: str
    player: Player
    line: float
    over: int  # American odds
    under: int
    updated: datetime


@dataclass(frozen=True)
class GameMarket:
    """What the books posted before a game: one snapshot of lines, one of props."""

    lines_at: datetime  # UTC snapshot
    lines: tuple[BookLine, ...]
    props_at: datetime
    props: tuple[PropLine, ...]


def bookmaker_estimate(history: Sequence[int], prior: float) -> float:
    """The books' points expectation for a player (see the module docstring)."""
    n = len(history)
    season = (sum(history) + 5.0 * prior) / (n + 5.0)
    if n < 3:
        return season
    recent = history[-10:]
    return 0.6 * sum(recent) / len(recent) + 0.4 * season


def snapshot(rng: np.random.Generator, tip: datetime, hours: float) -> datetime:
    """A UTC snapshot instant about ``hours`` before tip-off, to the second."""
    jitter = int(rng.integers(-1200, 1200))
    moment = tip.astimezone(UTC) - timedelta(hours=hours) + timedelta(seconds=jitter)
    return moment.replace(microsecond=0)


def game_lines(rng: np.random.Generator, at: datetime, exp_home: float,
               exp_away: float) -> tuple[BookLine, ...]:
    """Spreads and totals of both books from the expected scores."""
    spread = _half(exp_away - exp_home)
    total = _half(exp_home + exp_away)
    out = []
    for i, (book, _) in enumerate(BOOKS):
        s, t = spread, total
        if i and rng.random() < 0.35:
            s += float(rng.choice([-1.0, -0.5, 0.5, 1.0]))
        if i and rng.random() < 0.35:
            t += float(rng.choice([-1.0, -0.5, 0.5, 1.0]))
        hp, ap, op, up = (round(1.91 + float(x), 2) for x in rng.uniform(-0.05, 0.05, 4))
        updated = at - timedelta(seconds=int(rng.integers(5, 300)))
        out.append(BookLine(book, s, t, hp, ap, op, up, updated))
    return tuple(out)


def props_for_team(rng: np.random.Generator, at: datetime,
                   offered: Sequence[tuple[Player, float]]) -> list[PropLine]:
    """Lines of both books for the players offered (player, bookmaker estimate)."""
    out = []
    for book, _ in BOOKS:
        updated = at - timedelta(seconds=int(rng.integers(5, 600)))
        for player, est in offered:
            line = max(math.floor(est) + 0.5, 1.5)
            if book == "fanduel" and rng.random() < 0.3:
                line = max(line + float(rng.choice([-1.0, -0.5, 0.5, 1.0])), 1.5)
            lean = round(20.0 * (est - line)) + int(rng.integers(-4, 5))
            out.append(PropLine(book, player, line, american(-110 - lean),
                                american(-110 + lean), updated))
    return out


def choose_offered(candidates: Sequence[tuple[Player, float]]) -> list[tuple[Player, float]]:
    """About half of a team's rotation players: those with the highest expectations."""
    rotation = [c for c in candidates if c[0].minutes >= PROP_MIN_MINUTES]
    ranked = sorted(rotation, key=lambda c: (-c[1], c[0].player_id))
    return ranked[: (len(rotation) + 1) // 2]


def american(cents: int) -> int:
    """Turn a -110-style price that drifted past -100 into the American form: -95 → +105."""
    return 200 + cents if cents > -100 else cents


def _half(x: float) -> float:
    """Nearest half point that is not a whole number (books avoid pushes): 3.2 → 3.5."""
    return math.floor(x) + 0.5
