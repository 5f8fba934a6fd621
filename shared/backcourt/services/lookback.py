"""History rules of the processors that read earlier dates (phase 4 on phase 3).

* **Bootstrap**: a processor with ``min_history_dates = N`` needs N earlier game dates of the
  same season; on the first N game dates it still writes its rows (features fall back to
  defaults) but the dates are recorded ``degraded`` with reason ``bootstrap``. The gate WARNs
  on them and never BLOCKs, and predictions from defaulted features are never actionable.
* **Lookback**: a processor with ``lookback_days = K`` runs on D only when every expected date
  of its upstream processors from earlier phases in [D − K days, D) of the same season is
  complete (succeeded, or degraded for bootstrap). Otherwise D is ``blocked`` with reason
  ``lookback_incomplete`` naming the missing (processor, date)s.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, timedelta

from backcourt.domain.calendar import SeasonCalendar
from backcourt.domain.registry import BY_NAME, PHASE_ORDER, Processor
from backcourt.domain.status import State
from backcourt.ports import StatusStore


def bootstrap_dates(proc: Processor, cals: Sequence[SeasonCalendar]) -> list[date]:
    """The processor's first ``min_history_dates`` expected dates of each season."""
    if not proc.min_history_dates:
        return []
    out: list[date] = []
    for cal in cals:
        out += cal.expected_dates(proc)[: proc.min_history_dates]
    return out


def _complete(state: State, reason: str | None) -> bool:
    return state is State.SUCCEEDED or (state is State.DEGRADED and reason == "bootstrap")


def lookback_missing(store: StatusStore, proc: Processor, cal: SeasonCalendar,
                     days: Sequence[date]) -> dict[date, list[str]]:
    """For each of ``days``: the ``processor date`` pairs of its lookback window that are not
    complete (empty list = complete)."""
    if not proc.lookback_days or not days or not cal.days:
        return {}
    mine = PHASE_ORDER.index(proc.phase)
    ups = [BY_NAME[u.processor] for u in proc.upstream
           if PHASE_ORDER.index(BY_NAME[u.processor].phase) < mine]
    window = timedelta(days=proc.lookback_days)
    out: dict[date, list[str]] = {d: [] for d in days}
    for up in ups:
        expected = cal.expected_dates(up)
        docs = {s.game_date: s for s in store.list([up.name], cal.start, cal.end)}
        for d in days:
            for e in expected:
                if d - window <= e < d:
                    doc = docs.get(e)
                    if doc is None or not _complete(doc.state, doc.reason):
                        out[d].append(f"{up.name} {e.isoformat()}")
    return out


def same_phase_blocked(store: StatusStore, proc: Processor, days: Sequence[date],
                       ) -> dict[date, list[str]]:
    """For each of ``days``: same-phase upstream processors (earlier levels, already run) that
    ended blocked or failed on that very date — this processor cannot run on it either."""
    ups = [BY_NAME[u.processor] for u in proc.upstream
           if BY_NAME[u.processor].phase is proc.phase]
    out: dict[date, list[str]] = {d: [] for d in days}
    if not ups or not days:
        return out
    for up in ups:
        docs = {s.game_date: s for s in store.list([up.name], min(days), max(days))}
        for d in days:
            doc = docs.get(d)
            if doc is not None and doc.state in (State.BLOCKED, State.FAILED):
                out[d].append(f"{up.name} {doc.state.value}")
    return out


def same_phase_unfinished(store: StatusStore, proc: Processor, days: Sequence[date],
                          ) -> dict[date, list[str]]:
    """For each of ``days``: same-phase upstream processors still pending or running on that
    date. Once this run's earlier levels are done, that means another run (the daily path, a
    second backfill) holds them: this processor must not read their half-written output, so the
    date is left to that run (which runs it after its upstream)."""
    ups = [u.processor for u in proc.upstream if BY_NAME[u.processor].phase is proc.phase]
    out: dict[date, list[str]] = {}
    wanted = set(days)
    for up in ups if days else []:
        for doc in store.list([up], min(days), max(days)):
            if doc.game_date in wanted and doc.state in (State.PENDING, State.RUNNING):
                out.setdefault(doc.game_date, []).append(f"{up} {doc.state.value}")
    return out
