"""Box-score reconciliation (issue 14): a game's numbers checked against each other and against
the schedule. Pure functions; the checks are named and versioned in ``gate.toml``
(``[checks.<name>]``, read into :class:`~backcourt.domain.thresholds.CheckSpec`).

* ``points_reconcile``: a team's points = the sum of its players' points;
* ``final_score``: a team's points = the schedule's final score (final games with a score);
* ``minutes_reconcile``: team minutes = regulation + per_overtime × overtimes, within the
  source's rounding (``per_team + per_player × players who played``);
* ``made_le_attempted``: made ≤ attempted for FG, 3P and FT, on every player and team row.

The gate (``services.gate``) measures the warehouse with SQL and hands the numbers to these
functions; ``ingest`` calls :func:`internal_problems` on the rows of a box-score file, so a file
whose own numbers disagree is refused before it can replace a good one. Every problem names the
check, the game (NBA.com id when known) and the numbers, e.g.
``points_reconcile v1: game 0022400123 BOS 111 ≠ players 94``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from backcourt.domain.thresholds import CheckSpec, Thresholds

POINTS = "points_reconcile"
FINAL_SCORE = "final_score"
MINUTES = "minutes_reconcile"
SHOTS = "made_le_attempted"
INTERNAL = (POINTS, SHOTS)
"""The checks one box-score file can fail on its own (what ingest refuses)."""

SHOT_TYPES: tuple[tuple[str, str, str], ...] = (
    ("FG", "fg_made", "fg_attempted"),
    ("3P", "three_pt_made", "three_pt_attempted"),
    ("FT", "ft_made", "ft_attempted"),
)

Row = Mapping[str, Any]


@dataclass(frozen=True)
class TeamTotals:
    """One team in one game: its team row's numbers and what its players and the schedule say."""

    game: str  # NBA.com game id when known, else the system id
    team: str
    source: str | None
    points: int | None
    player_points: int | None  # None: no player rows for the team
    minutes: int | None
    players_played: int = 0  # player rows with minutes > 0
    final_score: int | None = None  # the schedule's, for a final game with a score


def game_name(row: Row) -> str:
    """How a problem names a row's game: the NBA.com id, else the system id."""
    return str(row.get("nba_game_id") or row.get("game_id"))


def points_problem(spec: CheckSpec, t: TeamTotals) -> str | None:
    """Team points ≠ the sum of its players' points."""
    if t.points is None or t.player_points is None or t.points == t.player_points:
        return None
    return f"{spec.label}: game {t.game} {t.team} {t.points} ≠ players {t.player_points}"


def final_score_problem(spec: CheckSpec, t: TeamTotals) -> str | None:
    """Team points ≠ the schedule's final score."""
    if t.final_score is None or t.points is None or t.points == t.final_score:
        return None
    return f"{spec.label}: game {t.game} {t.team} {t.points} ≠ schedule final {t.final_score}"


def minutes_tolerance(spec: CheckSpec, source: str | None, players_played: int) -> float:
    """Minutes either side of regulation + overtimes the source's rounding allows."""
    table: Mapping[str, Mapping[str, float]] = spec.params.get("tolerance", {})
    rule = table.get(source or "", table.get("default", {}))
    return float(rule.get("per_team", 0.0)) + float(rule.get("per_player", 0.0)) * players_played


def expected_minutes(spec: CheckSpec, minutes: float) -> tuple[int, int]:
    """(overtimes, team minutes) of the nearest regulation + k × overtime to ``minutes``."""
    regulation = int(spec.params.get("regulation", 240))
    per_overtime = int(spec.params.get("per_overtime", 25))
    overtimes = max(0, round((minutes - regulation) / per_overtime))
    return overtimes, regulation + per_overtime * overtimes


def minutes_problem(spec: CheckSpec, t: TeamTotals) -> str | None:
    """Team minutes not regulation + 25 per overtime within the source's rounding."""
    if t.minutes is None:
        return f"{spec.label}: game {t.game} {t.team} has no team minutes"
    overtimes, expected = expected_minutes(spec, t.minutes)
    tolerance = minutes_tolerance(spec, t.source, t.players_played)
    if abs(t.minutes - expected) <= tolerance + 1e-9:
        return None
    ot = f"{overtimes} overtime{'s' if overtimes != 1 else ''}" if overtimes else "regulation"
    return (f"{spec.label}: game {t.game} {t.team} {t.minutes} team minutes ≠ {expected} "
            f"({ot}) ± {tolerance:g} ({t.source}, {t.players_played} players)")


def shot_problems(spec: CheckSpec, row: Row) -> list[str]:
    """Made > attempted for a shot type of one player or team row."""
    who = f" {row['player_name']}" if row.get("player_name") else ""
    out = []
    for label, made_col, att_col in SHOT_TYPES:
        made, att = row.get(made_col), row.get(att_col)
        if made is not None and att is not None and made > att:
            out.append(f"{spec.label}: game {game_name(row)} {row['team_abbr']}{who} "
                       f"{label} {made} made > {att} attempted")
    return out


def team_totals(players: Sequence[Row], teams: Sequence[Row]) -> list[TeamTotals]:
    """Per team row, its numbers next to the sum of its players' points and minutes."""
    points: dict[tuple[str, str], int] = {}
    played: dict[tuple[str, str], int] = {}
    for p in players:
        key = (p["game_id"], p["team_abbr"])
        points[key] = points.get(key, 0) + (p["points"] or 0)
        played[key] = played.get(key, 0) + (1 if (p["minutes"] or 0) > 0 else 0)
    return [TeamTotals(game_name(t), t["team_abbr"], t.get("source"), t["points"],
                       points.get((t["game_id"], t["team_abbr"])), t["minutes"],
                       played.get((t["game_id"], t["team_abbr"]), 0))
            for t in teams]


@lru_cache(maxsize=1)
def packaged_checks() -> Mapping[str, CheckSpec]:
    """The checks of the packaged ``gate.toml``."""
    return Thresholds.load().checks


def internal_problems(players: Sequence[Row], teams: Sequence[Row],
                      checks: Mapping[str, CheckSpec] | None = None) -> list[str]:
    """What is inconsistent within one box-score file: team points against its players' points,
    made against attempted (the ``INTERNAL`` checks declared in ``checks``)."""
    specs = packaged_checks() if checks is None else checks
    out: list[str] = []
    if POINTS in specs:
        out += _each(points_problem(specs[POINTS], t) for t in team_totals(players, teams))
    if SHOTS in specs:
        for row in (*teams, *players):
            out += shot_problems(specs[SHOTS], row)
    return out


def _each(found: Iterable[str | None]) -> list[str]:
    return [p for p in found if p]
