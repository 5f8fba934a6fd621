"""Walk-forward training: one gradient-boosting model per week, trained only on the past.

The cutoff of a game date D is the Monday on or before it (``D − D.weekday()``). The model for
cutoff C is trained on the feature-store rows with ``game_date < C`` of every season in the
warehouse, joined to the actual points of ``player_game_summary`` — played games only (not
``is_dnp``, points present) and rows without required defaults. Its metrics: the training MAE,
and a holdout MAE from a model with the same parameters fitted on the rows before C − 14 days
and evaluated on the last 14 days before C (with the moving-average MAE on the same rows).

A prediction for D uses the artifact of D's cutoff; a missing one is trained and saved then (so a
backfill trains weekly as it goes). With fewer than MIN_TRAIN_ROWS rows there is no model for C;
the newest older artifact is used if one exists, else the system passes with ``no_model``.
Artifacts are immutable: one that exists is loaded, never retrained.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from datetime import date, timedelta
from typing import Any

import numpy as np

from backcourt.domain.features import FEATURES
from backcourt.models import artifacts, baseline, gbm
from backcourt.models.artifacts import Artifact
from backcourt.models.picks import clamp_points
from backcourt.ports import Bucket, Warehouse

log = logging.getLogger(__name__)

MIN_TRAIN_ROWS = 2000
HOLDOUT_DAYS = 14
TRAINING_WINDOW_DAYS = 400  # a rolling window: about the last season and a half of games

_F_COLS = ", ".join(f"f.{c}" for c in gbm.feature_names())
TRAINING_SQL = f"""
SELECT f.game_date, f.player_lookup, {_F_COLS}, p.points AS actual_points
FROM nba_predictions.ml_feature_store AS f
JOIN nba_analytics.player_game_summary AS p
  ON p.game_date = f.game_date AND p.player_lookup = f.player_lookup
WHERE f.game_date < @cutoff
  AND f.game_date >= @since
  AND f.required_default_count = 0
  AND NOT COALESCE(p.is_dnp, FALSE)
  AND p.points IS NOT NULL
ORDER BY f.game_date, f.player_lookup
"""


def cutoff_for(day: date) -> date:
    """The Monday on or before ``day``: the cutoff of the model that predicts it."""
    return day - timedelta(days=day.weekday())


def training_rows(warehouse: Warehouse, cutoff: date) -> list[dict[str, Any]]:
    """The labelled rows a model for ``cutoff`` may learn from, oldest first."""
    since = cutoff - timedelta(days=TRAINING_WINDOW_DAYS)
    return warehouse.query(TRAINING_SQL, {"cutoff": cutoff, "since": since})


def _targets(rows: Sequence[Mapping[str, Any]]) -> gbm.Matrix:
    return np.asarray([float(r["actual_points"]) for r in rows], dtype=np.float64)


def _holdout(rows: Sequence[Mapping[str, Any]], start: date) -> dict[str, Any]:
    early = [r for r in rows if r["game_date"] < start]
    late = [r for r in rows if r["game_date"] >= start]
    metrics: dict[str, Any] = {"holdout_start": start.isoformat(), "holdout_rows": len(late),
                               "holdout_mae": None, "holdout_baseline_mae": None}
    if len(early) < MIN_TRAIN_ROWS or not late:
        return metrics
    booster = gbm.fit(gbm.feature_matrix(early), _targets(early))
    actual = _targets(late)
    metrics["holdout_mae"] = gbm.mae(np.asarray(gbm.predict(booster, late)), actual)
    metrics["holdout_baseline_mae"] = gbm.mae(
        np.asarray([baseline.predict(r) for r in late]), actual)
    return metrics


def _previous_model_holdout(bucket: Bucket, rows: Sequence[Mapping[str, Any]], cutoff: date,
                            ) -> dict[str, Any] | None:
    """Out-of-sample error without another fit: the previous week's model scored on the rows
    it never saw (from its cutoff up to this one). None when there is no previous model."""
    previous = artifacts.newest_on_or_before(bucket, cutoff - timedelta(days=1))
    older = artifacts.load(bucket, previous) if previous else None
    late = [r for r in rows if previous and r["game_date"] >= previous]
    if older is None or previous is None or not late:
        return None
    actual = _targets(late)
    return {"holdout_start": previous.isoformat(), "holdout_rows": len(late),
            "holdout_model": previous.isoformat(),
            "holdout_mae": gbm.mae(np.asarray(gbm.predict(older.booster, late)), actual),
            "holdout_baseline_mae": gbm.mae(np.asarray([baseline.predict(r) for r in late]),
                                            actual)}


def _metadata(cutoff: date, rows: Sequence[Mapping[str, Any]], train_mae: float | None,
              holdout: dict[str, Any], run_id: str) -> dict[str, Any]:
    return {
        "system_id": gbm.SYSTEM_ID,
        "cutoff": cutoff.isoformat(),
        "rows": len(rows),
        "train_first_date": rows[0]["game_date"].isoformat(),
        "train_last_date": rows[-1]["game_date"].isoformat(),
        "target": "nba_analytics.player_game_summary.points (played games, no required "
                  f"defaults, cutoff - {TRAINING_WINDOW_DAYS} days <= game_date < cutoff)",
        "features": [{"index": f.index, "name": f.name, "column": f.column} for f in FEATURES],
        "params": gbm.PARAMS,
        "num_boost_round": gbm.NUM_BOOST_ROUND,
        "metrics": {"train_mae": train_mae, **holdout},
        "versions": gbm.versions(),
        "run_id": run_id,
    }


def train(bucket: Bucket, warehouse: Warehouse, cutoff: date, run_id: str) -> Artifact | None:
    """Train and save the model for ``cutoff``; None (nothing saved) below MIN_TRAIN_ROWS."""
    rows = training_rows(warehouse, cutoff)
    if len(rows) < MIN_TRAIN_ROWS:
        log.info("no %s model for cutoff %s: %d training rows < %d", gbm.SYSTEM_ID, cutoff,
                 len(rows), MIN_TRAIN_ROWS)
        return None
    x, y = gbm.feature_matrix(rows), _targets(rows)
    booster = gbm.fit(x, y)
    train_mae = gbm.mae(np.asarray([clamp_points(v) for v in gbm.raw_predict(booster, x)]),
                        y)
    holdout = _previous_model_holdout(bucket, rows, cutoff) or _holdout(
        rows, cutoff - timedelta(days=HOLDOUT_DAYS))
    log.info("trained %s for cutoff %s on %d rows (train MAE %s, holdout MAE %s)",
             gbm.SYSTEM_ID, cutoff, len(rows), train_mae, holdout["holdout_mae"])
    return artifacts.save(bucket, cutoff, booster,
                          _metadata(cutoff, rows, train_mae, holdout, run_id))


class ModelCache:
    """The model for each game date, loaded or trained at most once per cutoff."""

    def __init__(self, bucket: Bucket, warehouse: Warehouse, run_id: str) -> None:
        self.bucket = bucket
        self.warehouse = warehouse
        self.run_id = run_id
        self._by_cutoff: dict[date, Artifact | None] = {}

    def for_day(self, day: date) -> Artifact | None:
        """The artifact that predicts ``day`` (module docstring), or None: no model."""
        cutoff = cutoff_for(day)
        if cutoff not in self._by_cutoff:
            self._by_cutoff[cutoff] = self._resolve(cutoff)
        return self._by_cutoff[cutoff]

    def _resolve(self, cutoff: date) -> Artifact | None:
        found = artifacts.load(self.bucket, cutoff)
        if found is None:
            found = train(self.bucket, self.warehouse, cutoff, self.run_id)
        if found is None:
            older = artifacts.newest_on_or_before(self.bucket, cutoff)
            found = artifacts.load(self.bucket, older) if older else None
        return found
