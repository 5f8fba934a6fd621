"""``backcourt plan``: what a backfill would do, without doing it.

The protocol's own steps on a ``PreviewStore`` (writes go to an in-memory overlay): the plan of
each phase, then readiness (``domain.readiness``) for every planned date in level order, as
the run would decide it. What would run is assumed to succeed and pass its gate, so the next
level and phase are planned and decided against the same inputs the run would find; every
phase after one that this preview decides is marked ``depends_on`` it (its numbers are then the
most it can run). Until the schedule is loaded no other processor has expected dates.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import date

from backcourt.domain.calendar import SeasonCalendar
from backcourt.domain.ids import season_bounds
from backcourt.domain.readiness import Decision, Reads, decide
from backcourt.domain.registry import PHASE_ORDER, Phase, Processor, of_phase
from backcourt.domain.status import GateVerdict, PartitionStatus, State, Verdict
from backcourt.ports import Services
from backcourt.services import protocol
from backcourt.services.calendar import calendars
from backcourt.services.gate import phase_unmeasured, unmeasured
from backcourt.services.inputs import input_docs
from backcourt.services.plan import PreviewStore, ProcessorPlan, Unit, Window
from backcourt.services.protocol import Scope

PREVIEW_RUN = "plan-preview"


@dataclass
class ProcessorPreview:
    """What a backfill would do for one processor (counts over the window's expected dates)."""

    processor: Processor
    expected: int = 0
    complete: int = 0
    not_expected: int = 0
    to_run: list[date] = field(default_factory=list)
    units: list[Unit] = field(default_factory=list)
    left: dict[str, int] = field(default_factory=dict)
    """Expected dates neither complete nor to run, by state (blocked, failed, degraded, …)."""
    reasons: dict[str, int] = field(default_factory=dict)
    """Why those dates are left (the first word of their reason), e.g. ``lookback_incomplete``."""
    depends_on: str | None = None
    """Set when the dates depend on something this run decides first (an upstream gate, the
    schedule load): ``to_run`` is then what runs if that passes everywhere (at most)."""


@dataclass
class PhasePreview:
    """One phase of a plan."""

    phase: Phase
    processors: list[ProcessorPreview] = field(default_factory=list)
    depends_on: str | None = None

    @property
    def to_run(self) -> int:
        """Processor-dates to run in this phase."""
        return sum(len(p.to_run) for p in self.processors)


@dataclass
class RunPreview:
    """What ``backfill`` would do over these seasons, phases and window."""

    seasons: list[str]
    phases: list[PhasePreview]
    window: Window
    force: bool

    def units(self) -> list[Unit]:
        """Every planned unit, in run order."""
        return [u for ph in self.phases for p in ph.processors for u in p.units]


def preview(services: Services, seasons: Sequence[str], phases: Sequence[Phase], window: Window,
            *, force: bool = False) -> RunPreview:
    """Plan a backfill without doing it (module docstring)."""
    for season in seasons:
        season_bounds(season)
    store = PreviewStore(services.status)
    view = replace(services, status=store)
    scope = Scope(tuple(seasons), window)
    out = RunPreview(list(seasons), [], window, force)
    decided: set[Phase] = set()
    schedule_load = ""  # set once the plan loads the schedule: later dates may change
    for phase in phases:
        cals = calendars(services.warehouse, seasons)
        before = [p for p in PHASE_ORDER[:PHASE_ORDER.index(phase)] if p in decided]
        pp = PhasePreview(phase, depends_on=(f"phase {before[-1].value} gate" if before
                                             else None))
        units: list[Unit] = []
        runs: dict[str, set[date]] = {}
        replan = False
        while True:  # as the run does: once the schedule is loaded, plan again
            _assume_caught_up(store, phase, scope, cals)
            planned = protocol.plan(view, phase, scope, force=force, run_id=PREVIEW_RUN,
                                    group="processor", measure=False)
            for name, ran in _decide_waves(store, planned.waves, cals).items():
                runs.setdefault(name, set()).update(ran)
            units += planned.units
            replan = replan or planned.replan
            if not planned.replan:
                break
        by_proc: dict[str, ProcessorPlan] = {}
        for unit in units:
            plan = by_proc.setdefault(unit.processor.name, ProcessorPlan(unit.processor))
            ran = runs.get(unit.processor.name, set())
            plan.units.append(Unit(unit.processor, tuple(d for d in unit.days if d in ran)))
        for proc in of_phase(phase):
            plan = by_proc.get(proc.name, ProcessorPlan(proc))
            plan.units = [u for u in plan.units if u.days]
            pp.processors.append(_processor_preview(store, proc, plan, cals, window,
                                                    pp.depends_on))
        no_schedule = [c.season for c in cals if not c.days]
        if replan:
            schedule_load = "the schedule is loaded (it may add or remove dates)"
        for ppr in pp.processors:
            if ppr.processor.name == "schedule":
                continue
            if no_schedule:
                ppr.depends_on = f"the {', '.join(no_schedule)} schedule is loaded"
            elif schedule_load:
                ppr.depends_on = schedule_load
        days = scope.days(cals, scope.procs(phase))
        if pp.to_run or no_schedule or phase_unmeasured(store, phase, days):
            decided.add(phase)
            _assume_success(store, pp, cals, days)
        out.phases.append(pp)
    return out


def _decide_waves(store: PreviewStore, waves: list[list[Unit]],
                  cals: Sequence[SeasonCalendar]) -> dict[str, set[date]]:
    """Readiness of every planned date, level by level; the dates that would run are assumed
    to succeed and pass the gate, the others are annotated as the run would record them."""
    reads = Reads(cals)
    out: dict[str, set[date]] = {}
    for wave in waves:
        for unit in wave:
            proc = unit.processor
            docs = input_docs(store, proc, unit.days, reads)
            for day in unit.days:
                ready = decide(proc, day, reads, docs)
                if ready.decision is Decision.RUN or proc.name == "schedule":
                    out.setdefault(proc.name, set()).add(day)
                elif ready.decision is not Decision.NOT_EXPECTED:
                    store.annotate(proc.name, day, State.BLOCKED, ready.reason or "")
        for unit in wave:
            ran = sorted(out.get(unit.processor.name, set()) & set(unit.days))
            store.assume_succeeded(unit.processor.name, ran, PREVIEW_RUN)
            for day in ran:
                store.assume_verdict(GateVerdict(unit.processor.name, day, Verdict.PASS))
    return out


def _assume_caught_up(store: PreviewStore, phase: Phase, scope: Scope,
                      cals: Sequence[SeasonCalendar]) -> None:
    """What the run's plan would measure first (done dates without a fresh verdict) is
    assumed to pass, as the preview assumes of the work it plans."""
    found = unmeasured(store, of_phase(phase), cals, Scope(scope.seasons).days(
        cals, of_phase(phase)))
    for proc, days in found.items():
        for day in days:
            store.assume_verdict(GateVerdict(proc.name, day, Verdict.PASS))


def _assume_success(store: PreviewStore, pp: PhasePreview, cals: Sequence[SeasonCalendar],
                    days: Sequence[date]) -> None:
    """In the preview only: the phase's planned dates succeed, and its gate passes the dates
    where every processor is then complete (blocks the others), as the run would find them."""
    for p in pp.processors:
        store.assume_succeeded(p.processor.name, p.to_run)
    expected = {p.processor.name: {d for c in cals for d in c.expected_dates(p.processor)}
                for p in pp.processors}
    if not days:
        return
    docs = {(d.processor, d.game_date): d
            for d in store.list(list(expected), days[0], days[-1])}
    for day in days:
        open_ = [n for n, exp in expected.items() if day in exp
                 and not ((doc := docs.get((n, day))) is not None and _complete(doc))]
        store.assume_verdict(GateVerdict(
            pp.phase.value, day, Verdict.BLOCK if open_ else Verdict.PASS,
            tuple(f"{n}: not complete (plan preview)" for n in open_[:3])))


def _processor_preview(store: PreviewStore, proc: Processor, plan: ProcessorPlan,
                       cals: Sequence[SeasonCalendar], window: Window,
                       depends_on: str | None) -> ProcessorPreview:
    """Counts of one processor after planning (the overlay holds what planning changed)."""
    out = ProcessorPreview(proc, units=list(plan.units), depends_on=depends_on)
    out.to_run = sorted({d for u in plan.units for d in u.days})
    todo = set(out.to_run)
    for cal in cals:
        start, end = season_bounds(cal.season)
        if proc.name == "schedule":
            docs = [d for d in store.list([proc.name], start, end) if window.clip([d.game_date])]
            out.not_expected += sum(1 for d in docs if d.state is State.NOT_EXPECTED)
            expected = ({d.game_date for d in docs if d.state is not State.NOT_EXPECTED}
                        | {d for d in todo if start <= d <= end})
        else:
            expected = set(window.clip(cal.expected_dates(proc)))
            out.not_expected += len(window.clip(cal.not_expected_dates(proc)))
            docs = [d for d in store.list([proc.name], start, end) if d.game_date in expected]
        out.expected += len(expected)
        for doc in docs:
            if doc.game_date in todo or doc.state is State.NOT_EXPECTED:
                continue
            if _complete(doc):
                out.complete += 1
                continue
            out.left[doc.state.value] = out.left.get(doc.state.value, 0) + 1
            why = (doc.reason or doc.error_kind or doc.state.value).split(":")[0]
            out.reasons[why] = out.reasons.get(why, 0) + 1
        seen = {d.game_date for d in docs} | todo
        missing = len([d for d in expected if d not in seen])
        if missing:  # never planned (e.g. blocked upstream before seeding)
            out.left["unplanned"] = out.left.get("unplanned", 0) + missing
    return out


def _complete(doc: PartitionStatus) -> bool:
    return doc.state is State.SUCCEEDED or (doc.state is State.DEGRADED
                                            and doc.reason == "bootstrap")
