"""How good each prediction system was over a date range, from ``prediction_accuracy``.

Per system: graded and voided rows, MAE and bias over non-voided rows with a prediction, picks
(non-voided OVER/UNDER), correct / incorrect / pushes and the hit rate ``correct / (correct +
incorrect)`` (pushes are not scored; breakeven at −110 is about 52.4 %). For comparison, the
naive *season-average* baseline — each player's mean points over his played games of the season
before the date — is scored on the system's non-voided rows with a prediction where the player
has such a mean, together with the system's own MAE on exactly those rows. Two queries in all.

COUNTIF arguments are never NULL: DuckDB's COUNT_IF over only NULLs returns NULL, not 0.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from backcourt.domain.errors import BadInput
from backcourt.ports import Warehouse

HISTORY_DAYS = 366  # a season's first game is less than a year before any of its dates

SYSTEMS_SQL = """
SELECT
  system_id,
  COUNT(*) AS graded_rows,
  COUNTIF(is_voided) AS voided_rows,
  AVG(IF(is_voided, NULL, absolute_error)) AS mae,
  AVG(IF(is_voided, NULL, signed_error)) AS bias,
  COUNTIF(NOT is_voided AND recommendation IN ('OVER', 'UNDER')) AS picks,
  COUNTIF(COALESCE(prediction_correct, FALSE)) AS correct,
  COUNTIF(COALESCE(NOT prediction_correct, FALSE)) AS incorrect,
  COUNTIF(NOT is_voided AND recommendation IN ('OVER', 'UNDER')
          AND actual_points = points_line) AS pushes
FROM nba_predictions.prediction_accuracy
WHERE game_date BETWEEN @s AND @e
GROUP BY system_id
ORDER BY system_id
"""

BASELINE_SQL = """
WITH history AS (
  SELECT game_date, player_lookup,
         AVG(points) OVER (PARTITION BY player_lookup, season_year ORDER BY game_date
                           ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING) AS season_avg
  FROM nba_analytics.player_game_summary
  WHERE game_date BETWEEN @h AND @e AND NOT COALESCE(is_dnp, FALSE) AND points IS NOT NULL
)
SELECT
  a.system_id,
  COUNT(*) AS baseline_rows,
  AVG(ABS(h.season_avg - a.actual_points)) AS baseline_mae,
  AVG(a.absolute_error) AS mae_same_rows
FROM nba_predictions.prediction_accuracy AS a
JOIN history AS h ON h.game_date = a.game_date AND h.player_lookup = a.player_lookup
WHERE a.game_date BETWEEN @s AND @e AND NOT a.is_voided AND a.absolute_error IS NOT NULL
  AND h.season_avg IS NOT NULL
GROUP BY a.system_id
"""


@dataclass(frozen=True)
class SystemQuality:
    """One system's grading summary over a date range (errors in points, 3 decimals)."""

    system_id: str
    graded_rows: int
    voided_rows: int
    mae: float | None
    bias: float | None  # mean of predicted − actual
    picks: int
    correct: int
    incorrect: int
    pushes: int
    baseline_rows: int  # rows with a prediction and a season average before the date
    baseline_mae: float | None  # season-average prediction's MAE on those rows
    mae_same_rows: float | None  # this system's MAE on those same rows

    @property
    def hit_rate(self) -> float | None:
        """correct / (correct + incorrect), None without scored picks."""
        scored = self.correct + self.incorrect
        return round(self.correct / scored, 4) if scored else None


def _num(value: Any) -> float | None:
    return None if value is None else round(float(value), 3)


def system_quality(warehouse: Warehouse, start: date, end: date) -> list[SystemQuality]:
    """Per-system quality for ``start`` … ``end`` (inclusive), sorted by system_id.

    Raises:
        BadInput: ``start`` is after ``end``.
    """
    if start > end:
        raise BadInput(f"quality range starts {start} after it ends {end}")
    params = {"s": start, "e": end, "h": start - timedelta(days=HISTORY_DAYS)}
    base = {r["system_id"]: r for r in warehouse.query(BASELINE_SQL, params)}
    out = []
    for r in warehouse.query(SYSTEMS_SQL, params):
        b = base.get(r["system_id"], {})
        out.append(SystemQuality(
            system_id=r["system_id"], graded_rows=int(r["graded_rows"]),
            voided_rows=int(r["voided_rows"]), mae=_num(r["mae"]), bias=_num(r["bias"]),
            picks=int(r["picks"]), correct=int(r["correct"]), incorrect=int(r["incorrect"]),
            pushes=int(r["pushes"]), baseline_rows=int(b.get("baseline_rows") or 0),
            baseline_mae=_num(b.get("baseline_mae")), mae_same_rows=_num(b.get("mae_same_rows")),
        ))
    return out
