"""From a predicted points total and the market line to a pick: OVER / UNDER / PASS / NO_LINE.

Every threshold of phase 5A lives here. The rules, first match wins:

1. no prediction (the gradient-boosting system had no model yet) → PASS, reason ``no_model``;
2. a required feature fell back to its default (``required_default_count > 0``, LESSONS R1
   "zero tolerance") → PASS, reason ``defaulted_features: <names>``;
3. no line (``f_has_line`` is not 1, or the line is missing or not positive) → NO_LINE,
   reason ``no_line``;
4. ``|edge| < EDGE_THRESHOLD`` → PASS, reason ``edge_below_threshold``;
5. otherwise OVER when edge > 0, UNDER when edge < 0; only these two are actionable.

``edge = predicted − line``. ``confidence`` is the probability that the actual points land on the
side of the line the prediction is on, assuming actual ~ Normal(predicted, σ) with σ the player's
points spread over the last 10 games, floored at SIGMA_FLOOR: ``Φ(|edge| / σ)``, in 0.5 … 1.
It is NULL when there is no edge (no line or no prediction).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

EDGE_THRESHOLD = 1.5  # points between prediction and line for an OVER/UNDER pick
SIGMA_FLOOR = 3.0  # smallest points spread used for confidence (L10 spreads of 1 are noise)
MAX_POINTS = 80.0  # predictions are clamped to 0 … MAX_POINTS


class Recommendation(StrEnum):
    """What a system recommends for a player's points line."""

    OVER = "OVER"
    UNDER = "UNDER"
    PASS = "PASS"
    NO_LINE = "NO_LINE"


REASON_NO_MODEL = "no_model"
REASON_NO_LINE = "no_line"
REASON_EDGE = "edge_below_threshold"
REASON_DEFAULTED = "defaulted_features"


@dataclass(frozen=True)
class Pick:
    """The outcome of the pick rules for one (player, date, system)."""

    predicted_points: float | None
    points_line: float | None
    edge: float | None
    recommendation: Recommendation
    confidence: float | None
    reason: str | None

    @property
    def is_actionable(self) -> bool:
        """OVER or UNDER."""
        return self.recommendation in (Recommendation.OVER, Recommendation.UNDER)


def line_of(row: Mapping[str, Any]) -> float | None:
    """The feature-store row's points line: ``f_points_line`` when ``f_has_line`` is 1 and the
    line is a positive number, else None."""
    has, line = row.get("f_has_line"), row.get("f_points_line")
    if has is None or float(has) != 1.0 or line is None or not math.isfinite(float(line)):
        return None
    return float(line) if float(line) > 0 else None


def defaulted_reason(row: Mapping[str, Any]) -> str | None:
    """``defaulted_features: a,b`` when the row has required defaults, else None."""
    count = int(row.get("required_default_count") or 0)
    if count <= 0:
        return None
    names = [n.strip() for n in str(row.get("defaulted_features") or "").split(",") if n.strip()]
    return f"{REASON_DEFAULTED}: {','.join(names) if names else f'{count} required'}"


def confidence(edge: float, points_std: float | None) -> float:
    """``Φ(|edge| / max(points_std, SIGMA_FLOOR))`` rounded to 3 decimals (0.5 … 1)."""
    sigma = max(float(points_std) if points_std is not None else 0.0, SIGMA_FLOOR)
    z = abs(edge) / sigma
    return round(0.5 * (1.0 + math.erf(z / math.sqrt(2.0))), 3)


def clamp_points(value: float) -> float:
    """A raw model output as a points prediction: clamped to 0 … MAX_POINTS, 1 decimal."""
    if not math.isfinite(value):
        raise ValueError(f"prediction is not a finite number: {value!r}")
    return round(min(max(value, 0.0), MAX_POINTS), 1)


def make_pick(predicted: float | None, row: Mapping[str, Any]) -> Pick:
    """Apply the pick rules (module docstring) to one prediction and its feature-store row.

    Args:
        predicted: the system's points prediction (already clamped), None when it has no model.
        row: the feature-store row (``f_points_line``, ``f_has_line``, ``f_points_std_last_10``,
            ``required_default_count``, ``defaulted_features``).
    """
    line = line_of(row)
    return Pick(predicted, line, *decide(predicted, line, defaulted_reason(row),
                                         row.get("f_points_std_last_10")))


def decide(predicted: float | None, line: float | None, defaulted: str | None,
           points_std: float | None) -> tuple[float | None, Recommendation, float | None,
                                                str | None]:
    """``make_pick`` from a row's parts (``line_of``, ``defaulted_reason`` and its L10 points
    spread), worked out once per row for every system: (edge, recommendation, confidence,
    reason)."""
    edge = None if predicted is None or line is None else round(predicted - line, 1)
    conf = None if edge is None else confidence(edge, points_std)
    rec, reason = _decide(predicted, line, edge, defaulted)
    return edge, rec, conf, reason


def _decide(predicted: float | None, line: float | None, edge: float | None,
            defaulted: str | None) -> tuple[Recommendation, str | None]:
    if predicted is None:
        return Recommendation.PASS, REASON_NO_MODEL
    if defaulted is not None:
        return Recommendation.PASS, defaulted
    if line is None or edge is None:
        return Recommendation.NO_LINE, REASON_NO_LINE
    if abs(edge) < EDGE_THRESHOLD:
        return Recommendation.PASS, REASON_EDGE
    return (Recommendation.OVER if edge > 0 else Recommendation.UNDER), None
