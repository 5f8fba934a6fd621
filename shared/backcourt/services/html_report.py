"""The HTML status report (``backcourt report``, the ``status`` HTTP function): one
self-contained page built from stored facts (LESSONS R1.3).

``collect`` reads the ports (status store, warehouse) into a ``ReportData``; ``render`` is pure:
it turns a ``ReportData`` into the page (jinja2, autoescaped, template
``templates/report.html.j2``). Every heatmap cell carries ``data-processor``, ``data-date`` and
``data-state`` so tests and scripts can read the page through the DOM.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from backcourt.domain import registry
from backcourt.domain.calendar import SeasonCalendar
from backcourt.domain.errors import BadInput
from backcourt.domain.ids import season_start_year
from backcourt.domain.registry import PHASE_ORDER, Processor
from backcourt.domain.status import GateVerdict, PartitionStatus, RunRecord, State, Verdict
from backcourt.models.quality import SystemQuality, system_quality
from backcourt.ports import Services, StatusStore, Warehouse

MAX_PROBLEMS = 100
"""Non-PASS gate verdicts listed per season (newest first); the rest are counted."""
MAX_NOTE = 300
"""Characters of a cell's reason kept in its tooltip (the gate history has them in full)."""
MAX_RUNS = 50
"""Run records listed (newest first)."""
_NOT_DONE = {State.DEGRADED.value, State.FAILED.value, State.BLOCKED.value}
PHASE_NAMES = {"2": "raw", "3": "analytics", "4": "precompute", "5A": "predictions",
               "5B": "grading", "6": "exports"}


@dataclass(frozen=True)
class DayCell:
    """One processor on one date: its state and why."""

    day: date
    state: str
    date_type: str
    expected: bool
    stored: bool  # False: no status document (not planned yet, or not expected)
    note: str = ""
    attempts: int = 0
    why: str = ""  # short cause of a degraded, failed or blocked date (before any ':')


@dataclass(frozen=True)
class ProcessorRow:
    """One processor over one season's calendar."""

    processor: str
    phase: str
    description: str
    cells: tuple[DayCell, ...]
    rows: int

    def reasons(self) -> dict[str, int]:
        """Degraded, failed and blocked dates counted by cause, most frequent first."""
        out: dict[str, int] = {}
        for c in self.cells:
            if c.why:
                out[c.why] = out.get(c.why, 0) + 1
        return dict(sorted(out.items(), key=lambda kv: (-kv[1], kv[0])))

    def counts(self) -> dict[str, int]:
        """Dates per state."""
        out: dict[str, int] = {}
        for c in self.cells:
            out[c.state] = out.get(c.state, 0) + 1
        return out

    @property
    def expected(self) -> int:
        """Dates the processor must produce."""
        return sum(1 for c in self.cells if c.expected)

    @property
    def complete(self) -> int:
        """Expected dates that succeeded."""
        return sum(1 for c in self.cells if c.expected and c.state == State.SUCCEEDED.value)


@dataclass(frozen=True)
class SeasonReport:
    """Everything the page shows about one season."""

    season: str
    processors: tuple[ProcessorRow, ...] = ()
    gates: dict[str, tuple[GateVerdict, ...]] = field(default_factory=dict)  # latest per date
    problems: tuple[GateVerdict, ...] = ()  # non-PASS history, newest first, bounded
    problems_total: int = 0
    quality: tuple[SystemQuality, ...] = ()
    date_types: dict[str, int] = field(default_factory=dict)

    @property
    def days(self) -> tuple[date, ...]:
        """The season's calendar span (first to last game)."""
        return tuple(c.day for c in self.processors[0].cells) if self.processors else ()


@dataclass(frozen=True)
class ReportData:
    """The input of ``render``."""

    generated_at: datetime
    backend: str
    seasons: tuple[SeasonReport, ...]
    runs: tuple[RunRecord, ...] = ()


def parse_seasons(values: Sequence[str]) -> list[str]:
    """Season names from repeated and/or comma-separated values, validated, in order.

    Raises:
        BadInput: none given, or a value is not a season name like 2024-25.
    """
    names = [v.strip() for value in values for v in value.split(",") if v.strip()]
    if not names:
        raise BadInput("give at least one season, e.g. season=2024-25")
    for name in names:
        season_start_year(name)
    return list(dict.fromkeys(names))


def build_report(services: Services, seasons: Sequence[str]) -> str:
    """The page for these seasons from the services' ports (the CLI and the function)."""
    data = collect(services.status, services.warehouse, seasons, now=services.clock.now(),
                   backend=services.settings.backend)
    return render(data)


def collect(store: StatusStore, warehouse: Warehouse, seasons: Sequence[str], *,
            now: datetime, backend: str = "local") -> ReportData:
    """Read everything the report shows: per season the calendar, status documents, row
    counts, gate verdicts and prediction quality; the newest run records."""
    from backcourt.services.calendar import season_calendar

    out = []
    for name in parse_seasons(seasons):
        cal = season_calendar(warehouse, name)
        out.append(_season(store, warehouse, cal) if cal.days else SeasonReport(name))
    return ReportData(now, backend, tuple(out), tuple(store.runs(MAX_RUNS)))


def _season(store: StatusStore, warehouse: Warehouse, cal: SeasonCalendar) -> SeasonReport:
    procs = sorted(registry.PROCESSORS, key=lambda p: (PHASE_ORDER.index(p.phase), p.level))
    docs = {(d.processor, d.game_date): d for d in store.list(None, cal.start, cal.end)}
    rows = _rows(warehouse, procs, cal.start, cal.end)
    phases = {p.value for p in registry.phases_present()}  # not the per-processor checks
    history = [v for v in store.verdicts(None, cal.start, cal.end) if v.phase in phases]
    latest: dict[tuple[str, date], GateVerdict] = {(v.phase, v.game_date): v for v in history}
    gates = {p.value: tuple(sorted((v for (ph, _), v in latest.items() if ph == p.value),
                                   key=lambda v: v.game_date)) for p in registry.phases_present()}
    problems = [v for v in reversed(history) if v.verdict is not Verdict.PASS]
    return SeasonReport(
        season=cal.season,
        processors=tuple(ProcessorRow(p.name, p.phase.value, p.description,
                                      _cells(cal, p, docs), rows.get(p.name, 0)) for p in procs),
        gates=gates, problems=tuple(problems[:MAX_PROBLEMS]), problems_total=len(problems),
        quality=tuple(system_quality(warehouse, cal.start, cal.end)),
        date_types={k.value: v for k, v in sorted(cal.counts().items())})


def _cells(cal: SeasonCalendar, proc: Processor,
           docs: dict[tuple[str, date], PartitionStatus]) -> tuple[DayCell, ...]:
    out = []
    for day in cal.days:
        expected = day.date_type in proc.applies_to
        doc = docs.get((proc.name, day.game_date))
        kind = day.date_type.value
        if doc is None:
            state = State.PENDING if expected else State.NOT_EXPECTED
            note = ("no status yet: not planned" if expected
                    else f"not expected: {proc.name} does not run on {kind} dates")
            out.append(DayCell(day.game_date, state.value, kind, expected, False, note))
            continue
        why = ((doc.reason or doc.error_kind or "unknown").split(":")[0]
               if doc.state.value in _NOT_DONE else "")
        out.append(DayCell(day.game_date, doc.state.value, kind, expected, True,
                           _note(doc), doc.attempts, why))
    return tuple(out)


def _note(doc: PartitionStatus) -> str:
    """Why a document is in its state, from its stored reason and error."""
    parts = []
    if doc.reason:
        parts.append(doc.reason)
    if doc.error:
        parts.append(f"{doc.error_kind}: {doc.error}" if doc.error_kind else doc.error)
    if doc.rows_written is not None:
        parts.append(f"{doc.rows_written:,} rows written")
    text = "; ".join(parts)
    return text if len(text) <= MAX_NOTE else text[:MAX_NOTE - 1] + "…"


def _rows(warehouse: Warehouse, procs: Sequence[Processor], start: date,
          end: date) -> dict[str, int]:
    """Rows each processor's table holds in the range: one UNION ALL query."""
    parts = [f"SELECT @p{i} AS processor, COUNT(*) AS n FROM {p.table.fqn} "
             "WHERE game_date BETWEEN @s AND @e" for i, p in enumerate(procs)]
    params: dict[str, Any] = {f"p{i}": p.name for i, p in enumerate(procs)}
    got = warehouse.query(" UNION ALL ".join(parts), {**params, "s": start, "e": end})
    return {str(r["processor"]): int(r["n"]) for r in got}


# -- rendering (pure) ------------------------------------------------------------------------

_STATE_RANK = {st: i for i, st in enumerate((
    State.SUCCEEDED, State.DEGRADED, State.FAILED, State.BLOCKED, State.PENDING, State.RUNNING))}
STATES: tuple[tuple[str, str], ...] = tuple(
    (st.value, "complete" if st is State.SUCCEEDED else st.value.replace("_", " "))
    for st in sorted(State, key=lambda st: (st is State.NOT_EXPECTED,
                                            _STATE_RANK.get(st, len(_STATE_RANK))))
)
"""Every state in legend order (value, label): the known ones first, not expected last."""


def render(data: ReportData) -> str:
    """The self-contained HTML page (inline CSS and JS, no external URL)."""
    import jinja2

    env = jinja2.Environment(loader=jinja2.PackageLoader("backcourt", "templates"),
                             autoescape=True, undefined=jinja2.StrictUndefined,
                             trim_blocks=True, lstrip_blocks=True)
    env.filters.update(num=_num, when=_when)
    return env.get_template("report.html.j2").render(
        data=data, states=STATES, phase_names=PHASE_NAMES, totals=_totals(data),
        seasons=[_season_view(s) for s in data.seasons],
        runs=[_run_view(r, data.generated_at) for r in data.runs])


def _totals(data: ReportData) -> dict[str, Any]:
    counts = {s: 0 for s, _ in STATES}
    expected = complete = blocks = warns = 0
    for season in data.seasons:
        for row in season.processors:
            for state, n in row.counts().items():
                counts[state] = counts.get(state, 0) + n
            expected, complete = expected + row.expected, complete + row.complete
        for verdicts in season.gates.values():
            blocks += sum(1 for v in verdicts if v.verdict is Verdict.BLOCK)
            warns += sum(1 for v in verdicts if v.verdict is Verdict.WARN)
    share = complete / expected if expected else None
    return {"counts": counts, "expected": expected, "complete": complete, "share": share,
            "blocks": blocks, "warns": warns}


def _season_view(season: SeasonReport) -> dict[str, Any]:
    days = season.days
    if not days:
        return {"report": season, "empty": True}
    first = days[0] - timedelta(days=days[0].weekday())  # the Monday of the first week
    weeks = (days[-1] - first).days // 7 + 1
    starts = [((d - first).days // 7 + 1, d.strftime("%b"))
              for d in days if d.day == 1 or d == days[0]]
    if len(starts) > 1 and starts[1][0] - starts[0][0] < 3:
        starts = starts[1:]  # the season starts right before a month: keep the month's label
    months = [{"col": col, "label": label} for col, label in starts]
    phases = []
    for phase in PHASE_ORDER:
        rows = [r for r in season.processors if r.phase == phase.value]
        if rows:
            gate = {v.game_date: v for v in season.gates.get(phase.value, ())}
            phases.append({"phase": phase.value, "rows": rows,
                           "gate": [gate.get(d) for d in days], "causes": _causes(gate.values()),
                           "gate_counts": {k.value: sum(1 for v in gate.values() if v.verdict is k)
                                           for k in Verdict}})
    return {"report": season, "empty": False, "pad": days[0].weekday(), "weeks": weeks,
            "months": months, "phases": phases, "days": days, "start": days[0], "end": days[-1]}


def _causes(verdicts: Iterable[GateVerdict]) -> dict[str, int]:
    """Non-PASS dates counted by what their reasons name first (a processor, mostly)."""
    out: dict[str, int] = {}
    for v in verdicts:
        if v.verdict is not Verdict.PASS:
            for cause in {r.split(":")[0].strip() for r in v.reasons} or {"no reason given"}:
                out[cause] = out.get(cause, 0) + 1
    return dict(sorted(out.items(), key=lambda kv: (-kv[1], kv[0])))


def _run_view(run: RunRecord, now: datetime) -> dict[str, Any]:
    end = run.finished_at or (now if run.state == "running" else None)
    seconds = (end - run.started_at).total_seconds() if end else None
    return {"run": run, "duration": _duration(seconds), "seconds": seconds,
            "summary": "; ".join(f"{k}: {json.dumps(v, default=str)}"
                                 for k, v in run.summary.items())}


def _duration(seconds: float | None) -> str:
    if seconds is None:
        return "–"
    s = max(0, round(seconds))
    if s < 60:
        return f"{seconds:.1f} s" if seconds < 10 else f"{s} s"
    if s < 3600:
        return f"{s // 60} min {s % 60:02d} s"
    return f"{s // 3600} h {s % 3600 // 60:02d} min"


def _num(value: float | int | None, fmt: str = "{:,.2f}") -> str:
    return "–" if value is None else fmt.format(value)


def _when(value: datetime | None) -> str:
    return "–" if value is None else value.strftime("%Y-%m-%d %H:%M:%S %Z").strip()
