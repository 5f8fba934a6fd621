"""Playing a season game by game: injuries, minutes, team scores and every player's box line.

Team score expectation (points)::

    pace/100 · (league efficiency + offence − opponent defence)
    ± HOME_EDGE (home +, visitors −; 0 on a neutral floor)
    − B2B_PENALTY on the second night of a back-to-back, + RESTED_BONUS after 2+ days off
    − MISSING_PENALTY · (expected points of the team's players who are out)

plus normal noise (with a shared pace shock). A player's share of his team's points is
proportional to skill × minutes × exp(form) × usage boost, drawn through a Dirichlet-multinomial
so that shares are noisy and the players' points add up to the team score exactly. Form is an
AR(1) per player; the usage boost moves the shots of injured teammates mostly to the three best
remaining scorers. Stars and starters lose minutes on back-to-backs and in blowouts.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from functools import lru_cache

import numpy as np

from backcourt.sample.league import League, Player
from backcourt.sample.slate import Fixture
from backcourt.sample.static import BODY_PARTS, ILLNESSES, INJURY_KINDS

HOME_EDGE = 1.25
B2B_PENALTY = 2.5
RESTED_BONUS = 0.8
MISSING_PENALTY = 0.18
SCORE_SD = 10.0
FORM_RHO = 0.8
FORM_SD = 0.13
CONCENTRATION = 45.0
USAGE_SHIFT = 0.6
INJURY_HAZARD = 0.018  # chance per team game that a healthy player starts an injury spell
DEEP_DNP = 0.55  # chance a deep-bench player gets a coach's-decision DNP
BENCH_DNP = 0.06
B2B_MINUTES = 3.0  # minutes stars and starters sit on the second night of a back-to-back
BLOWOUT_SHARE = 0.15  # share of their minutes they sit in a blowout (margin ≥ 18)

_REB_OFF = {"G": 0.7, "F": 1.4, "C": 2.8}
_REB_DEF = {"G": 3.6, "F": 5.2, "C": 7.5}
_AST = {"G": 6.0, "F": 3.0, "C": 2.4}
_BLK = {"G": 0.3, "F": 0.6, "C": 1.6}
_POS_ORDER = {"F": 0, "C": 1, "G": 2}
_STARTERS = ("star", "starter")


@dataclass(frozen=True, slots=True)
class Line:
    """One player's box-score line; ``comment`` is empty when he played."""

    player: Player
    start: str  # START_POSITION: F, C, G or ""
    comment: str
    seconds: int = 0
    fgm: int = 0
    fga: int = 0
    fg3m: int = 0
    fg3a: int = 0
    ftm: int = 0
    fta: int = 0
    oreb: int = 0
    dreb: int = 0
    ast: int = 0
    stl: int = 0
    blk: int = 0
    tov: int = 0
    pf: int = 0
    pts: int = 0
    pm: int = 0

    @property
    def played(self) -> bool:
        """He took the floor."""
        return not self.comment


@dataclass(frozen=True)
class TeamGame:
    """One team's side of a game: lines in box-score order (starters, bench, DNPs)."""

    tricode: str
    lines: tuple[Line, ...]
    points: int


@dataclass(frozen=True)
class GameResult:
    """A played game."""

    fixture: Fixture
    home: TeamGame
    away: TeamGame
    overtimes: int

    @property
    def winner(self) -> str:
        """Tricode of the winning team."""
        return self.home.tricode if self.home.points > self.away.points else self.away.tricode


@dataclass(frozen=True)
class Listing:
    """One injury-report entry and whether the player then plays."""

    player: Player
    status: str  # Out, Doubtful, Questionable, Probable
    reason: str
    plays: bool
    comment: str = ""  # box-score comment when he does not play


@dataclass
class PlayerState:
    """What the season remembers about a player."""

    form: float = 0.0
    out_until: date | None = None  # last day of the current injury spell
    reason: str = ""
    long_spell: bool = False
    points: list[int] = field(default_factory=list)  # points of the games he played


def expected_points(league: League, team: str, opp: str, *, home: bool | None,
                    rest: int | None, missing: float) -> float:
    """Expected team score (see the module docstring); ``home`` None = neutral floor."""
    r, o = league.ratings[team], league.ratings[opp]
    pts = (r.pace + o.pace) / 200.0 * (league.base_efficiency + r.off - o.defense)
    if home is not None:
        pts += HOME_EDGE if home else -HOME_EDGE
    if rest == 0:
        pts -= B2B_PENALTY
    elif rest is not None and rest >= 2:
        pts += RESTED_BONUS
    return pts - MISSING_PENALTY * missing


def priors(league: League) -> dict[int, float]:
    """Expected points per game of every player in an average game with a healthy roster."""
    out: dict[int, float] = {}
    for team, roster in league.rosters.items():
        r = league.ratings[team]
        total = r.pace / 100.0 * (league.base_efficiency + r.off)
        w = np.array([_weight(p) for p in roster])
        for p, x in zip(roster, w / w.sum() * total, strict=True):
            out[p.player_id] = float(x)
    return out


def _weight(p: Player) -> float:
    share = 1.0 - DEEP_DNP if p.role == "deep" else 1.0 - BENCH_DNP if p.role == "bench" else 1.0
    return p.skill * p.minutes * share


def _injury_reason(rng: np.random.Generator) -> str:
    if rng.random() < 0.1:
        return f"Injury/Illness - {ILLNESSES[int(rng.integers(len(ILLNESSES)))]}"
    side = "Left" if rng.random() < 0.5 else "Right"
    part = BODY_PARTS[int(rng.integers(len(BODY_PARTS)))]
    kind = INJURY_KINDS[int(rng.integers(len(INJURY_KINDS)))]
    return f"Injury/Illness - {side} {part}; {kind}"


def _spell_days(rng: np.random.Generator) -> int:
    u = rng.random()
    if u < 0.55:
        return int(rng.integers(2, 8))
    if u < 0.88:
        return int(rng.integers(8, 22))
    return int(rng.integers(22, 61))


def _dnp_injury(reason: str, long_spell: bool) -> str:
    return "DND - Injury/Illness" if long_spell else f"DNP - {reason}"


def listings(rng: np.random.Generator, states: Mapping[int, PlayerState],
             roster: Sequence[Player], day: date) -> list[Listing]:
    """Update injury spells for a team's game date and return its injury-report entries."""
    out = []
    for p in roster:
        st = states[p.player_id]
        if st.out_until is not None and day > st.out_until:
            st.out_until = None
            status = "Questionable" if rng.random() < 0.5 else "Probable"
            out.append(Listing(p, status, st.reason, True))
            continue
        if st.out_until is None and rng.random() < INJURY_HAZARD:
            days = _spell_days(rng)
            st.out_until, st.long_spell = day + timedelta(days=days), days > 14
            st.reason = _injury_reason(rng)
        if st.out_until is not None:
            status = "Doubtful" if st.out_until <= day + timedelta(days=1) else "Out"
            out.append(Listing(p, status, st.reason, False, _dnp_injury(st.reason,
                                                                        st.long_spell)))
            continue
        out += _minor_knock(rng, p)
    return out


def _minor_knock(rng: np.random.Generator, p: Player) -> list[Listing]:
    u = rng.random()
    if u >= 0.03:
        return []
    reason = _injury_reason(rng)
    if u < 0.015:
        return [Listing(p, "Probable", reason, True)]
    plays = rng.random() < 0.7
    return [Listing(p, "Questionable", reason, plays, "" if plays else f"DNP - {reason}")]


# --------------------------------------------------------------------------------- the game


@dataclass(frozen=True)
class Side:
    """What one team brings to a game."""

    tricode: str
    roster: tuple[Player, ...]
    absent: Mapping[int, str]  # player id → DNP comment (injured)
    listed: frozenset[int]  # on the injury report and playing: never benched by the coach
    form: np.ndarray  # exp(form) per roster player


def missing_points(side_roster: Sequence[Player], absent: Mapping[int, str],
                   prior: Mapping[int, float]) -> float:
    """Expected points of the players who will not play."""
    return sum(prior[p.player_id] for p in side_roster if p.player_id in absent)


def team_scores(rng: np.random.Generator, fx: Fixture, exp_home: float,
                exp_away: float) -> tuple[int, int, int]:
    """(home, away, overtimes): the real score when forced, else drawn from the model."""
    if fx.forced_score is not None:
        h, a = fx.forced_score
        return h, a, _forced_overtimes(rng, h, a)
    drawn = _draw_scores(rng, exp_home, exp_away)
    for _ in range(40):
        if fx.forced_winner is None or (drawn[0] > drawn[1]) == (fx.forced_winner == fx.home):
            return drawn
        drawn = _draw_scores(rng, exp_home, exp_away)
    return drawn[1], drawn[0], drawn[2]


def _forced_overtimes(rng: np.random.Generator, h: int, a: int) -> int:
    if abs(h - a) > 6 or rng.random() >= 0.2:
        return 0
    return 2 if rng.random() < 0.12 else 1


def _draw_scores(rng: np.random.Generator, eh: float, ea: float) -> tuple[int, int, int]:
    shock = 1.0 + rng.normal(0.0, 0.03)
    h = eh * shock + rng.normal(0.0, SCORE_SD)
    a = ea * shock + rng.normal(0.0, SCORE_SD)
    if abs(h - a) >= 1.1:
        hi, ai = round(h), round(a)
        if hi == ai:
            hi, ai = (hi + 1, ai) if h > a else (hi, ai + 1)
        return hi, ai, 0
    hs = as_ = round((h + a) / 2.0)
    ot = 0
    while hs == as_:
        ot += 1
        hs += int(rng.poisson(11.0))
        as_ += int(rng.poisson(11.0))
        if ot == 6 and hs == as_:
            hs += 2
    return hs, as_, ot


@dataclass(frozen=True)
class Profile:
    """Per-roster arrays the game code needs, computed once per roster."""

    skill: np.ndarray
    minutes: np.ndarray
    weight: np.ndarray  # expected share weight (see ``_weight``)
    top: np.ndarray  # star or starter
    deep: np.ndarray
    bench: np.ndarray
    three: np.ndarray
    ft: np.ndarray
    oreb: np.ndarray  # per 36 minutes
    dreb: np.ndarray
    ast: np.ndarray
    blk: np.ndarray


@lru_cache(maxsize=256)
def profile(roster: tuple[Player, ...]) -> Profile:
    """The arrays of a roster."""
    def arr(values: Sequence[float]) -> np.ndarray:
        return np.array(values, dtype=float)

    pos = [p.position for p in roster]
    return Profile(
        skill=arr([p.skill for p in roster]), minutes=arr([p.minutes for p in roster]),
        weight=arr([_weight(p) for p in roster]),
        top=np.array([p.role in _STARTERS for p in roster]),
        deep=np.array([p.role == "deep" for p in roster]),
        bench=np.array([p.role == "bench" for p in roster]),
        three=arr([p.three_share for p in roster]), ft=arr([p.ft_share for p in roster]),
        oreb=arr([_REB_OFF[x] for x in pos]), dreb=arr([_REB_DEF[x] for x in pos]),
        ast=arr([_AST[x] for x in pos]), blk=arr([_BLK[x] for x in pos]),
    )


def play_side(rng: np.random.Generator, side: Side, points: int, margin: int, overtimes: int,
              b2b: bool) -> TeamGame:
    """Minutes, the split of the team's points and every other stat for one team."""
    roster, prof = side.roster, profile(side.roster)
    n = len(roster)
    active = np.array([p.player_id not in side.absent for p in roster])
    listed = np.array([p.player_id in side.listed for p in roster])
    active &= _coach_decisions(rng, prof, active, blowout=abs(margin) >= 18) | listed
    seconds = _seconds(rng, prof, active, b2b, abs(margin) >= 18, overtimes)
    boost = _usage_boost(prof, active)
    weight = np.where(active, prof.skill * seconds * side.form * boost, 0.0)
    idx = np.flatnonzero(active)
    probs = rng.dirichlet(CONCENTRATION * weight[idx] / weight.sum() + 1e-3)
    pts = np.zeros(n, dtype=np.int64)
    pts[idx] = rng.multinomial(points, probs / probs.sum())
    stats = _box_stats(rng, prof, pts, seconds, active)
    pm = _plus_minus(rng, seconds, margin, active)
    act = active.tolist()
    starters = _starters(roster, act)
    rows = list(zip(seconds.tolist(), *(stats[k].tolist() for k in _STAT_ORDER), pts.tolist(),
                    pm.tolist(), strict=True))
    lines = []
    for i, p in enumerate(roster):
        if not act[i]:
            lines.append(Line(p, "", side.absent.get(p.player_id, "DNP - Coach's Decision")))
        else:
            lines.append(Line(p, p.position if i in starters else "", "", *rows[i]))
    return TeamGame(side.tricode, _box_order(lines, starters, roster), points)


_STAT_ORDER = ("fgm", "fga", "fg3m", "fg3a", "ftm", "fta", "oreb", "dreb", "ast", "stl", "blk",
               "tov", "pf")


def _coach_decisions(rng: np.random.Generator, prof: Profile, active: np.ndarray,
                     blowout: bool) -> np.ndarray:
    """Mask of players who are not benched by the coach (keeps at least nine available)."""
    chance = np.where(prof.deep, 0.25 if blowout else DEEP_DNP,
                      np.where(prof.bench, BENCH_DNP, 0.0))
    keep = rng.random(len(chance)) >= chance
    short = 9 - int((active & keep).sum())
    for i in range(len(keep)):
        if short <= 0:
            break
        if active[i] and not keep[i]:
            keep[i] = True
            short -= 1
    return keep


def _seconds(rng: np.random.Generator, prof: Profile, active: np.ndarray, b2b: bool,
             blowout: bool, overtimes: int) -> np.ndarray:
    """Seconds per player summing exactly to 5 × game length."""
    mins = prof.minutes * np.exp(rng.normal(0.0, 0.12, len(prof.minutes)))
    mins = np.where(active, np.maximum(mins, 0.5), 0.0)
    total = 240.0 + 25.0 * overtimes
    mins = _fill(mins, total, 44.0 + 5.0 * overtimes)
    cut = (B2B_MINUTES if b2b else 0.0) + (BLOWOUT_SHARE * mins if blowout else 0.0)
    top = prof.top & active
    others = active & ~prof.top
    if (b2b or blowout) and top.any() and others.any():
        freed = np.where(top, cut, 0.0)
        mins = mins - freed
        mins = np.where(others, mins + freed.sum() * mins / mins[others].sum(), mins)
    return _exact_seconds(mins * 60.0, int(total * 60))


def _fill(mins: np.ndarray, total: float, cap: float) -> np.ndarray:
    """Scale minutes to the game's total without anyone passing ``cap``."""
    for _ in range(8):
        free = mins < cap
        mins = np.where(free, mins * (total - mins[~free].sum()) / mins[free].sum(), mins)
        if mins.max() <= cap + 1e-9:
            break
        mins = np.minimum(mins, cap)
    return mins


def _exact_seconds(raw: np.ndarray, total: int) -> np.ndarray:
    """Integer seconds with the given sum (largest remainders get the spare seconds)."""
    base: np.ndarray = np.floor(raw).astype(np.int64)
    spare = total - int(base.sum())
    order = np.argsort(-(raw - base), kind="stable")
    base[order[:spare]] += 1
    return base


def _usage_boost(prof: Profile, active: np.ndarray) -> np.ndarray:
    """Shots of injured teammates go mostly to the three best remaining scorers."""
    w = prof.weight
    missing = float(w[~active].sum() / w.sum())
    if missing == 0.0:
        return np.ones(len(w))
    skill = np.where(active, prof.skill, -1.0)
    top3 = np.argsort(-skill, kind="stable")[:3]
    tilt = np.full(len(w), 0.3)
    tilt[top3] = 1.0
    boost: np.ndarray = 1.0 + USAGE_SHIFT * missing * tilt
    return boost


def _box_stats(rng: np.random.Generator, prof: Profile, pts: np.ndarray,
               seconds: np.ndarray, active: np.ndarray) -> dict[str, np.ndarray]:
    """Shooting that adds up to the points, and the counting stats."""
    mins = seconds / 60.0
    ftm = rng.binomial(pts, prof.ft)
    fg_pts = pts - ftm
    fg3m = rng.binomial(fg_pts // 3, prof.three)
    rem = fg_pts - 3 * fg3m
    odd = rem % 2  # an odd remainder becomes one more three, or one more free throw
    three_more = odd * (rem >= 3)
    fg3m, ftm = fg3m + three_more, ftm + odd - three_more
    fg2m = (rem - 3 * three_more - (odd - three_more)) // 2
    miss3 = rng.poisson(fg3m * 1.65 + prof.three * mins / 60.0)
    miss2 = rng.poisson(fg2m * 0.8 + mins / 120.0)
    fta = ftm + rng.poisson(ftm * 0.27 + 0.03)
    per36 = mins / 36.0
    stats = {
        "fgm": fg2m + fg3m, "fga": fg2m + fg3m + miss2 + miss3, "fg3m": fg3m, "fg3a": fg3m + miss3,
        "ftm": ftm, "fta": fta,
        "oreb": rng.poisson(prof.oreb * per36), "dreb": rng.poisson(prof.dreb * per36),
        "ast": rng.poisson(prof.ast * per36), "stl": rng.poisson(1.15 * per36),
        "blk": rng.poisson(prof.blk * per36), "tov": rng.poisson(2.0 * per36),
        "pf": np.minimum(rng.poisson(2.8 * per36), 6),
    }
    return {k: np.where(active, v, 0) for k, v in stats.items()}


def _plus_minus(rng: np.random.Generator, seconds: np.ndarray, margin: int,
                active: np.ndarray) -> np.ndarray:
    """Per-player plus/minus summing to five times the team margin."""
    share = seconds / seconds.sum() * 5.0
    raw = margin * share + rng.normal(0.0, 6.0, len(seconds)) * np.sqrt(share)
    raw = raw - (raw.sum() - 5 * margin) * share / 5.0
    pm: np.ndarray = np.where(active, np.round(raw), 0).astype(np.int64)
    spare = 5 * margin - int(pm.sum())
    order = [i for i in np.argsort(-seconds, kind="stable").tolist() if active[i]]
    step = 1 if spare > 0 else -1
    for k in range(abs(spare)):
        pm[order[k % len(order)]] += step
    return pm


def _starters(roster: Sequence[Player], active: Sequence[bool]) -> set[int]:
    """The five available players with the biggest roles start."""
    avail = [i for i in range(len(roster)) if active[i]]
    return set(sorted(avail, key=lambda i: (-roster[i].minutes, i))[:5])


def _box_order(lines: list[Line], starters: set[int], roster: Sequence[Player]) -> tuple[Line, ...]:
    """Starters (F, C, G), then the bench by minutes, then players who did not play."""
    first = sorted(starters, key=lambda i: (_POS_ORDER[roster[i].position], i))
    bench = sorted((i for i, ln in enumerate(lines) if ln.played and i not in starters),
                   key=lambda i: (-lines[i].seconds, i))
    dnp = [i for i, ln in enumerate(lines) if not ln.played]
    return tuple(lines[i] for i in first + bench + dnp)
