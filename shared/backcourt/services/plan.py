"""The planner: what a backfill must do, recomputed from the status store every time (no
cursor; LESSONS R12.2). Expected dates come from the calendar; work = expected − done.

``PreviewStore`` lets the same planning code run without side effects (``backcourt plan``):
its writes go to an in-memory overlay through the shared state machine. ``invalidation`` says
which dates an upstream change makes stale (``backcourt invalidate``).
"""

from __future__ import annotations

import builtins
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from backcourt.domain import transitions as tr
from backcourt.domain.calendar import SeasonCalendar
from backcourt.domain.dates import chunk, date_range
from backcourt.domain.errors import TerminalError
from backcourt.domain.ids import season_bounds
from backcourt.domain.registry import PHASE_ORDER, PROCESSORS, Input, Processor
from backcourt.domain.status import GateVerdict, Outcome, PartitionStatus, RunRecord, State
from backcourt.domain.transitions import require_range
from backcourt.ports import StatusStore

RERUN = (State.PENDING, State.DEGRADED, State.BLOCKED, State.CANCELLED)


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
    """One unit of work: a processor over a chunk of dates (``span``: the message's date range
    when the unit is one processor of a span message)."""

    processor: Processor
    days: tuple[date, ...]
    span: tuple[date, date] | None = None


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
                   window: Window, force: bool, run_id: str) -> tuple[list[date], list[date]]:
    """The schedule decides the calendar, so it cannot be planned from it: every date of the
    season inside the window is a candidate until the schedule processor has recorded it
    (a game date as succeeded, a date without games as not_expected). When one is, the whole
    season is loaded as one unit, whatever the window: the calendar is season-wide (a lookback
    reads earlier games), and a crash cannot leave a season's schedule half loaded.

    Returns:
        The window's dates (what it counts as expected) and the dates to load (none, or the
        whole season)."""
    start, end = season_bounds(cal.season)
    season = list(date_range(start, end))
    days = window.clip(season)
    if not days:
        return [], []
    docs = {s.game_date: s for s in store.list([processor.name], start, end)}

    def rearm(day: date) -> bool:  # a failed load is final until retry-failed or --force;
        doc = docs.get(day)        # a run loads a season's schedule at most once
        if not _not_this_run(doc, run_id):
            return False
        if force:
            return True
        return doc is None or doc.state not in (State.SUCCEEDED, State.NOT_EXPECTED,
                                                State.FAILED)

    if any(rearm(d) for d in days):
        store.seed(processor.name, season, [])
        store.mark_stale(processor.name, [d for d in season if force and rearm(d)
                                          or d in docs and docs[d].state is not State.FAILED])
        return days, season
    return days, []


def _not_this_run(doc: PartitionStatus | None, run_id: str) -> bool:
    """Whether ``--force`` may re-arm the document: this run did not compute it already."""
    return doc is None or doc.run_id != run_id


def plan_processor(
    store: StatusStore,
    processor: Processor,
    cals: Sequence[SeasonCalendar],
    window: Window,
    chunk_days: int,
    *,
    force: bool = False,
    run_id: str = "manual",
) -> ProcessorPlan:
    """Seed the processor's status documents and plan the dates it still needs: expected
    dates not done (pending, degraded, blocked, cancelled or never seeded). ``force`` also
    re-arms finished dates, except those this run (``run_id``) computed already."""
    plan = ProcessorPlan(processor)
    if processor.name == "schedule":
        for cal in cals:
            days, load = _schedule_plan(store, processor, cal, window, force, run_id)
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
        docs = {s.game_date: s for s in store.list([processor.name], min(expected),
                                                    max(expected))}
        if force:
            store.mark_stale(processor.name, [d for d in expected
                                              if _not_this_run(docs.get(d), run_id)])
            docs = {s.game_date: s for s in store.list([processor.name], min(expected),
                                                        max(expected))}
        # A bootstrap date is degraded by nature (too little history), not by a fault: it is
        # not recomputed on every run.
        states = {d: (State.SUCCEEDED if s.reason == "bootstrap" else s.state)
                  for d, s in docs.items()}
        rearm = [d for d in expected if states.get(d) in RERUN[1:]]
        if rearm:
            store.reset(processor.name, rearm, list(RERUN[1:]))
        plan.expected += len(expected)
        plan.not_expected += len(not_expected)
        plan.done += sum(1 for d in expected if states.get(d) == State.SUCCEEDED)
        plan.failed += sum(1 for d in expected if states.get(d) == State.FAILED)
        todo += [d for d in expected if states.get(d) in RERUN or d not in states]
    plan.units = [Unit(processor, tuple(c)) for c in chunk(todo, chunk_days)]
    return plan


class PreviewStore:
    """A StatusStore view for planning without side effects: reads come from the real store,
    writes (seed, reset, mark_stale, cancel, annotate) land in an in-memory overlay through the
    same transitions the stores use. Work itself (leases, verdicts, runs) is refused."""

    def __init__(self, inner: StatusStore) -> None:
        self.inner = inner
        self.overlay: dict[tuple[str, date], PartitionStatus] = {}
        self.assumed: list[GateVerdict] = []

    def assume_succeeded(self, processor: str, dates: Sequence[date],
                         run_id: str | None = None) -> None:
        """Treat these dates as succeeded by ``run_id`` (a preview's assumption about work it
        planned)."""
        for day in dates:
            doc = self.get(processor, day) or PartitionStatus(processor, day, State.PENDING)
            self.overlay[(processor, day)] = PartitionStatus(
                processor, day, State.SUCCEEDED, attempts=doc.attempts, run_id=run_id,
                reason="plan preview")

    def assume_verdict(self, verdict: GateVerdict) -> None:
        """Treat this verdict as the newest of its (phase, date) (a preview's assumption)."""
        self.assumed.append(verdict)

    # -- reads ---------------------------------------------------------------------------
    def get(self, processor: str, game_date: date) -> PartitionStatus | None:
        """The overlay's document, else the real one."""
        key = (processor, game_date)
        return self.overlay[key] if key in self.overlay else self.inner.get(processor, game_date)

    def list(self, processors: Sequence[str] | None, start: date,
             end: date) -> list[PartitionStatus]:
        """The real documents with the overlay's changes, sorted like the stores sort them."""
        docs = {(d.processor, d.game_date): d for d in self.inner.list(processors, start, end)}
        wanted = None if processors is None else set(processors)
        for (proc, day), doc in self.overlay.items():
            if start <= day <= end and (wanted is None or proc in wanted):
                docs[(proc, day)] = doc
        return [docs[k] for k in sorted(docs)]

    def counts(self, processors: Sequence[str] | None, start: date,
               end: date) -> dict[tuple[str, State], int]:
        """Counts by (processor, state) of ``list``."""
        out: dict[tuple[str, State], int] = {}
        for doc in self.list(processors, start, end):
            out[(doc.processor, doc.state)] = out.get((doc.processor, doc.state), 0) + 1
        return out

    def verdicts(self, phase: str | None, start: date,
                 end: date) -> builtins.list[GateVerdict]:
        """The real gate history, then the verdicts the preview assumed (newest last)."""
        mine = [v for v in self.assumed if start <= v.game_date <= end
                and (phase is None or v.phase == phase)]
        return self.inner.verdicts(phase, start, end) + mine

    def runs(self, limit: int = 50) -> builtins.list[RunRecord]:
        """The real run records."""
        return self.inner.runs(limit)

    def get_run(self, run_id: str) -> RunRecord | None:
        """One real run record."""
        return self.inner.get_run(run_id)

    # -- planning writes, kept in the overlay -----------------------------------------------
    def _change(self, processor: str, dates: Sequence[date],
                fn: Callable[[PartitionStatus], PartitionStatus | None]) -> int:
        changed = 0
        for day in sorted(set(dates)):
            doc = self.get(processor, day)
            new = None if doc is None else fn(doc)
            if new is not None:
                self.overlay[(processor, day)] = new
                changed += 1
        return changed

    def seed(self, processor: str, expected: Sequence[date], not_expected: Sequence[date]) -> None:
        """Seed in the overlay (same rules as the stores)."""
        tr.check_seed(expected, not_expected)
        for days, flag in ((expected, True), (not_expected, False)):
            for day in days:
                new = tr.seed_partition(self.get(processor, day), processor, day, expected=flag)
                if new is not None:
                    self.overlay[(processor, day)] = new

    def reset(self, processor: str, dates: Sequence[date], states: Sequence[State]) -> int:
        """Operator/planner reset in the overlay."""
        wanted = frozenset(State(s) for s in states)
        return self._change(processor, dates, lambda d: tr.reset_partition(d, wanted))

    def mark_stale(self, processor: str, dates: Sequence[date]) -> int:
        """Re-arm finished documents in the overlay."""
        return self._change(processor, dates, tr.stale_partition)

    def cancel(self, processor: str, dates: Sequence[date], reason: str) -> int:
        """Cancel pending documents in the overlay."""
        return self._change(processor, dates, lambda d: tr.cancel_partition(d, reason))

    def annotate(self, processor: str, game_date: date, state: State, reason: str) -> None:
        """Annotate in the overlay (the runner's blocked marks)."""
        self.overlay[(processor, game_date)] = tr.annotate_partition(
            self.get(processor, game_date), processor, game_date, state, reason)

    # -- work: never during a preview -----------------------------------------------------
    def _refuse(self, what: str) -> TerminalError:
        return TerminalError(f"a plan preview does no work: {what} refused")

    def acquire(self, processor: str, game_date: date, *, owner: str, run_id: str,
                ttl: timedelta, now: datetime, last: bool = False) -> PartitionStatus | None:
        """Refused."""
        raise self._refuse("acquire")

    def renew(self, processor: str, game_date: date, owner: str, ttl: timedelta,
              now: datetime) -> bool:
        """Refused."""
        raise self._refuse("renew")

    def finish(self, processor: str, game_date: date, owner: str, outcome: Outcome,
               now: datetime) -> PartitionStatus:
        """Refused."""
        raise self._refuse("finish")

    def release_expired(self, now: datetime, dead_owners: Sequence[str] = ()) -> int:
        """Nothing is released by a preview."""
        return 0

    def record_verdict(self, verdict: GateVerdict) -> None:
        """Refused."""
        raise self._refuse("record_verdict")

    def record_verdicts(self, verdicts: Sequence[GateVerdict]) -> None:
        """Refused."""
        raise self._refuse("record_verdicts")

    def record_run(self, run: RunRecord) -> None:
        """Refused."""
        raise self._refuse("record_run")

    def claim_run(self, run: RunRecord) -> bool:
        """Refused."""
        raise self._refuse("claim_run")

    def close(self) -> None:
        """The real store is closed by its owner."""


# -- invalidation: an upstream change makes downstream dates stale --------------------------


def downstream(processor: Processor) -> list[Processor]:
    """Every processor that reads ``processor``, directly or transitively, in run order."""
    found: set[str] = {processor.name}
    out: list[Processor] = []
    for proc in sorted(PROCESSORS, key=lambda p: (PHASE_ORDER.index(p.phase), p.level)):
        if proc.name not in found and proc.reads & found:
            found.add(proc.name)
            out.append(proc)
    return out


def _team_dates(cal: SeasonCalendar) -> dict[str, list[date]]:
    """Each team's game dates of the season, in order."""
    out: dict[str, list[date]] = {}
    for day in cal.days:
        for game in day.games:
            for team in (game.home, game.away):
                out.setdefault(team, []).append(day.game_date)
    return out


def _reach(cal: SeasonCalendar, teams: dict[str, list[date]], last: date, inp: Input) -> date:
    """The last date a change on ``last`` can reach through an input read over ``inp``'s
    span: each team's ``games``-th game after ``last``, ``days`` days later, or the season's
    end for a season-to-date input; within the season."""
    if inp.season:
        return cal.end
    reach = last + timedelta(days=inp.days)
    games = inp.games
    if games:
        for dates in teams.values():
            later = [d for d in dates if d > last]
            reach = max(reach, later[games - 1] if len(later) >= games else cal.end)
    return min(reach, cal.end)


def invalidation(processor: Processor, start: date, end: date,
                 cals: Sequence[SeasonCalendar]) -> dict[str, list[date]]:
    """The dates to mark stale when ``processor``'s output changed on [start, end].

    The processor's own expected dates in the range, and for every processor downstream of it
    (transitively) its expected dates from ``start`` through the last date the change can reach
    through each declared input: N previous games reach each team's N-th game after the range,
    N days reach N days further, season to date reaches the season's end; same-date inputs
    reach the same dates. Reaches are followed within a season.

    Returns:
        ``{processor name: sorted dates}`` (the processor itself first, then in run order).
    """
    require_range(start, end)
    found: dict[str, set[date]] = {}
    chain = [processor, *downstream(processor)]
    for cal in cals:
        if not cal.days:
            continue
        lo, hi = max(start, cal.start), min(end, cal.end)
        if lo > hi:
            continue
        teams = _team_dates(cal)
        span: dict[str, tuple[date, date]] = {processor.name: (lo, hi)}
        for proc in chain[1:]:
            for inp in proc.inputs:
                if inp.processor not in span:
                    continue
                first, last = span[inp.processor]
                reach = _reach(cal, teams, last, inp)
                old = span.get(proc.name, (first, reach))
                span[proc.name] = (min(old[0], first), max(old[1], reach))
        for proc in chain:
            if proc.name not in span:
                continue
            first, last = span[proc.name]
            pool = (date_range(first, last) if proc.name == "schedule"
                    else cal.expected_dates(proc))
            found.setdefault(proc.name, set()).update(d for d in pool if first <= d <= last)
    return {p.name: sorted(found[p.name]) for p in chain if found.get(p.name)}
