"""Coverage reports generated from the status store and the warehouse, never typed by hand
(LESSONS R1.3): the status matrix and ``why`` for one cell."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from backcourt.domain.calendar import SeasonCalendar
from backcourt.domain.registry import PHASE_ORDER, PROCESSORS, Phase, Processor
from backcourt.domain.status import State, Verdict
from backcourt.ports import StatusStore, Warehouse

_NOT_DONE = {State.DEGRADED.value, State.FAILED.value, State.BLOCKED.value,
             State.CANCELLED.value}


@dataclass
class Cell:
    """One processor in one season."""

    processor: str
    phase: str
    season: str
    expected: int = 0
    states: dict[str, int] = field(default_factory=dict)
    rows: int = 0
    reasons: dict[str, int] = field(default_factory=dict)  # why dates are not done

    @property
    def complete(self) -> int:
        """Expected dates that succeeded (degraded ones do not count)."""
        return self.states.get(State.SUCCEEDED.value, 0)

    def as_dict(self) -> dict[str, Any]:
        """JSON form."""
        return {"processor": self.processor, "phase": self.phase, "season": self.season,
                "complete": self.complete, "expected": self.expected, "rows": self.rows,
                "reasons": self.reasons,
                **{s.value: self.states.get(s.value, 0) for s in State}}


def matrix(store: StatusStore, warehouse: Warehouse, cals: Sequence[SeasonCalendar],
           processors: Sequence[Processor] = PROCESSORS) -> list[Cell]:
    """The coverage matrix: per processor and season, dates by state against expected dates,
    with the rows the warehouse holds for the expected dates (phase, then level order)."""
    processors = sorted(processors, key=lambda p: (PHASE_ORDER.index(p.phase), p.level))
    cells = []
    for cal in cals:
        if not cal.days:
            continue
        docs = store.list(None, cal.start, cal.end)
        for proc in processors:
            expected = set(cal.expected_dates(proc))
            cell = Cell(proc.name, proc.phase.value, cal.season, len(expected))
            for st in docs:
                if st.processor == proc.name:
                    key = st.state.value if (st.game_date in expected
                                             or st.state is State.NOT_EXPECTED) else None
                    if key:
                        cell.states[key] = cell.states.get(key, 0) + 1
                    if key in _NOT_DONE:
                        why = (st.reason or st.error_kind or "unknown").split(":")[0]
                        cell.reasons[why] = cell.reasons.get(why, 0) + 1
            cell.states[State.NOT_EXPECTED.value] = len(cal.days) - len(expected)
            seen = sum(v for k, v in cell.states.items() if k != State.NOT_EXPECTED.value)
            cell.states[State.PENDING.value] = (cell.states.get(State.PENDING.value, 0)
                                                + max(0, len(expected) - seen))
            cell.rows = _rows(warehouse, proc, cal.start, cal.end)
            cells.append(cell)
    return cells


def _rows(warehouse: Warehouse, proc: Processor, start: date, end: date) -> int:
    got = warehouse.query(
        f"SELECT COUNT(*) AS n FROM {proc.table.fqn} WHERE game_date BETWEEN @s AND @e",
        {"s": start, "e": end},
    )
    return int(got[0]["n"]) if got else 0


def gate_summary(store: StatusStore, phase: Phase, cal: SeasonCalendar) -> dict[str, int]:
    """Latest gate verdict per date of the season, counted by verdict."""
    latest: dict[date, Verdict] = {}
    if not cal.days:
        return {}
    for v in store.verdicts(phase.value, cal.start, cal.end):
        latest[v.game_date] = v.verdict
    out: dict[str, int] = {}
    for verdict in latest.values():
        out[verdict.value] = out.get(verdict.value, 0) + 1
    return out


def why(store: StatusStore, cal: SeasonCalendar, proc: Processor, day: date) -> list[str]:
    """Explain one cell of the matrix from stored facts."""
    calday = cal.day(day)
    lines = [f"{proc.name} on {day.isoformat()} ({cal.season}, date type {calday.date_type})"]
    if calday.date_type not in proc.applies_to:
        games = len(calday.games)
        lines.append(f"not expected: {proc.name} applies to "
                     f"{', '.join(sorted(t.value for t in proc.applies_to))}; this date is "
                     f"{calday.date_type.value} with {games} game(s)")
        return lines
    lines.append(f"expected: {len(calday.games)} game(s) on the schedule")
    st = store.get(proc.name, day)
    if st is None:
        lines.append("no status yet: never planned (run a backfill covering this date)")
        return lines
    lines.append(f"state: {st.state.value} after {st.attempts} attempt(s)"
                 + (f", run {st.run_id}" if st.run_id else ""))
    if st.rows_written is not None:
        lines.append(f"rows written: {st.rows_written}")
    if st.reason:
        lines.append(f"reason: {st.reason}")
    if st.error:
        lines.append(f"error ({st.error_kind}): {st.error}" if st.error_kind
                     else f"note: {st.error}")
    if st.state is State.RUNNING:
        lines.append(f"leased by {st.lease_owner} until {st.lease_expires_at}")
    verdicts = store.verdicts(proc.phase.value, day, day)
    if verdicts:
        v = verdicts[-1]
        lines.append(f"gate (phase {v.phase}): {v.verdict.value}")
        mine = v.metrics.get(proc.name)
        if mine:
            lines.append(f"  measured {mine.get('actual')} rows, expected {mine.get('expected')}, "
                         f"{mine.get('duplicates')} duplicate key(s)")
        lines += [f"  {r}" for r in v.reasons if r.startswith(proc.name + ":")]
    return lines


def not_expected_spans(cal: SeasonCalendar, proc: Processor) -> list[str]:
    """Human summary of a processor's not-expected dates: breaks of 3+ days are listed with
    their types (an All-Star break is named), the rest are counted by type."""
    from backcourt.domain.dates import runs
    from backcourt.domain.registry import DateType

    days = cal.not_expected_dates(proc)
    types = {d.game_date: d.date_type for d in cal.days}
    lines: list[str] = []
    singles: dict[str, int] = {}
    for start, end in runs(days):
        kinds = sorted({types[d].value for d in types if start <= d <= end})
        if (end - start).days >= 2:
            name = ("All-Star break" if DateType.ALL_STAR.value in kinds
                    else "preseason" if DateType.PRESEASON.value in kinds else "no games")
            lines.append(f"{name} {start} – {end} ({(end - start).days + 1} dates: "
                         f"{', '.join(kinds)})")
        else:
            for d in types:
                if start <= d <= end:
                    singles[types[d].value] = singles.get(types[d].value, 0) + 1
    if singles:
        lines.append("single dates: " + ", ".join(f"{k} {v}" for k, v in sorted(singles.items())))
    return lines
