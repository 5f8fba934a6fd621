"""Phase 5A on DuckDB: walk-forward weekly models, no leakage from the predicted date or later,
and the gradient-boosting system beating the moving average where the signal is not in the
averages.

The synthetic world (season 2024, 2024-11-01 … 2025-01-19): 10 teams of 6 players; every player
is scheduled every day against a rotating opponent. A player's points are

    true_mean + 0.6·(opponent_def_rating − 112) + 4·(days_rest ≥ 3) − 4·back_to_back
              + 3·star_teammates_out + Normal(0, 3)      (rounded, ≥ 0)

and 4 % of the rows are DNP. The feature store holds the real rolling averages of the earlier
played games; a player's first 3 games default the three averages (required_default_count 3).
A rookie joins on 2025-01-06 and only ever has defaulted averages.
"""

from __future__ import annotations

import json
import random
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path
from statistics import mean, pstdev
from typing import Any

import pytest

from backcourt.adapters.local.bucket import FolderBucket
from backcourt.adapters.local.duckdb_warehouse import DuckDBWarehouse
from backcourt.domain.dates import date_range
from backcourt.domain.features import FEATURES
from backcourt.domain.tables_analytics import PLAYER_GAME_SUMMARY
from backcourt.domain.tables_precompute import ML_FEATURE_STORE
from backcourt.domain.tables_predictions import PLAYER_PROP_PREDICTIONS, PREDICTION_ACCURACY
from backcourt.models import artifacts, walkforward
from backcourt.models.predict import compute
from backcourt.models.quality import system_quality
from backcourt.models.walkforward import MIN_TRAIN_ROWS
from backcourt.ports import ComputeContext, RowsSource, SqlSource
from backcourt.sql import load_sql

pytestmark = pytest.mark.local

Row = dict[str, Any]
START, END = date(2024, 11, 1), date(2025, 1, 19)
DAYS = list(date_range(START, END))
TEAMS = [f"T{n:02d}" for n in range(10)]
DEF_RATING = {t: 104.0 + 16.0 * n / 9 for n, t in enumerate(TEAMS)}
REQUIRED_AVGS = "points_avg_last_5,points_avg_last_10,points_avg_season"
ROOKIE_FROM = date(2025, 1, 6)


def _opponent(team: int, day: date) -> int:
    shift = 1 + (day - START).days % 9  # a different pairing each day, never oneself
    return (team + shift) % 10


def _features(rng: random.Random, past: list[int], team: str, opp: str) -> Row:
    defaulted = len(past) < 3
    rest = rng.choice([1, 2, 2, 3, 4])
    f: Row = {c.column: c.default for c in FEATURES}
    f.update({
        "f_points_avg_last_5": 10.0 if defaulted else mean(past[-5:]),
        "f_points_avg_last_10": 10.0 if defaulted else mean(past[-10:]),
        "f_points_avg_season": 10.0 if defaulted else mean(past),
        "f_points_std_last_10": 5.0 if len(past) < 2 else pstdev(past[-10:]),
        "f_minutes_avg_last_10": 30.0, "f_games_played_season": float(len(past)),
        "f_opponent_def_rating_last_15": DEF_RATING[opp], "f_days_rest": float(rest),
        "f_back_to_back": float(rest == 1), "f_star_teammates_out": float(rng.random() < 0.2),
        "f_home_game": float(rng.random() < 0.5), "f_pace_score": rng.uniform(-3.0, 3.0),
    })
    if not defaulted and rng.random() < 0.7:
        f["f_points_line"] = round(f["f_points_avg_season"] + rng.uniform(-1.0, 1.0)) + 0.5
        f["f_has_line"] = 1.0
    return f


def _points(rng: random.Random, true_mean: float, f: Row) -> int:
    signal: float = (0.6 * (f["f_opponent_def_rating_last_15"] - 112.0)
              + 4.0 * (f["f_days_rest"] >= 3) - 4.0 * f["f_back_to_back"]
              + 3.0 * f["f_star_teammates_out"])
    return max(0, round(true_mean + signal + rng.gauss(0.0, 3.0)))


def _players() -> Iterator[tuple[str, int, float, date]]:
    rng = random.Random(11)
    for t in range(10):
        for k in range(6):
            yield f"p{t}{k}", t, rng.uniform(6.0, 28.0), START
    yield "rookie", 0, 15.0, ROOKIE_FROM


def world() -> tuple[list[Row], list[Row]]:
    """(feature-store rows, player_game_summary rows), deterministic."""
    rng = random.Random(5)
    fs: list[Row] = []
    pgs: list[Row] = []
    for player, t, true_mean, first in _players():
        past: list[int] = []
        for day in DAYS:
            if day < first:
                continue
            team, opp = TEAMS[t], TEAMS[_opponent(t, day)]
            f = _features(rng, [] if player == "rookie" else past, team, opp)
            dnp = rng.random() < 0.04
            pts = None if dnp else _points(rng, true_mean, f)
            game_id = f"{day:%Y%m%d}_{min(team, opp)}_{max(team, opp)}"
            defaulted = player == "rookie" or len(past) < 3
            fs.append({"game_date": day, "player_lookup": player, "game_id": game_id,
                       "team_abbr": team, "opponent_team_abbr": opp, "season_year": 2024, **f,
                       "required_default_count": 3 if defaulted else 0,
                       "defaulted_features": REQUIRED_AVGS if defaulted else None,
                       "is_bootstrap": defaulted})
            pgs.append({"game_date": day, "game_id": game_id, "season_year": 2024,
                        "player_lookup": player, "team_abbr": team, "opponent_team_abbr": opp,
                        "is_dnp": dnp, "minutes_played": 0.0 if dnp else 30.0, "points": pts})
            if pts is not None:
                past.append(pts)
    return fs, pgs


@pytest.fixture(scope="module")
def data() -> tuple[list[Row], list[Row]]:
    return world()


def _warehouse(path: Path, fs: list[Row], pgs: list[Row]) -> DuckDBWarehouse:
    wh = DuckDBWarehouse(path / "wh.duckdb")
    wh.ensure_tables([ML_FEATURE_STORE, PLAYER_GAME_SUMMARY, PLAYER_PROP_PREDICTIONS,
                      PREDICTION_ACCURACY])
    wh.replace(ML_FEATURE_STORE, DAYS, RowsSource(fs), max_shrink=1.0)
    wh.replace(PLAYER_GAME_SUMMARY, DAYS, RowsSource(pgs), max_shrink=1.0)
    return wh


def _run(wh: DuckDBWarehouse, bucket_dir: Path, days: list[date]) -> list[Row]:
    return compute(ComputeContext(wh, FolderBucket(bucket_dir), days, "run-test"))


def _trainable(fs: list[Row], pgs: list[Row], cutoff: date) -> list[date]:
    """Dates of the rows a model for ``cutoff`` may learn from, counted independently."""
    played = {(p["game_date"], p["player_lookup"]) for p in pgs if p["points"] is not None}
    return [r["game_date"] for r in fs if r["game_date"] < cutoff
            and r["required_default_count"] == 0 and (r["game_date"], r["player_lookup"]) in played]


def _meta(bucket_dir: Path, cutoff: date) -> Row:
    raw = FolderBucket(bucket_dir).read(artifacts.metadata_path(cutoff))
    out: Row = json.loads(raw)
    return out


def test_walk_forward_trains_weekly_on_earlier_rows_only(
        tmp_path: Path, data: tuple[list[Row], list[Row]]) -> None:
    fs, pgs = data
    wh = _warehouse(tmp_path, fs, pgs)
    wed, tue = date(2025, 1, 1), date(2025, 1, 7)
    out = _run(wh, tmp_path / "bucket", [tue, wed])
    fs_rows = [r for r in fs if r["game_date"] in (wed, tue)]
    assert len(out) == 2 * len(fs_rows) == 2 * (60 + 61)  # the rookie joins on Jan 6
    assert out == sorted(out, key=lambda r: (r["game_date"], r["player_lookup"], r["system_id"]))
    assert all(tuple(r) == PLAYER_PROP_PREDICTIONS.column_names for r in out)
    versions = {(r["game_date"], r["model_version"]) for r in out
                if r["system_id"] == "gradient_boosting"}
    assert versions == {(wed, "2024-12-30"), (tue, "2025-01-06")}
    assert {r["model_version"] for r in out if r["system_id"] == "moving_average"} == {"formula"}
    for cutoff in (date(2024, 12, 30), date(2025, 1, 6)):
        meta = _meta(tmp_path / "bucket", cutoff)
        expected = _trainable(fs, pgs, cutoff)
        assert meta["cutoff"] == cutoff.isoformat() and meta["rows"] == len(expected)
        assert meta["train_last_date"] == (cutoff - timedelta(days=1)).isoformat()
        assert meta["train_first_date"] == min(expected).isoformat()
        assert [f["index"] for f in meta["features"]] == list(range(len(FEATURES)))
        assert meta["params"]["deterministic"] is True and "lightgbm" in meta["versions"]
        m = meta["metrics"]
        # The first model refits on its first weeks to measure a holdout; later ones score
        # the previous week's model on the rows it never saw (no second fit).
        start = (cutoff - timedelta(days=14) if cutoff == date(2024, 12, 30)
                 else date(2024, 12, 30))
        assert m["holdout_start"] == start.isoformat()
        assert m["holdout_rows"] == sum(d >= start for d in expected)
        assert 0 < m["train_mae"] < m["holdout_mae"] < m["holdout_baseline_mae"]
    assert artifacts.cutoffs(FolderBucket(tmp_path / "bucket")) == [
        date(2024, 12, 30), date(2025, 1, 6)]


def test_batched_training_matches_one_cutoff_at_a_time(
        tmp_path: Path, data: tuple[list[Row], list[Row]], monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A backfill unit trains its three missing cutoffs in one batch on threads; per-date mode
    trains one cutoff per call. Same predictions, byte-identical artifacts."""
    monkeypatch.setattr(walkforward, "TRAIN_WORKERS", 3)
    wh = _warehouse(tmp_path, *data)
    days = list(date_range(date(2024, 12, 30), date(2025, 1, 19)))
    batched = _run(wh, tmp_path / "batched", days)
    single = [r for d in days for r in _run(wh, tmp_path / "single", [d])]
    assert single == batched
    files = sorted(p.relative_to(tmp_path / "batched").as_posix()
                   for p in (tmp_path / "batched").rglob("*") if p.is_file())
    assert len(files) == 6  # model.txt and metadata.json of 2024-12-30, 2025-01-06, 2025-01-13
    for name in files:
        assert (tmp_path / "batched" / name).read_bytes() == (
            tmp_path / "single" / name).read_bytes(), name


def test_rookie_rows_get_no_pick(tmp_path: Path, data: tuple[list[Row], list[Row]]) -> None:
    wh = _warehouse(tmp_path, *data)
    out = [r for r in _run(wh, tmp_path / "b", [date(2025, 1, 8)])
           if r["player_lookup"] == "rookie"]
    assert len(out) == 2 and all(r["recommendation"] == "PASS" for r in out)
    assert {r["reason"] for r in out} == {f"defaulted_features: {REQUIRED_AVGS}"}
    assert all(r["predicted_points"] is not None and not r["is_actionable"] for r in out)


def _mutate_future(fs: list[Row], pgs: list[Row], day: date) -> tuple[list[Row], list[Row]]:
    rng = random.Random(99)
    new_pgs = [{**p, "points": rng.randint(0, 60) if p["game_date"] >= day else p["points"],
                "is_dnp": p["is_dnp"] if p["game_date"] < day else rng.random() < 0.5}
               for p in pgs]
    new_fs = [r if r["game_date"] <= day else {
        **r, **{f.column: rng.uniform(0.0, 50.0) for f in FEATURES}, "required_default_count": 0}
        for r in fs]
    return new_fs, new_pgs


@pytest.mark.parametrize("day", [date(2025, 1, 6), date(2025, 1, 8)])  # a Monday, a Wednesday
def test_no_leakage_from_the_date_or_later(
        tmp_path: Path, data: tuple[list[Row], list[Row]], day: date) -> None:
    fs, pgs = data
    before = _run(_warehouse(tmp_path / "a", fs, pgs), tmp_path / "bucket_a", [day])
    changed = _run(_warehouse(tmp_path / "b", *_mutate_future(fs, pgs, day)),
                   tmp_path / "bucket_b", [day])
    assert changed == before
    assert FolderBucket(tmp_path / "bucket_b").read(artifacts.model_path(date(2025, 1, 6))) == \
        FolderBucket(tmp_path / "bucket_a").read(artifacts.model_path(date(2025, 1, 6)))
    # the check can fail: a change to the past (before the cutoff) does change the model
    past = [{**p, "points": (p["points"] or 0) + 5} if p["game_date"] < date(2025, 1, 6) else p
            for p in pgs]
    moved = _run(_warehouse(tmp_path / "c", fs, past), tmp_path / "bucket_c", [day])
    gbm_before = [r["predicted_points"] for r in before if r["system_id"] == "gradient_boosting"]
    gbm_moved = [r["predicted_points"] for r in moved if r["system_id"] == "gradient_boosting"]
    assert gbm_moved != gbm_before


def test_existing_artifacts_are_loaded_not_retrained(
        tmp_path: Path, data: tuple[list[Row], list[Row]]) -> None:
    fs, pgs = data
    bucket = tmp_path / "bucket"
    first = _run(_warehouse(tmp_path / "a", fs, pgs), bucket, [date(2025, 1, 8)])
    model = FolderBucket(bucket).read(artifacts.model_path(date(2025, 1, 6)))
    shifted = [{**p, "points": (p["points"] or 0) + 9} for p in pgs]
    again = _run(_warehouse(tmp_path / "b", fs, shifted), bucket, [date(2025, 1, 8)])
    assert again == first
    assert FolderBucket(bucket).read(artifacts.model_path(date(2025, 1, 6))) == model


def test_too_little_history_means_no_model(
        tmp_path: Path, data: tuple[list[Row], list[Row]]) -> None:
    fs, pgs = data
    early = date(2024, 11, 20)
    assert len(_trainable(fs, pgs, date(2024, 11, 18))) < MIN_TRAIN_ROWS
    out = _run(_warehouse(tmp_path, fs, pgs), tmp_path / "bucket", [early])
    gb = [r for r in out if r["system_id"] == "gradient_boosting"]
    assert gb and all(r["recommendation"] == "PASS" and r["reason"] == "no_model"
                      and r["predicted_points"] is None and r["model_version"] is None
                      for r in gb)
    assert all(r["predicted_points"] is not None for r in out if r["system_id"] == "moving_average")
    assert not (tmp_path / "bucket").exists() or not list((tmp_path / "bucket").rglob("*.json"))


def test_falls_back_to_the_newest_older_artifact(
        tmp_path: Path, data: tuple[list[Row], list[Row]]) -> None:
    fs, pgs = data
    wh = _warehouse(tmp_path, fs, pgs)
    _run(wh, tmp_path / "bucket", [date(2025, 1, 1)])  # trains the 2024-12-30 model
    wh.replace(PLAYER_GAME_SUMMARY, DAYS, RowsSource([]), max_shrink=1.0)  # history vanishes
    out = _run(wh, tmp_path / "bucket", [date(2025, 1, 8)])
    assert {r["model_version"] for r in out if r["system_id"] == "gradient_boosting"} == {
        "2024-12-30"}


def test_nothing_to_predict(tmp_path: Path, data: tuple[list[Row], list[Row]]) -> None:
    wh = _warehouse(tmp_path, *data)
    assert _run(wh, tmp_path / "bucket", []) == []
    assert _run(wh, tmp_path / "bucket", [date(2025, 3, 1)]) == []


def _mae(rows: list[Row], actual: dict[tuple[date, str], int], system: str) -> float:
    errs: list[float] = [abs(r["predicted_points"] - actual[(r["game_date"], r["player_lookup"])])
            for r in rows if r["system_id"] == system
            and (r["game_date"], r["player_lookup"]) in actual and r["reason"] != "no_model"]
    return sum(errs) / len(errs)


def test_gradient_boosting_beats_the_moving_average_out_of_sample(
        tmp_path: Path, data: tuple[list[Row], list[Row]]) -> None:
    fs, pgs = data
    wh = _warehouse(tmp_path, fs, pgs)
    week = list(date_range(date(2025, 1, 13), date(2025, 1, 19)))  # after the newest cutoff
    out = _run(wh, tmp_path / "bucket", week)
    defaulted = {(r["game_date"], r["player_lookup"]) for r in fs if r["required_default_count"]}
    actual = {(p["game_date"], p["player_lookup"]): p["points"] for p in pgs
              if p["points"] is not None and p["game_date"] in week
              and (p["game_date"], p["player_lookup"]) not in defaulted}
    gb, ma = _mae(out, actual, "gradient_boosting"), _mae(out, actual, "moving_average")
    assert gb < 0.8 * ma, (gb, ma)
    # graded through the SQL, the quality summary agrees with the errors computed here
    wh.replace(PLAYER_PROP_PREDICTIONS, week, RowsSource(out), max_shrink=1.0)
    wh.replace(PREDICTION_ACCURACY, week, SqlSource(load_sql("prediction_accuracy")),
               max_shrink=1.0)
    quality = {q.system_id: q for q in system_quality(wh, week[0], week[-1])}
    assert set(quality) == {"gradient_boosting", "moving_average"}
    assert quality["gradient_boosting"].mae is not None and quality["moving_average"].mae
    assert quality["gradient_boosting"].mae < quality["moving_average"].mae
    assert quality["gradient_boosting"].graded_rows == len(out) // 2
