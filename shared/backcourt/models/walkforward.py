"""Walk-forward training: one gradient-boosting model per week, trained only on the past.

The cutoff of a game date D is the Monday on or before it (``D − D.weekday()``). The model for
cutoff C is trained on the feature-store rows with ``C − TRAINING_WINDOW_DAYS ≤ game_date < C``
of every season in the warehouse, joined to the actual points of ``player_game_summary`` —
played games only (not ``is_dnp``, points present) and rows without required defaults. Its
metrics: the training MAE, and a holdout MAE — the previous model scored on the rows it never
saw (from its cutoff up to C), or, for a first model, a model with the same parameters fitted on
the rows before C − 14 days and evaluated on the last 14 days before C — each with the
moving-average MAE on the same rows.

A prediction for D uses the artifact of D's cutoff; a missing one is trained and saved then (so a
backfill trains weekly as it goes). With fewer than MIN_TRAIN_ROWS rows there is no model for C;
the newest older artifact is used if one exists, else the system passes with ``no_model``.
Artifacts are immutable: one that exists is loaded, never retrained.

Training is batched: the missing cutoffs of a unit of work read their labelled rows with two
queries — the first cutoff's window, whose fit starts at once, then the days the later cutoffs
add (each cutoff takes the same rows, in the same order, as a query of its own would give),
the models are fitted side by side on up to TRAIN_WORKERS threads (LightGBM releases the GIL;
each fit uses one thread and a fixed seed), then metrics are computed and artifacts saved in
cutoff order, each handed to the caller as soon as it is saved (``train_iter``,
``ModelCache.ready``: phase 5A predicts a week while the later weeks are still fitting). A model
depends only on its rows and the parameters, so the artifacts are byte-identical whatever the
number of threads or the size of the batch.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterable, Iterator, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import date, timedelta
from typing import TYPE_CHECKING, Any

import lightgbm as lgb
import numpy as np
import numpy.typing as npt

from backcourt.domain.features import FEATURES
from backcourt.domain.registry import MODEL_WINDOW_DAYS
from backcourt.models import artifacts, baseline, gbm
from backcourt.models.artifacts import Artifact
from backcourt.ports import Bucket, Warehouse

if TYPE_CHECKING:
    import pyarrow as pa

log = logging.getLogger(__name__)

MIN_TRAIN_ROWS = 2000
HOLDOUT_DAYS = 14
TRAINING_WINDOW_DAYS = MODEL_WINDOW_DAYS  # about the last season and a half of games
TRAIN_WORKERS = max(1, min(4, os.cpu_count() or 1))  # fits side by side, one thread each

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

Row = Mapping[str, Any]
_EPOCH_ORDINAL = date(1970, 1, 1).toordinal()


def cutoff_for(day: date) -> date:
    """The Monday on or before ``day``: the cutoff of the model that predicts it."""
    return day - timedelta(days=day.weekday())


def window_start(cutoff: date) -> date:
    """The first game date a model for ``cutoff`` may learn from."""
    return cutoff - timedelta(days=TRAINING_WINDOW_DAYS)


@dataclass(frozen=True)
class Labelled:
    """Labelled feature-store rows, oldest first: their feature matrix, targets and dates."""

    x: gbm.Matrix
    y: gbm.Matrix
    days: npt.NDArray[np.int64]  # each row's game_date as an ordinal, ascending

    def __post_init__(self) -> None:
        if len(self.days) > 1 and bool(np.any(np.diff(self.days) < 0)):
            raise ValueError("labelled rows must be sorted by game_date")

    @classmethod
    def of(cls, rows: Sequence[Row]) -> Labelled:
        """Matrix, targets and date index of row dicts sorted by game_date."""
        days = np.fromiter((r["game_date"].toordinal() for r in rows), dtype=np.int64,
                           count=len(rows))
        targets = np.fromiter((float(r["actual_points"]) for r in rows), dtype=np.float64,
                              count=len(rows))
        return cls(gbm.feature_matrix(rows), targets, days)

    @classmethod
    def of_arrow(cls, table: pa.Table) -> Labelled:
        """``of`` the rows of an Arrow table (``Warehouse.query_arrow``), column by column."""
        import pyarrow as pa

        days = (table.column("game_date").cast(pa.int32()).to_numpy().astype(np.int64)
                + _EPOCH_ORDINAL)  # date32 counts days since 1970-01-01
        targets = table.column("actual_points").cast(pa.float64()).to_numpy().astype(
            np.float64, copy=False)
        return cls(gbm.arrow_matrix(table), targets, days)

    def __len__(self) -> int:
        return len(self.days)

    def first_date(self) -> date:
        """The game_date of the oldest row."""
        return date.fromordinal(int(self.days[0]))

    def last_date(self) -> date:
        """The game_date of the newest row."""
        return date.fromordinal(int(self.days[-1]))

    def joined(self, later: Labelled) -> Labelled:
        """These rows followed by ``later``'s (all on or after the last of these)."""
        if len(self) and len(later) and later.days[0] < self.days[-1]:
            raise ValueError("labelled rows must be sorted by game_date")
        return Labelled(np.concatenate([self.x, later.x]),
                        np.concatenate([self.y, later.y]),
                        np.concatenate([self.days, later.days]))

    def between(self, start: date, end: date) -> Labelled:
        """The rows with ``start ≤ game_date < end`` (same order)."""
        lo, hi = (int(i) for i in np.searchsorted(
            self.days, [start.toordinal(), end.toordinal()], side="left"))
        return Labelled(self.x[lo:hi], self.y[lo:hi], self.days[lo:hi])


def labelled_rows(warehouse: Warehouse, start: date, end: date) -> Labelled:
    """The labelled rows models may learn from with ``start ≤ game_date < end``, oldest first."""
    return Labelled.of_arrow(warehouse.query_arrow(TRAINING_SQL, {"cutoff": end, "since": start}))


def training_rows(warehouse: Warehouse, cutoff: date) -> Labelled:
    """The labelled rows a model for ``cutoff`` may learn from, oldest first."""
    return labelled_rows(warehouse, window_start(cutoff), cutoff)


def _scores(booster: lgb.Booster, data: Labelled) -> dict[str, float | None]:
    """MAE of a model and of the moving average on ``data``."""
    predicted = gbm.points(gbm.raw_predict(booster, data.x))
    moving = np.asarray(baseline.predict_matrix(data.x), dtype=np.float64)
    return {"holdout_mae": gbm.mae(predicted, data.y),
            "holdout_baseline_mae": gbm.mae(moving, data.y)}


def _fit(data: Labelled) -> tuple[lgb.Booster, float | None]:
    """A model fitted on ``data`` and its training MAE."""
    booster, scores = gbm.fit_scored(data.x, data.y)
    return booster, gbm.mae(gbm.points(scores), data.y)


def _refit_holdout(data: Labelled, cutoff: date) -> dict[str, Any]:
    """Holdout metrics of a first model: refit on the rows before cutoff − HOLDOUT_DAYS,
    scored on the rest (no scores when either side is too small)."""
    start = cutoff - timedelta(days=HOLDOUT_DAYS)
    early, late = data.between(date.min, start), data.between(start, cutoff)
    metrics: dict[str, Any] = {"holdout_start": start.isoformat(), "holdout_rows": len(late),
                               "holdout_mae": None, "holdout_baseline_mae": None}
    if len(early) < MIN_TRAIN_ROWS or not len(late):
        return metrics
    return {**metrics, **_scores(gbm.fit(early.x, early.y), late)}


def _previous_holdout(previous: Artifact, data: Labelled, cutoff: date) -> dict[str, Any]:
    """Out-of-sample error without another fit: the previous model scored on the rows it never
    saw (from its cutoff up to this one)."""
    late = data.between(previous.cutoff, cutoff)
    return {"holdout_start": previous.version, "holdout_rows": len(late),
            "holdout_model": previous.version, **_scores(previous.booster, late)}


def _metadata(cutoff: date, data: Labelled, train_mae: float | None,
              holdout: dict[str, Any], run_id: str) -> dict[str, Any]:
    return {
        "system_id": gbm.SYSTEM_ID,
        "cutoff": cutoff.isoformat(),
        "rows": len(data),
        "train_first_date": data.first_date().isoformat(),
        "train_last_date": data.last_date().isoformat(),
        "target": "nba_analytics.player_game_summary.points (played games, no required "
                  f"defaults, cutoff - {TRAINING_WINDOW_DAYS} days <= game_date < cutoff)",
        "features": [{"index": f.index, "name": f.name, "column": f.column} for f in FEATURES],
        "params": gbm.PARAMS,
        "num_boost_round": gbm.NUM_BOOST_ROUND,
        "metrics": {"train_mae": train_mae, **holdout},
        "versions": gbm.versions(),
        "run_id": run_id,
    }


def _previous_cutoffs(cutoffs: Sequence[date], existing: Iterable[date]) -> dict[date, date | None]:
    """For each cutoff, the newest earlier cutoff among ``existing`` and ``cutoffs``."""
    known = sorted(set(existing) | set(cutoffs))
    out: dict[date, date | None] = {}
    for c in cutoffs:
        older = [k for k in known if k < c]
        out[c] = older[-1] if older else None
    return out


def train_iter(bucket: Bucket, warehouse: Warehouse, cutoffs: Iterable[date], run_id: str,
               workers: int = TRAIN_WORKERS) -> Iterator[tuple[date, Artifact | None]]:
    """Train and save the models of ``cutoffs`` (module docstring, "batched"), yielding each
    cutoff in order with its new artifact as soon as it is saved — None for a cutoff with fewer
    than MIN_TRAIN_ROWS rows — while the later fits go on in the pool: the caller can use the
    first models meanwhile."""
    wanted = sorted(set(cutoffs))
    if not wanted:
        return
    first, existing = wanted[0], artifacts.cutoffs(bucket)
    with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
        fits: dict[date, Future[tuple[lgb.Booster, float | None]]] = {}
        refits: dict[date, Future[dict[str, Any]]] = {}
        # The first cutoff's rows (most of the batch's) are read on their own: its fit starts
        # while the rows the later cutoffs add are read. Same decisions as for the others below.
        head = labelled_rows(warehouse, window_start(first), first)
        if len(head) >= MIN_TRAIN_ROWS:
            fits[first] = pool.submit(_fit, head)
            before = _previous_cutoffs([first], existing)[first]
            if not (before and len(head.between(before, first))):
                refits[first] = pool.submit(_refit_holdout, head, first)
        everything = head.joined(labelled_rows(warehouse, first, wanted[-1])) if len(
            wanted) > 1 else head
        sets = {c: everything.between(window_start(c), c) for c in wanted}
        for c in wanted:
            if len(sets[c]) < MIN_TRAIN_ROWS:
                log.info("no %s model for cutoff %s: %d training rows < %d", gbm.SYSTEM_ID, c,
                         len(sets[c]), MIN_TRAIN_ROWS)
        ok = [c for c in wanted if len(sets[c]) >= MIN_TRAIN_ROWS]
        previous = _previous_cutoffs(ok, existing)
        scored = {c: p for c, p in previous.items() if p and len(sets[c].between(p, c))}
        for c in ok:
            if c not in fits:
                fits[c] = pool.submit(_fit, sets[c])
        for c in ok:
            if c not in scored and c not in refits:
                refits[c] = pool.submit(_refit_holdout, sets[c], c)
        out: dict[date, Artifact] = {}
        for c in wanted:  # in cutoff order: a model's holdout may score the one before it
            if c not in fits:
                yield c, None
                continue
            booster, train_mae = fits[c].result()
            holdout = refits[c].result() if c in refits else _previous_holdout(
                _artifact(bucket, out, scored[c]), sets[c], c)
            log.info("trained %s for cutoff %s on %d rows (train MAE %s, holdout MAE %s)",
                     gbm.SYSTEM_ID, c, len(sets[c]), train_mae, holdout["holdout_mae"])
            out[c] = artifacts.save(bucket, c, booster,
                                    _metadata(c, sets[c], train_mae, holdout, run_id))
            yield c, out[c]


def _artifact(bucket: Bucket, fresh: Mapping[date, Artifact], cutoff: date) -> Artifact:
    found = fresh.get(cutoff) or artifacts.load(bucket, cutoff)
    if found is None:
        raise FileNotFoundError(f"model artifact {artifacts.PREFIX}/{cutoff} vanished")
    return found


class ModelCache:
    """The model for each game date, loaded or trained at most once per cutoff."""

    def __init__(self, bucket: Bucket, warehouse: Warehouse, run_id: str,
                 workers: int | None = None) -> None:
        self.bucket = bucket
        self.warehouse = warehouse
        self.run_id = run_id
        self.workers = TRAIN_WORKERS if workers is None else workers
        self._by_cutoff: dict[date, Artifact | None] = {}

    def ready(self, days: Iterable[date]) -> Iterator[tuple[date, Artifact | None]]:
        """Each cutoff of ``days`` in order with the artifact that predicts its dates (module
        docstring): the missing ones trained in one batch and yielded as each is saved, else the
        saved one, else the newest older one, else None (no model)."""
        cutoffs = sorted({cutoff_for(d) for d in days})
        existing = set(artifacts.cutoffs(self.bucket))
        missing = [c for c in cutoffs if c not in self._by_cutoff and c not in existing]
        trained = train_iter(self.bucket, self.warehouse, missing, self.run_id, self.workers)
        for c in cutoffs:
            if c not in self._by_cutoff:
                found = next(trained)[1] if c in missing else artifacts.load(self.bucket, c)
                if found is None:
                    older = artifacts.newest_on_or_before(self.bucket, c)
                    found = artifacts.load(self.bucket, older) if older else None
                self._by_cutoff[c] = found
            yield c, self._by_cutoff[c]
