"""The ``moving_average`` system: a formula on the feature-store row, no training.

::

    base     = 0.5 · points_avg_last_5 + 0.3 · points_avg_last_10 + 0.2 · points_avg_season
    defence  = clamp(opponent_def_rating_last_15 / LEAGUE_DEF_RATING, 0.9, 1.1)
               (a weaker defence — higher rating — scores more against)
    pace     = clamp(1 + pace_score / 100, 0.9, 1.1)
               (pace_score: expected game pace minus the league average, in possessions)
    rest     = −1.0 on a back-to-back, 0 otherwise
    predicted = clamp(base · defence · pace + rest, 0, MAX_POINTS), 1 decimal

A feature that is NULL in the row takes its catalog default (``domain/features.py``).
``model_version`` of this system is ``formula``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import numpy.typing as npt

from backcourt.domain.features import BY_NAME, FEATURES
from backcourt.models.picks import clamp_points

SYSTEM_ID = "moving_average"
VERSION = "formula"
WEIGHTS = {"points_avg_last_5": 0.5, "points_avg_last_10": 0.3, "points_avg_season": 0.2}
LEAGUE_DEF_RATING = 112.0
BACK_TO_BACK_POINTS = -1.0


def feature(row: Mapping[str, Any], name: str) -> float:
    """The value of feature ``name`` in a feature-store row, its catalog default when NULL."""
    spec = BY_NAME[name]
    value = row.get(spec.column)
    return spec.default if value is None else float(value)


def _clamp(value: float, low: float, high: float) -> float:
    return min(max(value, low), high)


def predict(row: Mapping[str, Any]) -> float:
    """The moving-average prediction for one feature-store row (module docstring formula)."""
    base = sum(w * feature(row, name) for name, w in WEIGHTS.items())
    defence = _clamp(feature(row, "opponent_def_rating_last_15") / LEAGUE_DEF_RATING, 0.9, 1.1)
    pace = _clamp(1.0 + feature(row, "pace_score") / 100.0, 0.9, 1.1)
    rest = BACK_TO_BACK_POINTS if feature(row, "back_to_back") >= 1.0 else 0.0
    return clamp_points(base * defence * pace + rest)


_POSITION = {f.name: i for i, f in enumerate(sorted(FEATURES, key=lambda f: f.index))}


def _column(x: npt.NDArray[np.float64], name: str) -> npt.NDArray[np.float64]:
    return x[:, _POSITION[name]]


def predict_matrix(x: npt.NDArray[np.float64]) -> list[float]:
    """``predict`` of every row of a feature matrix in catalog order with NULLs already at their
    defaults (``gbm.feature_matrix``): the same formula with the same floating-point operations
    in the same order, elementwise, so each value equals ``predict`` of its row.

    Raises:
        ValueError: a prediction is not a finite number (``clamp_points``).
    """
    if len(x) == 0:
        return []
    base = np.zeros(len(x), dtype=np.float64)  # sum() starts at 0: 0 + w·f is w·f exactly
    for name, w in WEIGHTS.items():
        base = base + w * _column(x, name)
    ratio = _column(x, "opponent_def_rating_last_15") / LEAGUE_DEF_RATING
    defence = np.minimum(np.maximum(ratio, 0.9), 1.1)  # NaN stays NaN, like _clamp
    pace = np.minimum(np.maximum(1.0 + _column(x, "pace_score") / 100.0, 0.9), 1.1)
    rest = np.where(_column(x, "back_to_back") >= 1.0, BACK_TO_BACK_POINTS, 0.0)
    return [clamp_points(v) for v in (base * defence * pace + rest).tolist()]
