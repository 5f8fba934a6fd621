"""The planner: what a backfill must do, recomputed from the status store every time (no
cursor; LESSONS R12.2). Expected dates come from the calendar; work = expected − done."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date

from backcourt.domain.calendar import SeasonCalendar
from backcourt.domain.dates import chunk, date_range
from backcourt.domain.ids import season_bounds
from backcourt.domain.registry import Phase, Processor, levels
from backcourt.domain.status import State
from backcourt.ports import StatusStore

RERUN = (State.PENDING, State.DEGRADED, State.BLOCKED)


@dataclass(frozen=True)
class Window:
    """Optional --start/--end limits on the dates a run touches."""

    start: date | None = None
    end: date | None = None

    def clip(self, days: Sequence[date]) -> list[date]:
        """The dates inside the window."""
        return [d for d in days if (self.start is None or d >= self.start)
                and (self.end is None or d <= self.end)]


@dataclass(frozen=True)
class Unit:
    """One unit of work: a processor over a chunk of dates."""

    processor: Processor
    days: tuple[date, ...]


@dataclass
class ProcessorPlan:
    """Counts and units of one processor."""

    processor: Processor
    expected: int = 0
    done: int = 0
    failed: int = 0
    not_expected: int = 0
    units: list[Unit] = field(default_factory=list)

    @property
    def to_run(self) -> int:
        """Dates this plan will process."""
        return sum(len(u.days) for u in self.units)


def expected_dates(processor: Processor, cal: SeasonCalendar, window: Window) -> list[date]:
    """The processor's expected dates in the season (from its calendar), inside the window."""
    return window.clip(cal.expected_dates(processor))


def _schedule_plan(store: StatusStore, processor: Processor, cal: SeasonCalendar,
                   window: Window, force: bool) -> tuple[list[date], list[date]]:
    """The schedule decides the calendar, so it cannot be planned from it: every date of the
    season inside the window is a candidate until the schedule processor has recorded it
    (a game date as succeeded, a date without games as not_expected). It runs as one unit per
    season, so a crash cannot leave a season's schedule half loaded."""
    start, end = season_bounds(cal.season)
    days = window.clip(list(date_range(start, end)))
    if not days:
        return [], []
    states = {s.game_date: s.state for s in store.list([processor.name], days[0], days[-1])}
    todo = [d for d in days if force or states.get(d) not in (State.SUCCEEDED,
                                                             State.NOT_EXPECTED)]
    if todo:  # reload the whole window so the season's rows stay consistent
        store.seed(processor.name, days, [])
        store.mark_stale(processor.name, days)
        return days, days
    return days, []


def plan_processor(
    store: StatusStore,
    processor: Processor,
    cals: Sequence[SeasonCalendar],
    window: Window,
    chunk_days: int,
    *,
    force: bool = False,
    only: Sequence[date] | None = None,
    retry_round: bool = False,
) -> ProcessorPlan:
    """Seed the processor's status documents and plan the dates it still needs.

    Args:
        only: restrict work to these dates (e.g. those whose upstream gate passed).
        retry_round: plan only ``pending`` dates (transient failures waiting for another
            attempt); degraded and blocked dates are re-armed once per run, not per round.
    """
    plan = ProcessorPlan(processor)
    if processor.name == "schedule":
        for cal in cals:
            days, load = ([], []) if retry_round else _schedule_plan(store, processor, cal,
                                                                     window, force)
            plan.expected += len(cal.expected_dates(processor)) if cal.days else len(days)
            if load:
                plan.units.append(Unit(processor, tuple(load)))
        return plan
    todo: list[date] = []
    for cal in cals:
        expected = expected_dates(processor, cal, window)
        not_expected = window.clip(cal.not_expected_dates(processor))
        store.seed(processor.name, expected, not_expected)
        if not expected:
            continue
        wanted = set(only) if only is not None else set(expected)
        candidates = [d for d in expected if d in wanted]
        if force and candidates:
            store.mark_stale(processor.name, candidates)
        docs = store.list([processor.name], min(expected), max(expected))
        # A bootstrap date is degraded by nature (too little history), not by a fault: it is
        # not recomputed on every run.
        states = {s.game_date: (State.SUCCEEDED if s.reason == "bootstrap" else s.state)
                  for s in docs}
        rearm = [] if retry_round else [d for d in candidates if states.get(d) in RERUN[1:]]
        if rearm:
            store.reset(processor.name, rearm, list(RERUN[1:]))
        plan.expected += len(expected)
        plan.not_expected += len(not_expected)
        plan.done += sum(1 for d in expected if states.get(d) == State.SUCCEEDED)
        plan.failed += sum(1 for d in expected if states.get(d) == State.FAILED)
        rerun = (State.PENDING,) if retry_round else RERUN
        todo += [d for d in candidates if states.get(d) in rerun or d not in states]
    plan.units = [Unit(processor, tuple(c)) for c in chunk(todo, chunk_days)]
    return plan


def plan_phase(
    store: StatusStore,
    phase: Phase,
    cals: Sequence[SeasonCalendar],
    window: Window,
    chunk_days: int,
    *,
    force: bool = False,
    only: Sequence[date] | None = None,
) -> list[list[ProcessorPlan]]:
    """Plans for every processor of a phase, grouped by level (levels run in order)."""
    return [
        [plan_processor(store, p, cals, window, chunk_days, force=force, only=only) for p in lvl]
        for lvl in levels(phase)
    ]
