"""The ``gradient_boosting`` system's learner: a LightGBM regressor on every catalog feature,
predicting a player's points.

Training is deterministic — fixed seed, ``deterministic``, ``force_row_wise`` and a fixed thread
count — so the same rows always give the same model text. One thread per fit on purpose: the
walk-forward trains several cutoffs side by side on threads instead (``walkforward.py``), and on a
busy 2-core machine a 2-thread fit ran 4× slower than a 1-thread one (OpenMP threads spinning).
The size is modest (80 rounds at learning rate 0.1, 15 leaves, 63 bins): about 0.35 s per fit
on 38k rows. Chosen on the four sample seasons (70 weekly models of 2023-24 and 2024-25, each
scored on the week after its cutoff): the same out-of-sample MAE (4.372) as 200 rounds at 0.05
with 31 leaves (4.373) for a third of the work. The bin edges are placed from a sample of
10,000 rows (seeded) instead of all of them: binning took a fifth of a fit and now a third of
that, for the same MAE (4.3653 vs 4.3652 over 53 weekly models of the same two seasons).
"""

from __future__ import annotations

import platform
from collections.abc import Mapping, Sequence
from operator import itemgetter
from typing import TYPE_CHECKING, Any

import lightgbm as lgb
import numpy as np
import numpy.typing as npt

from backcourt.domain.features import FEATURES
from backcourt.models.picks import MAX_POINTS, clamp_points

if TYPE_CHECKING:
    import pyarrow as pa

SYSTEM_ID = "gradient_boosting"
NUM_BOOST_ROUND = 80
PARAMS: dict[str, Any] = {
    "objective": "regression",
    "learning_rate": 0.1,
    "num_leaves": 15,
    "min_data_in_leaf": 50,
    "feature_fraction": 0.9,
    "bagging_fraction": 0.8,
    "bagging_freq": 1,
    "lambda_l2": 1.0,
    "max_bin": 63,
    "bin_construct_sample_cnt": 10000,
    "seed": 20250101,
    "deterministic": True,
    "force_row_wise": True,
    "num_threads": 1,
    "verbosity": -1,
}

Matrix = npt.NDArray[np.float64]
_COLUMNS = tuple((f.column, f.default) for f in sorted(FEATURES, key=lambda f: f.index))


def feature_names() -> list[str]:
    """The model's input columns, in catalog index order (``f_<name>``)."""
    return [c for c, _ in _COLUMNS]


_NAMES = tuple(c for c, _ in _COLUMNS)
_take = itemgetter(*_NAMES)


def _cells(row: Mapping[str, Any]) -> tuple[Any, ...]:
    try:
        cells: tuple[Any, ...] = _take(row)
    except KeyError:  # a row without some feature column: NULL there
        cells = tuple(row.get(c) for c in _NAMES)
    return cells


def feature_matrix(rows: Sequence[Mapping[str, Any]]) -> Matrix:
    """The rows' features as a float matrix in catalog order; NULL takes the catalog default."""
    out: Matrix = np.asarray([_cells(row) for row in rows], dtype=np.float64).reshape(
        len(rows), len(_NAMES))  # NULL (None) converts to NaN: put the defaults there
    for i, j in zip(*np.nonzero(np.isnan(out)), strict=True):
        if rows[i].get(_NAMES[j]) is None:  # a NaN value itself stays NaN (LightGBM: missing)
            out[i, j] = _COLUMNS[j][1]
    return out


def arrow_matrix(table: pa.Table) -> Matrix:
    """``feature_matrix`` of the rows of an Arrow table (``Warehouse.query_arrow``), column by
    column: the same float64 values, NULL at the catalog default, a NaN value left NaN."""
    import pyarrow as pa

    out: Matrix = np.empty((table.num_rows, len(_NAMES)), dtype=np.float64)
    present = set(table.column_names)
    for j, (name, default) in enumerate(_COLUMNS):
        if name not in present:  # no such column: NULL everywhere
            out[:, j] = default
            continue
        column = table.column(name).cast(pa.float64()).fill_null(
            pa.scalar(float(default), pa.float64()))
        out[:, j] = column.to_numpy()
    return out


def fit(x: Matrix, y: Matrix) -> lgb.Booster:
    """Train the regressor on a feature matrix and the actual points."""
    return fit_scored(x, y)[0]


def fit_scored(x: Matrix, y: Matrix) -> tuple[lgb.Booster, Matrix]:
    """Train the regressor and return it with its raw outputs on the training rows — the
    scores LightGBM keeps while boosting (equal to ``raw_predict(booster, x)``, without a
    second pass over the rows)."""
    if len(x) != len(y) or len(x) == 0:
        raise ValueError(f"cannot train on {len(x)} rows and {len(y)} targets")
    data = lgb.Dataset(x, label=y, feature_name=feature_names(), free_raw_data=True,
                       params={k: PARAMS[k] for k in ("max_bin", "bin_construct_sample_cnt",
                                                        "seed", "verbosity")})
    booster = lgb.train(PARAMS, data, num_boost_round=NUM_BOOST_ROUND,
                        keep_training_booster=True)
    scores: list[Matrix] = []

    def keep(raw: Matrix, _: lgb.Dataset) -> tuple[str, float, bool]:
        scores.append(np.array(raw, dtype=np.float64))
        return "raw", 0.0, False

    booster.eval_train(feval=keep)
    booster.free_dataset()
    return booster, scores[0]


def raw_predict(booster: lgb.Booster, x: Matrix) -> Matrix:
    """The booster's raw outputs for a feature matrix (empty in, empty out)."""
    if len(x) == 0:
        return np.empty(0, dtype=np.float64)
    out: Matrix = np.asarray(booster.predict(x, num_threads=PARAMS["num_threads"]),
                             dtype=np.float64)
    return out


def points(raw: Matrix) -> Matrix:
    """Raw outputs as points, vectorised (for metrics): clamped to 0 … MAX_POINTS, 1 decimal.

    Raises:
        ValueError: an output is not a finite number.
    """
    if not bool(np.all(np.isfinite(raw))):
        raise ValueError("model output holds a non-finite number")
    out: Matrix = np.round(np.clip(raw, 0.0, MAX_POINTS), 1).astype(np.float64, copy=False)
    return out


def predict(booster: lgb.Booster, rows: Sequence[Mapping[str, Any]]) -> list[float]:
    """Points predictions for feature-store rows, clamped and rounded like every system's."""
    return predict_matrix(booster, feature_matrix(rows))


def predict_matrix(booster: lgb.Booster, x: Matrix) -> list[float]:
    """Points predictions for a feature matrix (``feature_matrix``), clamped and rounded like
    every system's."""
    return [clamp_points(v) for v in raw_predict(booster, x).tolist()]


def mae(predicted: Matrix, actual: Matrix) -> float | None:
    """Mean absolute error, rounded to 3 decimals; None for no rows."""
    if len(actual) == 0:
        return None
    return round(float(np.mean(np.abs(predicted - actual))), 3)


def to_text(booster: lgb.Booster) -> str:
    """The LightGBM text dump of a model."""
    text: str = booster.model_to_string()
    return text


def from_text(text: str) -> lgb.Booster:
    """A model from its LightGBM text dump."""
    return lgb.Booster(model_str=text)


def versions() -> dict[str, str]:
    """Library versions recorded with every artifact."""
    return {"lightgbm": lgb.__version__, "numpy": np.__version__,
            "python": platform.python_version()}
