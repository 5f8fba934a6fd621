"""Phase 5B grading SQL and the quality summary on hand-made cases (DuckDB).

Predictions for 2025-01-15 (moving_average unless said), against player_game_summary:

    player     rec      pred  line  box                         expected
    pusher     OVER     24.0  20.0  20 pts                      push: correct NULL, error 4
    dnper      OVER     25.0  20.5  is_dnp                      void did_not_play
    ghost      UNDER    10.0  14.5  no row                      void no_box_score
    overhit    OVER     25.0  20.5  24 pts                      TRUE, error 1
    undermiss  UNDER    15.0  18.5  22 pts                      FALSE, error −7
    underhit   UNDER    12.4  14.5   9 pts                      TRUE, error 3.4
    passer     PASS     20.0  19.5  30 pts                      not scored, error −10
    noline     NO_LINE  11.0  —      8 pts                      not scored, error 3
    zeromin    OVER     15.0  10.5   0 pts in 0 min, not dnp    void did_not_play
    zeropts    PASS      3.0   2.5   0 pts in 12 min            graded, error 3
    overhit    gradient_boosting PASS no_model, no prediction   errors NULL, not voided

Season history (played games before the date): overhit 20 and 30 (mean 25), undermiss 16,
passer one DNP (no mean), pusher 40 points last season only (no mean this season).
"""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import pytest

from backcourt.adapters.local.duckdb_warehouse import DuckDBWarehouse
from backcourt.domain.errors import BadInput
from backcourt.domain.tables_analytics import PLAYER_GAME_SUMMARY
from backcourt.domain.tables_predictions import PLAYER_PROP_PREDICTIONS, PREDICTION_ACCURACY
from backcourt.models.quality import system_quality
from backcourt.ports import RowsSource, SqlSource
from backcourt.sql import load_sql

pytestmark = pytest.mark.local

Row = dict[str, Any]
D = date(2025, 1, 15)
MA, GB = "moving_average", "gradient_boosting"

# player: (system, recommendation, predicted, line)
PREDICTIONS: list[tuple[str, str, str, float | None, float | None]] = [
    ("pusher", MA, "OVER", 24.0, 20.0),
    ("dnper", MA, "OVER", 25.0, 20.5),
    ("ghost", MA, "UNDER", 10.0, 14.5),
    ("overhit", MA, "OVER", 25.0, 20.5),
    ("undermiss", MA, "UNDER", 15.0, 18.5),
    ("underhit", MA, "UNDER", 12.4, 14.5),
    ("passer", MA, "PASS", 20.0, 19.5),
    ("noline", MA, "NO_LINE", 11.0, None),
    ("zeromin", MA, "OVER", 15.0, 10.5),
    ("zeropts", MA, "PASS", 3.0, 2.5),
    ("overhit", GB, "PASS", None, 20.5),
]
# (day, player, season, points, minutes, is_dnp)
BOX: list[tuple[date, str, int, int | None, float, bool]] = [
    (D, "pusher", 2024, 20, 30.0, False),
    (D, "dnper", 2024, None, 0.0, True),
    (D, "overhit", 2024, 24, 33.0, False),
    (D, "undermiss", 2024, 22, 30.0, False),
    (D, "underhit", 2024, 9, 25.0, False),
    (D, "passer", 2024, 30, 35.0, False),
    (D, "noline", 2024, 8, 20.0, False),
    (D, "zeromin", 2024, 0, 0.0, False),
    (D, "zeropts", 2024, 0, 12.0, False),
    (date(2025, 1, 10), "overhit", 2024, 20, 30.0, False),
    (date(2025, 1, 12), "overhit", 2024, 30, 30.0, False),
    (date(2025, 1, 10), "undermiss", 2024, 16, 30.0, False),
    (date(2025, 1, 12), "passer", 2024, None, 0.0, True),
    (date(2024, 4, 10), "pusher", 2023, 40, 36.0, False),
]


def _prediction(player: str, system: str, rec: str, pred: float | None,
                line: float | None) -> Row:
    return {"game_date": D, "player_lookup": player, "system_id": system,
            "game_id": "20250115_BOS_NYK", "team_abbr": "NYK", "predicted_points": pred,
            "points_line": line, "edge": None if pred is None or line is None else pred - line,
            "recommendation": rec, "confidence": 0.6, "is_actionable": rec in ("OVER", "UNDER"),
            "reason": None, "model_version": "formula" if system == MA else None}


def _box(day: date, player: str, season: int, pts: int | None, minutes: float,
         dnp: bool) -> Row:
    return {"game_date": day, "game_id": f"{day:%Y%m%d}_BOS_NYK", "season_year": season,
            "player_lookup": player, "team_abbr": "NYK", "is_dnp": dnp,
            "minutes_played": minutes, "points": pts}


@pytest.fixture
def graded(tmp_path: Path) -> tuple[DuckDBWarehouse, dict[tuple[str, str], Row]]:
    wh = DuckDBWarehouse(tmp_path / "wh.duckdb")
    wh.ensure_tables([PLAYER_GAME_SUMMARY, PLAYER_PROP_PREDICTIONS, PREDICTION_ACCURACY])
    box = [_box(*b) for b in BOX]
    wh.replace(PLAYER_GAME_SUMMARY, sorted({b["game_date"] for b in box}), RowsSource(box),
               max_shrink=1.0)
    wh.replace(PLAYER_PROP_PREDICTIONS, [D], RowsSource([_prediction(*p) for p in PREDICTIONS]),
               max_shrink=1.0)
    result = wh.replace(PREDICTION_ACCURACY, [D], SqlSource(load_sql("prediction_accuracy")),
                        max_shrink=1.0)
    assert result.rows_by_date == {D: len(PREDICTIONS)}  # one graded row per prediction
    rows = wh.query("SELECT * FROM nba_predictions.prediction_accuracy")
    return wh, {(r["player_lookup"], r["system_id"]): r for r in rows}


def _verdict(row: Row) -> tuple[Any, ...]:
    return (row["actual_points"], row["absolute_error"], row["signed_error"],
            row["prediction_correct"], row["is_voided"], row["void_reason"])


@pytest.mark.parametrize(("player", "system", "expected"), [
    ("pusher", MA, (20, 4.0, 4.0, None, False, None)),
    ("overhit", MA, (24, 1.0, 1.0, True, False, None)),
    ("undermiss", MA, (22, 7.0, -7.0, False, False, None)),
    ("underhit", MA, (9, 3.4, 3.4, True, False, None)),
    ("passer", MA, (30, 10.0, -10.0, None, False, None)),
    ("noline", MA, (8, 3.0, 3.0, None, False, None)),
    ("zeropts", MA, (0, 3.0, 3.0, None, False, None)),
    ("dnper", MA, (None, None, None, None, True, "did_not_play")),
    ("zeromin", MA, (None, None, None, None, True, "did_not_play")),
    ("ghost", MA, (None, None, None, None, True, "no_box_score")),
    ("overhit", GB, (24, None, None, None, False, None)),
])
def test_grading_cases(graded: tuple[DuckDBWarehouse, dict[tuple[str, str], Row]],
                       player: str, system: str, expected: tuple[Any, ...]) -> None:
    _, rows = graded
    row = rows[(player, system)]
    assert _verdict(row) == expected  # the SQL rounds errors to 3 decimals


def test_graded_rows_carry_the_prediction(
        graded: tuple[DuckDBWarehouse, dict[tuple[str, str], Row]]) -> None:
    _, rows = graded
    row = rows[("overhit", MA)]
    assert (row["predicted_points"], row["points_line"], row["recommendation"],
            row["game_id"]) == (25.0, 20.5, "OVER", "20250115_BOS_NYK")
    assert list(row) == list(PREDICTION_ACCURACY.column_names)


def test_quality_summary(graded: tuple[DuckDBWarehouse, dict[tuple[str, str], Row]]) -> None:
    wh, _ = graded
    gb, ma = system_quality(wh, D, D)  # sorted by system_id
    assert (ma.system_id, ma.graded_rows, ma.voided_rows) == (MA, 10, 3)
    assert ma.mae == pytest.approx(31.4 / 7, abs=1e-3)  # 4 + 1 + 7 + 3.4 + 10 + 3 + 3
    assert ma.bias == pytest.approx(-2.6 / 7, abs=1e-3)
    assert (ma.picks, ma.correct, ma.incorrect, ma.pushes) == (4, 2, 1, 1)
    assert ma.hit_rate == pytest.approx(2 / 3, abs=1e-4)
    # season average before the date: overhit 25 (error 1), undermiss 16 (error 6)
    assert (ma.baseline_rows, ma.baseline_mae, ma.mae_same_rows) == (2, 3.5, 4.0)
    assert (gb.system_id, gb.graded_rows, gb.voided_rows, gb.mae, gb.picks) == (GB, 1, 0, None, 0)
    assert gb.hit_rate is None and gb.baseline_rows == 0 and gb.baseline_mae is None


def test_quality_of_an_empty_range_and_a_bad_range(
        graded: tuple[DuckDBWarehouse, dict[tuple[str, str], Row]]) -> None:
    wh, _ = graded
    assert system_quality(wh, date(2025, 2, 1), date(2025, 2, 3)) == []
    with pytest.raises(BadInput, match="after it ends"):
        system_quality(wh, D, date(2025, 1, 14))
