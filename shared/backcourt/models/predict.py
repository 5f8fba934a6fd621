"""Phase 5A, ``player_prop_predictions``: two rows per feature-store row, one per system.

Systems: ``moving_average`` (a formula, ``models/baseline.py``) and ``gradient_boosting``
(LightGBM, walk-forward weekly models, ``models/walkforward.py``). Each prediction goes through
the same pick rules (``models/picks.py``). The feature store is read with one query for the
whole date range; the output is sorted by (game_date, player_lookup, system_id) and depends only
on the feature-store rows of ``ctx.days`` and on models trained on dates before them.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator, Sequence
from datetime import date, datetime
from itertools import groupby
from typing import Any

from backcourt.domain.errors import BadInput, TerminalError
from backcourt.models import baseline, gbm
from backcourt.models.artifacts import Artifact
from backcourt.models.picks import Recommendation, decide, defaulted_reason, line_of
from backcourt.models.walkforward import ModelCache, cutoff_for
from backcourt.ports import ComputeContext, Warehouse

SYSTEMS: tuple[str, ...] = (baseline.SYSTEM_ID, gbm.SYSTEM_ID)
FEATURE_STORE_SQL = f"""
SELECT game_date, player_lookup, game_id, team_abbr, {", ".join(gbm.feature_names())},
       required_default_count, defaulted_features
FROM nba_predictions.ml_feature_store
WHERE game_date BETWEEN @s AND @e
ORDER BY game_date, player_lookup
"""

Row = dict[str, Any]
_ACTIONABLE = (Recommendation.OVER, Recommendation.UNDER)


def _checked_days(days: Sequence[date]) -> list[date]:
    bad = [d for d in days if not isinstance(d, date) or isinstance(d, datetime)]
    if bad:
        raise BadInput(f"prediction days must be dates, got {bad[:3]!r}")
    return sorted(set(days))


# the columns the output rows and the pick rules read (``_outputs``): the only ones made into
# Python objects; the model inputs go from the Arrow columns straight into the feature matrix
_ROW_COLUMNS = ("game_date", "player_lookup", "game_id", "team_abbr", "f_has_line",
                "f_points_line", "f_points_std_last_10", "required_default_count",
                "defaulted_features")


def feature_rows(warehouse: Warehouse, days: Sequence[date]) -> tuple[list[Row], gbm.Matrix]:
    """The feature-store rows of ``days`` (one query over their range), sorted, with the
    columns the output rows need, and their feature matrix (``gbm.feature_matrix``).

    Raises:
        TerminalError: the feature store holds two rows for one (game_date, player_lookup).
    """
    import pyarrow as pa
    import pyarrow.compute as pc

    table = warehouse.query_arrow(FEATURE_STORE_SQL, {"s": min(days), "e": max(days)})
    table = table.filter(pc.is_in(table.column("game_date"),
                                  value_set=pa.array(sorted(set(days)), pa.date32())))
    columns = [table.column(c).to_pylist() for c in _ROW_COLUMNS]
    rows = [dict(zip(_ROW_COLUMNS, cells, strict=True)) for cells in zip(*columns, strict=True)]
    counts = Counter((r["game_date"], r["player_lookup"]) for r in rows)
    dupes = sorted(k for k, n in counts.items() if n > 1)[:3]
    if dupes:
        raise TerminalError(f"ml_feature_store has duplicate rows for {dupes}")
    return rows, gbm.arrow_matrix(table)


def _by_day(rows: list[Row]) -> Iterator[tuple[date, int, int]]:
    """Each date of rows sorted by date, with the [start, end) of its rows."""
    start = 0
    for day, group in groupby(rows, key=lambda r: r["game_date"]):
        end = start + sum(1 for _ in group)
        yield day, start, end
        start = end


def _outputs(row: Row, systems: Sequence[tuple[str, float | None, str | None]]) -> list[Row]:
    """One output row per (system_id, prediction, model_version) for a feature-store row; the
    row's line, defaults and spread are read once for all systems (``picks.decide``)."""
    line, defaulted = line_of(row), defaulted_reason(row)
    spread = row.get("f_points_std_last_10")
    out: list[Row] = []
    for system_id, predicted, version in systems:
        edge, rec, conf, reason = decide(predicted, line, defaulted, spread)
        out.append({
            "game_date": row["game_date"],
            "player_lookup": row["player_lookup"],
            "system_id": system_id,
            "game_id": row["game_id"],
            "team_abbr": row.get("team_abbr"),
            "predicted_points": predicted,
            "points_line": line,
            "edge": edge,
            "recommendation": rec.value,
            "confidence": conf,
            "is_actionable": rec in _ACTIONABLE,
            "reason": reason,
            "model_version": version,
        })
    return out


def predict_rows(rows: Sequence[Row], x: gbm.Matrix, model: Artifact | None) -> list[Row]:
    """Both systems' prediction rows for feature-store rows and their feature matrix
    (``gbm.feature_matrix``): each system predicts all of them at once."""
    moving = baseline.predict_matrix(x)
    learned: list[float | None] = (
        list(gbm.predict_matrix(model.booster, x)) if model else [None] * len(rows))
    version = model.version if model else None
    out: list[Row] = []
    for row, m, g in zip(rows, moving, learned, strict=True):
        out += _outputs(row, ((baseline.SYSTEM_ID, m, baseline.VERSION),
                              (gbm.SYSTEM_ID, g, version)))
    return out


def predict_day(rows: list[Row], model: Artifact | None) -> list[Row]:
    """Both systems' prediction rows for one date's feature-store rows."""
    return predict_rows(rows, gbm.feature_matrix(rows), model)


def compute(ctx: ComputeContext) -> list[Row]:
    """The ``player_prop_predictions`` rows for ``ctx.days`` (2 per feature-store row).

    Models missing for a date's weekly cutoff are trained and saved in ``ctx.bucket``.

    Raises:
        BadInput: ``ctx.days`` holds something other than dates.
        TerminalError: duplicate feature-store rows, a broken or stale model artifact.
    """
    days = _checked_days(ctx.days)
    if not days:
        return []
    models = ModelCache(ctx.bucket, ctx.warehouse, ctx.run_id)
    rows, x = feature_rows(ctx.warehouse, days)
    # rows are sorted by date, so a week's rows are one [start, end) range
    by_cutoff: dict[date, list[tuple[date, int, int]]] = {}
    for day, start, end in _by_day(rows):
        by_cutoff.setdefault(cutoff_for(day), []).append((day, start, end))
    out: list[Row] = []
    # the missing cutoffs train in one batch; each week is predicted (in one call per system)
    # as soon as its model is saved, while the later weeks' models are still fitting
    for cutoff, model in models.ready(d for week in by_cutoff.values() for d, _, _ in week):
        lo, hi = by_cutoff[cutoff][0][1], by_cutoff[cutoff][-1][2]
        out.extend(predict_rows(rows[lo:hi], x[lo:hi], model))
    return sorted(out, key=lambda r: (r["game_date"], r["player_lookup"], r["system_id"]))
