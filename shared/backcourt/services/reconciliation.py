"""The gate's reconciliation checks as warehouse SQL (issue 14).

Read-only queries over a date range, in BigQuery dialect (DuckDB runs them through the
sqlglot transpile path of its adapter): identifiers come only from the table registry, dates are
parameters. The numbers they return are judged by the pure functions of
``backcourt.domain.reconcile`` under the checks declared in ``gate.toml``:

* per team row of ``nba_raw.team_boxscores``: its points and minutes, the sum of its players'
  points and how many played (``nba_raw.player_boxscores``), and the schedule's final score
  (``nba_raw.schedule``, final and not postponed games only);
* every player or team row whose made exceeds attempted for FG, 3P or FT.

Each query is one SELECT that passes the packaged-SQL lint (``tests/unit/test_sql_lint.py``).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any

from backcourt.domain import reconcile as rc
from backcourt.domain import tables_raw as tr
from backcourt.domain.schema import Table
from backcourt.domain.thresholds import CheckSpec
from backcourt.ports import Warehouse

TEAM_TOTALS = f"""
SELECT t.game_date, t.game_id, t.nba_game_id, t.team_abbr, t.source, t.points, t.minutes,
       p.points AS player_points, p.played AS players_played,
       CASE WHEN t.is_home THEN s.home_team_score ELSE s.away_team_score END AS final_score
FROM {tr.TEAM_BOXSCORES.fqn} AS t
LEFT JOIN (
  SELECT game_date, game_id, team_abbr, SUM(COALESCE(points, 0)) AS points,
         COUNTIF(minutes > 0) AS played
  FROM {tr.PLAYER_BOXSCORES.fqn}
  WHERE game_date BETWEEN @start_date AND @end_date
  GROUP BY game_date, game_id, team_abbr
) AS p ON p.game_date = t.game_date AND p.game_id = t.game_id AND p.team_abbr = t.team_abbr
LEFT JOIN (
  SELECT game_date, game_id, home_team_score, away_team_score
  FROM {tr.SCHEDULE.fqn}
  WHERE game_date BETWEEN @start_date AND @end_date
    AND game_status = 3 AND NOT COALESCE(postponed, FALSE)
) AS s ON s.game_date = t.game_date AND s.game_id = t.game_id
WHERE t.game_date BETWEEN @start_date AND @end_date
ORDER BY t.game_date, t.game_id, t.team_abbr
"""

_OVER = " OR ".join(f"{made} > {att}" for _, made, att in rc.SHOT_TYPES)
_SHOT_COLUMNS = ", ".join(c for _, made, att in rc.SHOT_TYPES for c in (made, att))


def _made_over_attempted(table: Table, who: str) -> str:
    return f"""
SELECT game_date, game_id, nba_game_id, team_abbr, {who}{_SHOT_COLUMNS}
FROM {table.fqn}
WHERE game_date BETWEEN @start_date AND @end_date AND ({_OVER})
ORDER BY game_date, game_id, team_abbr
"""


MADE_OVER_ATTEMPTED = (_made_over_attempted(tr.PLAYER_BOXSCORES, "player_name, "),
                       _made_over_attempted(tr.TEAM_BOXSCORES, ""))
"""Player rows, then team rows, whose made exceeds attempted for a shot type."""

Found = dict[str, list[tuple[date, str]]]  # check name → (date, problem), in query order


def _totals(row: dict[str, Any]) -> rc.TeamTotals:
    return rc.TeamTotals(
        game=rc.game_name(row), team=row["team_abbr"], source=row["source"],
        points=row["points"],
        player_points=None if row["player_points"] is None else int(row["player_points"]),
        minutes=row["minutes"], players_played=int(row["players_played"] or 0),
        final_score=row["final_score"])


def measure(wh: Warehouse, specs: Sequence[CheckSpec], start: date, end: date) -> Found:
    """The problems of the ``specs`` checks on every date from ``start`` to ``end``."""
    by_name = {s.name: s for s in specs}
    params = {"start_date": start, "end_date": end}
    found: Found = {name: [] for name in by_name}
    team_checks = [(n, f) for n, f in ((rc.POINTS, rc.points_problem),
                                       (rc.FINAL_SCORE, rc.final_score_problem),
                                       (rc.MINUTES, rc.minutes_problem)) if n in by_name]
    if team_checks:
        for row in wh.query(TEAM_TOTALS, params):
            totals = _totals(row)
            for name, judge in team_checks:
                problem = judge(by_name[name], totals)
                if problem:
                    found[name].append((row["game_date"], problem))
    if rc.SHOTS in by_name:
        for sql in MADE_OVER_ATTEMPTED:
            for row in wh.query(sql, params):
                found[rc.SHOTS] += [(row["game_date"], p)
                                    for p in rc.shot_problems(by_name[rc.SHOTS], row)]
    return found
