"""Phase 5A pure logic: pick rules and thresholds, confidence, the moving-average formula, the
Monday cutoff arithmetic, slicing labelled rows by date, and model artifacts round-tripping
through a folder bucket."""

from __future__ import annotations

import json
import math
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from backcourt.adapters.local.bucket import FolderBucket
from backcourt.domain.errors import BadInput, TerminalError
from backcourt.domain.features import FEATURES
from backcourt.domain.tables_predictions import PLAYER_PROP_PREDICTIONS
from backcourt.models import artifacts, baseline, gbm, picks
from backcourt.models.picks import EDGE_THRESHOLD, Recommendation, make_pick
from backcourt.models.predict import _checked_days, predict_day, predict_rows
from backcourt.models.walkforward import Labelled, cutoff_for


def fs_row(**over: Any) -> dict[str, Any]:
    """A feature-store row with a 20.5 line, L10 spread 4 and no defaults."""
    row: dict[str, Any] = {
        "game_date": date(2025, 1, 8), "player_lookup": "janedoe", "game_id": "20250108_BOS_NYK",
        "team_abbr": "NYK", "f_has_line": 1.0, "f_points_line": 20.5,
        "f_points_std_last_10": 4.0, "required_default_count": 0, "defaulted_features": None,
    }
    row.update(over)
    return row


# -- pick rules ---------------------------------------------------------------------------------

def test_edge_at_the_threshold_is_a_pick_and_just_below_is_a_pass() -> None:
    assert EDGE_THRESHOLD == 1.5
    over = make_pick(22.0, fs_row())  # 22.0 − 20.5 = +1.5
    assert (over.recommendation, over.edge, over.is_actionable, over.reason) == (
        Recommendation.OVER, 1.5, True, None)
    under = make_pick(19.0, fs_row())  # −1.5
    assert (under.recommendation, under.edge, under.is_actionable) == (
        Recommendation.UNDER, -1.5, True)
    near = make_pick(21.9, fs_row())  # +1.4
    assert (near.recommendation, near.reason, near.is_actionable) == (
        Recommendation.PASS, "edge_below_threshold", False)
    assert near.points_line == 20.5 and near.edge == 1.4


@pytest.mark.parametrize("over", [
    {"f_has_line": 0.0, "f_points_line": 0.0},
    {"f_has_line": 0.0, "f_points_line": 22.5},  # a stale value without the flag is no line
    {"f_has_line": 1.0, "f_points_line": None},
    {"f_has_line": None, "f_points_line": 20.5},
    {"f_has_line": 1.0, "f_points_line": 0.0},
])
def test_without_a_line_the_pick_is_no_line(over: dict[str, Any]) -> None:
    pick = make_pick(30.0, fs_row(**over))
    assert pick.recommendation is Recommendation.NO_LINE and pick.reason == "no_line"
    assert pick.points_line is None and pick.edge is None and pick.confidence is None
    assert pick.predicted_points == 30.0 and not pick.is_actionable


def test_defaulted_required_features_never_give_a_pick() -> None:
    row = fs_row(required_default_count=2,
                 defaulted_features="points_avg_last_5, minutes_avg_last_10")
    pick = make_pick(35.0, row)  # a huge edge, still no pick
    assert pick.recommendation is Recommendation.PASS and not pick.is_actionable
    assert pick.reason == "defaulted_features: points_avg_last_5,minutes_avg_last_10"
    assert pick.edge == 14.5  # the prediction is still recorded for grading
    unnamed = make_pick(35.0, fs_row(required_default_count=1, defaulted_features=""))
    assert unnamed.reason == "defaulted_features: 1 required"
    no_line = make_pick(35.0, fs_row(required_default_count=1, f_has_line=0.0))
    assert no_line.recommendation is Recommendation.PASS  # defaults win over NO_LINE


def test_no_model_passes_with_its_reason() -> None:
    pick = make_pick(None, fs_row(required_default_count=3))
    assert (pick.recommendation, pick.reason, pick.predicted_points, pick.edge) == (
        Recommendation.PASS, "no_model", None, None)
    assert pick.points_line == 20.5 and pick.confidence is None


def test_confidence_is_the_normal_probability_of_the_picked_side() -> None:
    assert picks.confidence(0.0, 4.0) == 0.5
    assert picks.confidence(4.0, 4.0) == 0.841  # Φ(1) = 0.8413
    assert picks.confidence(-8.0, 4.0) == 0.977  # Φ(2) = 0.9772, sign does not matter
    assert picks.confidence(3.0, 1.0) == 0.841  # spread floored at 3
    assert picks.confidence(3.0, None) == 0.841
    values = [picks.confidence(e / 2, 5.0) for e in range(40)]
    assert values == sorted(values) and all(0.5 <= v <= 1.0 for v in values)
    assert make_pick(26.5, fs_row()).confidence == 0.933  # edge 6, σ 4: Φ(1.5) = 0.9332


def test_clamp_points_bounds_and_rejects_nan() -> None:
    assert picks.clamp_points(-3.2) == 0.0
    assert picks.clamp_points(95.0) == picks.MAX_POINTS
    assert picks.clamp_points(17.26) == 17.3
    with pytest.raises(ValueError, match="finite"):
        picks.clamp_points(math.nan)


# -- the moving-average formula -----------------------------------------------------------------

def _ma_row(**feats: float | None) -> dict[str, Any]:
    return fs_row(**{f"f_{k}": v for k, v in feats.items()})


def test_moving_average_weights_the_three_averages() -> None:
    row = _ma_row(points_avg_last_5=20.0, points_avg_last_10=15.0, points_avg_season=10.0,
                  opponent_def_rating_last_15=112.0, pace_score=0.0, back_to_back=0.0)
    assert baseline.predict(row) == 16.5  # 10 + 4.5 + 2


def test_moving_average_adjustments_and_their_clamps() -> None:
    flat = {"points_avg_last_5": 20.0, "points_avg_last_10": 20.0, "points_avg_season": 20.0}
    assert baseline.predict(_ma_row(**flat, opponent_def_rating_last_15=123.2)) == 22.0
    assert baseline.predict(_ma_row(**flat, opponent_def_rating_last_15=200.0)) == 22.0
    assert baseline.predict(_ma_row(**flat, opponent_def_rating_last_15=50.0)) == 18.0
    assert baseline.predict(_ma_row(**flat, pace_score=5.0)) == 21.0
    assert baseline.predict(_ma_row(**flat, back_to_back=1.0)) == 19.0


def test_moving_average_uses_catalog_defaults_for_null_features() -> None:
    assert baseline.predict(fs_row()) == 10.0  # L5 = L10 = season = 10, neutral adjustments


def _random_rows(n: int, seed: int) -> list[dict[str, Any]]:
    """Feature-store rows over every catalog feature: values around the clamps' edges, some
    NULL (catalog default), integers and booleans as the warehouse may return them."""
    rng = np.random.default_rng(seed)
    rows = []
    for i in range(n):
        feats: dict[str, Any] = {f.column: float(rng.normal(f.default or 5.0, 6.0))
                                 for f in FEATURES}
        feats["f_opponent_def_rating_last_15"] = float(rng.choice([100.8, 123.2, 95.0, 112.0,
                                                                   rng.uniform(90, 130)]))
        feats["f_pace_score"] = float(rng.choice([-10.0, 10.0, -12.5, rng.uniform(-15, 15)]))
        feats["f_back_to_back"] = [0, 1, True, False, None, 1.0][i % 6]
        for f in FEATURES:
            if rng.random() < 0.1:
                feats[f.column] = None
        if i % 7 == 0:
            feats["f_points_avg_last_5"] = int(rng.integers(0, 40))
        rows.append(fs_row(**feats))
    return rows


def test_moving_average_of_a_matrix_is_the_row_formula_exactly() -> None:
    """Phase 5A predicts the moving average of a whole week from its feature matrix: every
    value equals the per-row formula, to the last bit (same operations, same order)."""
    rows = _random_rows(3000, 11)
    expected = [baseline.predict(r) for r in rows]
    got = baseline.predict_matrix(gbm.feature_matrix(rows))
    assert got == expected and all(type(v) is float for v in got)
    assert np.asarray(got).tobytes() == np.asarray(expected).tobytes()
    assert baseline.predict_matrix(gbm.feature_matrix([])) == []
    with pytest.raises(ValueError, match="finite"):
        baseline.predict_matrix(gbm.feature_matrix([_ma_row(points_avg_last_5=math.nan)]))


def test_predict_rows_equal_the_per_row_pick_rules() -> None:
    """One call per system and week gives, row for row, what each row's own prediction and
    ``make_pick`` give (the output of before the batching)."""
    rows = _random_rows(400, 5)
    for i, row in enumerate(rows):  # lines, no lines, defaults, spreads at and below the floor
        row["f_has_line"] = [1.0, 1.0, 0.0, None][i % 4]
        row["f_points_line"] = [20.5, 12.5, None, -1.0, 0.0, 31.5][i % 6]
        row["f_points_std_last_10"] = [None, 1.0, 3.0, 7.5][i % 4]
        row["required_default_count"] = 1 if i % 9 == 0 else 0
        row["defaulted_features"] = "points_avg_last_5" if i % 18 == 0 else None
    x, y = _training_data(600)
    model = artifacts.Artifact(date(2025, 1, 6), gbm.fit(x, y), {})
    for m in (model, None):
        got = predict_rows(rows, gbm.feature_matrix(rows), m)
        expected = []
        for row in rows:
            learned = gbm.predict(m.booster, [row])[0] if m else None
            for system, value, version in (
                    ("moving_average", baseline.predict(row), "formula"),
                    ("gradient_boosting", learned, m.version if m else None)):
                pick = make_pick(value, row)
                expected.append({
                    "game_date": row["game_date"], "player_lookup": row["player_lookup"],
                    "system_id": system, "game_id": row["game_id"],
                    "team_abbr": row["team_abbr"], "predicted_points": pick.predicted_points,
                    "points_line": pick.points_line, "edge": pick.edge,
                    "recommendation": pick.recommendation.value,
                    "confidence": pick.confidence, "is_actionable": pick.is_actionable,
                    "reason": pick.reason, "model_version": version})
        assert got == expected
        assert all(tuple(r) == PLAYER_PROP_PREDICTIONS.column_names for r in got)
        assert {r["recommendation"] for r in got} >= (
            {"PASS", "NO_LINE", "OVER", "UNDER"} if m else {"PASS", "NO_LINE"})


# -- cutoffs --------------------------------------------------------------------------------------

@pytest.mark.parametrize(("day", "monday"), [
    (date(2025, 1, 6), date(2025, 1, 6)),  # a Monday is its own cutoff
    (date(2025, 1, 7), date(2025, 1, 6)),
    (date(2025, 1, 12), date(2025, 1, 6)),  # Sunday
    (date(2025, 1, 1), date(2024, 12, 30)),  # across the new year
    (date(2024, 3, 2), date(2024, 2, 26)),  # across a leap-year February
])
def test_cutoff_is_the_monday_on_or_before(day: date, monday: date) -> None:
    assert cutoff_for(day) == monday


def test_every_day_of_a_season_maps_to_a_monday_within_six_days() -> None:
    start = date(2024, 10, 1)
    for n in range(300):
        day = start + timedelta(days=n)
        cut = cutoff_for(day)
        assert cut.weekday() == 0 and 0 <= (day - cut).days <= 6


def _labelled(days: list[date]) -> Labelled:
    rows = [{"game_date": d, "player_lookup": f"p{n}", "actual_points": float(n),
             "f_points_avg_last_5": float(n)} for n, d in enumerate(days)]
    return Labelled.of(rows)


def test_labelled_rows_slice_by_date_half_open() -> None:
    days = [date(2025, 1, 1), date(2025, 1, 1), date(2025, 1, 3), date(2025, 1, 6),
            date(2025, 1, 6), date(2025, 1, 9)]
    data = _labelled(days)
    part = data.between(date(2025, 1, 1), date(2025, 1, 6))  # the 6th is excluded
    assert part.y.tolist() == [0.0, 1.0, 2.0] and part.x[:, 0].tolist() == [0.0, 1.0, 2.0]
    assert (part.first_date(), part.last_date()) == (date(2025, 1, 1), date(2025, 1, 3))
    assert len(data.between(date(2025, 1, 2), date(2025, 1, 9))) == 3  # the 3rd and two 6ths
    assert len(data.between(date(2025, 1, 10), date(2025, 2, 1))) == 0
    assert len(data.between(date.min, date(2025, 1, 1))) == 0


def test_labelled_rows_joined_in_date_order() -> None:
    """The walk-forward reads the first cutoff's window, then the days the later cutoffs add,
    and joins them: the same rows, in the same order, as one read."""
    days = [date(2025, 1, 1), date(2025, 1, 3), date(2025, 1, 6), date(2025, 1, 6)]
    whole = _labelled(days)
    joined = whole.between(date.min, date(2025, 1, 6)).joined(
        whole.between(date(2025, 1, 6), date.max))
    assert joined.y.tolist() == [0.0, 1.0, 2.0, 3.0]
    assert joined.x.tobytes() == whole.x.tobytes() and joined.y.tolist() == whole.y.tolist()
    assert joined.days.tolist() == whole.days.tolist()
    with pytest.raises(ValueError, match="sorted"):
        whole.between(date(2025, 1, 6), date.max).joined(whole.between(date.min, date(2025, 1, 6)))


def test_labelled_rows_from_arrow_equal_the_rows_as_dicts() -> None:
    """``labelled_rows`` reads ``Warehouse.query_arrow``: the same matrix, targets and dates as
    the rows as dicts (what ``query`` returns)."""
    import pyarrow as pa

    rows = [{"game_date": date(2024, 12, 30) + timedelta(days=n // 3), "player_lookup": f"p{n}",
             "actual_points": n % 7, "f_points_avg_last_5": None if n % 5 == 0 else n / 3}
            for n in range(12)]
    table = pa.Table.from_pylist(rows, schema=pa.schema([
        ("game_date", pa.date32()), ("player_lookup", pa.string()),
        ("actual_points", pa.int64()), ("f_points_avg_last_5", pa.float64())]))
    got, want = Labelled.of_arrow(table), Labelled.of(rows)
    assert got.x.tobytes() == want.x.tobytes() and got.y.tobytes() == want.y.tobytes()
    assert got.days.tolist() == want.days.tolist()
    assert (got.first_date(), got.last_date()) == (date(2024, 12, 30), date(2025, 1, 2))
    with pytest.raises(ValueError, match="sorted"):
        Labelled.of_arrow(table.take([3, 0]))


def test_labelled_rows_must_be_in_date_order() -> None:
    with pytest.raises(ValueError, match="sorted"):
        _labelled([date(2025, 1, 2), date(2025, 1, 1)])


def test_vectorised_points_clamp_and_round_like_a_prediction() -> None:
    raw = np.array([-3.0, 12.349, 12.351, 95.0])
    assert gbm.points(raw).tolist() == [picks.clamp_points(v) for v in raw] == [
        0.0, 12.3, 12.4, 80.0]
    with pytest.raises(ValueError, match="non-finite"):
        gbm.points(np.array([1.0, math.nan]))


# -- learner and artifacts ----------------------------------------------------------------------

def _training_data(n: int = 600) -> tuple[gbm.Matrix, gbm.Matrix]:
    rng = np.random.default_rng(7)
    x = rng.normal(10.0, 3.0, size=(n, len(FEATURES)))
    y = 2.0 * x[:, 0] + rng.normal(0.0, 1.0, size=n)
    return x, y


def test_feature_matrix_is_in_catalog_order_with_defaults() -> None:
    m = gbm.feature_matrix([_ma_row(points_avg_last_10=7.0, has_line=1.0)])
    assert m.shape == (1, len(FEATURES))
    assert m[0, 1] == 7.0 and m[0, 28] == 1.0
    assert m[0, 12] == 112.0  # opponent_def_rating_last_15 default
    assert gbm.feature_names()[0] == "f_points_avg_last_5"


def test_training_is_deterministic() -> None:
    x, y = _training_data()
    assert gbm.to_text(gbm.fit(x, y)) == gbm.to_text(gbm.fit(x, y))


def test_training_scores_are_the_models_outputs_on_its_rows() -> None:
    x, y = _training_data()
    booster, scores = gbm.fit_scored(x, y)
    np.testing.assert_array_equal(scores, gbm.raw_predict(booster, x))
    assert gbm.to_text(booster) == gbm.to_text(gbm.fit(x, y))
    assert float(np.mean(np.abs(scores - y))) < float(np.mean(np.abs(y - y.mean())))


def test_artifact_round_trip(tmp_path: Path) -> None:
    bucket = FolderBucket(tmp_path)
    x, y = _training_data()
    booster = gbm.fit(x, y)
    cut = date(2025, 1, 6)
    meta = {"cutoff": cut.isoformat(), "rows": len(y),
            "features": [{"index": f.index, "name": f.name, "column": f.column}
                         for f in FEATURES]}
    artifacts.save(bucket, cut, booster, meta)
    assert bucket.exists("models/gradient_boosting/2025-01-06/model.txt")
    assert json.loads(bucket.read("models/gradient_boosting/2025-01-06/metadata.json")) == meta
    loaded = artifacts.load(bucket, cut)
    assert loaded is not None and loaded.version == "2025-01-06" and loaded.metadata == meta
    np.testing.assert_array_equal(gbm.raw_predict(loaded.booster, x[:50]),
                                  gbm.raw_predict(booster, x[:50]))
    assert artifacts.cutoffs(bucket) == [cut]


def test_artifact_lookup_and_incomplete_artifacts(tmp_path: Path) -> None:
    bucket = FolderBucket(tmp_path)
    x, y = _training_data()
    booster = gbm.fit(x, y)
    features = [{"index": f.index, "name": f.name, "column": f.column} for f in FEATURES]
    for cut in (date(2024, 12, 30), date(2025, 1, 13)):
        artifacts.save(bucket, cut, booster, {"features": features})
    bucket.write("models/gradient_boosting/2025-01-06/model.txt", b"half written")
    assert artifacts.load(bucket, date(2025, 1, 6)) is None  # no metadata: not an artifact
    assert artifacts.cutoffs(bucket) == [date(2024, 12, 30), date(2025, 1, 13)]
    assert artifacts.newest_on_or_before(bucket, date(2025, 1, 12)) == date(2024, 12, 30)
    assert artifacts.newest_on_or_before(bucket, date(2025, 1, 13)) == date(2025, 1, 13)
    assert artifacts.newest_on_or_before(bucket, date(2024, 12, 29)) is None


def test_stale_or_broken_artifacts_are_terminal(tmp_path: Path) -> None:
    bucket = FolderBucket(tmp_path)
    x, y = _training_data()
    cut = date(2025, 1, 6)
    artifacts.save(bucket, cut, gbm.fit(x, y), {"features": [{"column": "f_old"}]})
    with pytest.raises(TerminalError, match="f_old"):
        artifacts.load(bucket, cut)
    bucket.write(artifacts.metadata_path(cut), b"{not json")
    with pytest.raises(TerminalError, match="broken"):
        artifacts.load(bucket, cut)


# -- output rows ----------------------------------------------------------------------------------

def test_predict_day_without_a_model_gives_both_systems_rows() -> None:
    rows = predict_day([fs_row(f_points_avg_last_5=30.0, f_points_avg_last_10=30.0,
                               f_points_avg_season=30.0)], None)
    assert [r["system_id"] for r in rows] == ["moving_average", "gradient_boosting"]
    assert all(tuple(r) == PLAYER_PROP_PREDICTIONS.column_names for r in rows)
    ma, gb = rows
    assert (ma["predicted_points"], ma["edge"], ma["recommendation"], ma["model_version"]) == (
        30.0, 9.5, "OVER", "formula")
    assert (gb["predicted_points"], gb["recommendation"], gb["reason"], gb["model_version"]) == (
        None, "PASS", "no_model", None)


def test_days_must_be_dates() -> None:
    assert _checked_days([date(2025, 1, 2), date(2025, 1, 1), date(2025, 1, 2)]) == [
        date(2025, 1, 1), date(2025, 1, 2)]
    with pytest.raises(BadInput, match="must be dates"):
        _checked_days(["2025-01-01"])  # type: ignore[list-item]
