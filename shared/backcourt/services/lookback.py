"""The bootstrap rule of the processors that read earlier dates (phase 4 on phase 3).

A processor with ``min_history_dates = N`` needs N earlier game dates of the same season; on the
first N game dates it still writes its rows (features fall back to defaults) but the dates are
recorded ``degraded`` with reason ``bootstrap``. The gate WARNs on them and never BLOCKs, and
predictions from defaulted features are never actionable. Whether a processor may run at all
on a date is readiness (``domain.readiness``), from what it reads.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

from backcourt.domain.calendar import SeasonCalendar
from backcourt.domain.registry import Processor


def bootstrap_dates(proc: Processor, cals: Sequence[SeasonCalendar]) -> list[date]:
    """The processor's first ``min_history_dates`` expected dates of each season."""
    if not proc.min_history_dates:
        return []
    out: list[date] = []
    for cal in cals:
        out += cal.expected_dates(proc)[: proc.min_history_dates]
    return out
