"""The local runner: phase-major backfill with a barrier and a gate between phases (LESSONS
R8.2). Rerunning resumes: the plan is recomputed from the status store (no cursor).

``preview`` runs the runner's own planning steps on a ``PreviewStore`` (no side effects): what
``backcourt plan`` prints. ``request_cancel`` marks a run ``cancelling``; the runner checks its
record between units, lets the units in flight finish, marks the units it did not start
``cancelled`` and records the run ``cancelled``.
"""

from __future__ import annotations

import getpass
import json
import logging
import os
import socket
import threading
import time
import uuid
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from datetime import date
from typing import Any

from backcourt.domain.calendar import SeasonCalendar
from backcourt.domain.errors import BadInput
from backcourt.domain.ids import season_bounds
from backcourt.domain.registry import BY_NAME, PROCESSORS, Phase, Processor, levels
from backcourt.domain.status import (
    MAX_ATTEMPTS,
    RUN_CANCELLED,
    RUN_CANCELLING,
    RUN_FINISHED,
    GateVerdict,
    PartitionStatus,
    RunRecord,
    State,
    Verdict,
)
from backcourt.ports import Services
from backcourt.services.calendar import calendars
from backcourt.services.cpu_pool import POOLED_PHASES, pooled
from backcourt.services.gate import Gate, degraded_by_gate
from backcourt.services.lookback import (
    bootstrap_dates,
    lookback_missing,
    same_phase_blocked,
    same_phase_unfinished,
)
from backcourt.services.plan import PreviewStore, ProcessorPlan, Unit, Window, plan_processor
from backcourt.services.process import UnitReport, run_unit
from backcourt.services.unit_queue import UnitQueue

log = logging.getLogger(__name__)


class Progress:
    """Receives progress events; the CLI renders them, tests ignore them."""

    def phase_started(self, phase: Phase, plans: list[ProcessorPlan]) -> None:
        """A phase (or a retry round of a level) starts with these plans."""

    def unit_done(self, phase: Phase, report: UnitReport) -> None:
        """One unit of work finished."""

    def phase_gated(self, phase: Phase, verdicts: dict[date, GateVerdict]) -> None:
        """The gate decided a phase."""


@dataclass
class PhaseResult:
    """One phase of a run: what was planned and done, and the gate's verdicts."""

    phase: Phase
    plans: list[ProcessorPlan] = field(default_factory=list)
    units_run: int = 0
    dates_processed: int = 0
    verdicts: dict[date, GateVerdict] = field(default_factory=dict)
    seconds: float = 0.0

    def count(self, verdict: Verdict) -> int:
        """Dates with this verdict."""
        return sum(1 for v in self.verdicts.values() if v.verdict is verdict)


@dataclass
class BackfillResult:
    """A whole run."""

    run_id: str
    phases: list[PhaseResult] = field(default_factory=list)
    stopped_at: Phase | None = None
    cancelled_by: str | None = None
    """Who cancelled the run (None: it was not cancelled)."""
    cancelled_units: int = 0
    """Units planned but not started because of the cancel (their dates are ``cancelled``)."""

    @property
    def did_work(self) -> bool:
        """Whether any unit of work ran."""
        return any(p.units_run for p in self.phases)


def new_run_id() -> str:
    """A sortable, unique run id."""
    return f"run-{time.strftime('%Y%m%dT%H%M%S')}-{uuid.uuid4().hex[:6]}"


def _dead_local_owners(services: Services, seasons: Sequence[str]) -> list[str]:
    host = socket.gethostname()
    dead = set()
    for season in seasons:
        start, end = season_bounds(season)
        for st in services.status.list(None, start, end):
            if st.state is State.RUNNING and st.lease_owner:
                owner_host, _, pid = st.lease_owner.rpartition(":")
                if owner_host == host and pid.isdigit() and not _alive(int(pid)):
                    dead.add(st.lease_owner)
    return sorted(dead)


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class _Cancelled(Exception):
    """Raised inside the runner once a cancel request was seen and honoured."""

    def __init__(self, by: str, units: int) -> None:
        super().__init__(by)
        self.by = by
        self.units = units
        self.partial: PhaseResult | None = None
        """The phase that was running, as far as it got."""


class Runner:
    """Runs phases over seasons on the local thread pool."""

    def __init__(self, services: Services, progress: Progress | None = None) -> None:
        self.s = services
        self.progress = progress or Progress()
        self.gate = Gate(services.warehouse, services.status, services.settings.thresholds)
        self.owner = services.owner()
        self._cancel_by: str | None = None
        self._cancel_lock = threading.Lock()

    def _cancel_requested(self, run_id: str) -> str | None:
        """Who asked to cancel the run (read from its record), or None."""
        with self._cancel_lock:
            if self._cancel_by is None:
                run = self.s.status.get_run(run_id)
                if run is not None and run.state == RUN_CANCELLING:
                    self._cancel_by = str(run.summary.get("cancel_requested_by") or "someone")
            return self._cancel_by

    def backfill(self, seasons: Sequence[str], phases: Sequence[Phase], window: Window,
                 *, force: bool = False, run_id: str | None = None,
                 command: str = "backfill") -> BackfillResult:
        """Run ``phases`` in order over ``seasons``; stop at the first phase that BLOCKs all."""
        result = BackfillResult(run_id or new_run_id())
        for season in seasons:
            season_bounds(season)
        self.s.warehouse.ensure_tables([p.table for p in PROCESSORS])
        released = self.s.status.release_expired(self.s.clock.now(),
                                                 _dead_local_owners(self.s, seasons))
        if released:
            log.warning("released %d lease(s) of crashed workers", released)
        self._close_dead_runs()
        run = RunRecord(result.run_id, command, self.s.clock.now(),
                        f"{getpass.getuser()}@{socket.gethostname()}",
                        f"seasons={','.join(seasons)} phases={','.join(p.value for p in phases)}"
                        + (f" window={window.start}..{window.end}" if window.start or window.end
                           else ""), summary={"owner": self.owner})
        self.s.status.record_run(run)
        log.info("run %s started: %s", run.run_id, run.scope, extra={"run_id": run.run_id})
        state = "succeeded"
        try:
            for phase in phases:
                if (by := self._cancel_requested(result.run_id)) is not None:
                    raise _Cancelled(by, 0)
                pr = self._phase(phase, seasons, window, force, result.run_id)
                result.phases.append(pr)
                if pr.verdicts and all(v.verdict is Verdict.BLOCK for v in pr.verdicts.values()):
                    result.stopped_at = result.stopped_at or phase
                    state = "blocked"  # later phases still record their dates as blocked
        except _Cancelled as stop:
            state = RUN_CANCELLED
            result.cancelled_by, result.cancelled_units = stop.by, stop.units
            if stop.partial is not None:
                result.phases.append(stop.partial)
            log.warning("run %s cancelled by %s: %d planned unit(s) not started", run.run_id,
                        stop.by, stop.units, extra={"run_id": run.run_id})
        except BaseException:
            state = "failed"
            raise
        finally:
            summary = _summary(result)
            if result.cancelled_by is not None:
                summary["cancelled_by"] = result.cancelled_by
            self.s.status.record_run(RunRecord(
                run.run_id, run.command, run.started_at, run.who, run.scope, state,
                self.s.clock.now(), summary))
        return result

    def _close_dead_runs(self) -> None:
        """Runs still recorded as running whose local process is gone (killed, crashed) are
        recorded ``failed`` with a note, so run history never shows a dead run as running."""
        for run in self.s.status.runs(200):
            if run.state in RUN_FINISHED or not _owner_gone(str(run.summary.get("owner") or "")):
                continue
            note = "the run's process died (killed or crashed) before it finished"
            self.s.status.record_run(replace(run, state="failed", finished_at=self.s.clock.now(),
                                             summary={**run.summary, "note": note}))
            log.warning("run %s: %s", run.run_id, note, extra={"run_id": run.run_id})

    def _upstream_ok(self, phase: Phase, cals: list[SeasonCalendar], window: Window,
                     ) -> list[date] | None:
        """Dates whose previous phase passed its gate (None for the first phase); the other
        expected dates of this phase are marked blocked with the upstream reason."""
        order = list(Phase)
        if order.index(phase) == 0:
            return None
        prev = order[order.index(phase) - 1]
        procs = [p for lv in levels(phase) for p in lv]
        ok: list[date] = []
        for cal in cals:
            days = sorted({d for p in procs for d in window.clip(cal.expected_dates(p))})
            latest = self._latest(prev, days)
            for d in days:
                v = latest.get(d)
                if v is not None and v.verdict is not Verdict.BLOCK:
                    ok.append(d)
                    continue
                why = (f"upstream gate: phase {prev.value} BLOCK on {d}: "
                       + "; ".join(v.reasons[:3]) if v else
                       f"upstream gate: phase {prev.value} not validated for {d}")
                for p in procs:
                    if d in cal.expected_dates(p):
                        self.s.status.seed(p.name, [d], [])
                        current = self.s.status.get(p.name, d)
                        if current and current.state in (State.PENDING, State.BLOCKED):
                            self.s.status.annotate(p.name, d, State.BLOCKED, why)
        return ok

    def _phase(self, phase: Phase, seasons: Sequence[str], window: Window, force: bool,
               run_id: str) -> PhaseResult:
        started = time.monotonic()
        pr = PhaseResult(phase)
        cals = calendars(self.s.warehouse, seasons)
        allowed = self._upstream_ok(phase, cals, window)
        if allowed == []:  # every date is blocked upstream: nothing to run or to gate
            pr.seconds = time.monotonic() - started
            return pr
        try:
            for level in levels(phase):
                cals = self._level(phase, level, cals, seasons, window, force, run_id, allowed,
                                   pr)
        except _Cancelled as stop:  # no gate: the phase did not finish
            pr.seconds = time.monotonic() - started
            stop.partial = pr
            raise
        procs = [p for lv in levels(phase) for p in lv]
        days = sorted({d for cal in cals for p in procs
                       for d in window.clip(cal.expected_dates(p))})
        if pr.units_run or self._missing_verdicts(phase, days):
            pr.verdicts = self.gate.validate(phase, cals, days, run_id)
            self._annotate(pr.verdicts)
        else:
            pr.verdicts = self._latest(phase, days)
        self.progress.phase_gated(phase, pr.verdicts)
        pr.seconds = time.monotonic() - started
        return pr

    def _level(self, phase: Phase, level: Sequence[object], cals: list[SeasonCalendar],
               seasons: Sequence[str], window: Window, force: bool, run_id: str,
               allowed: list[date] | None, pr: PhaseResult) -> list[SeasonCalendar]:
        procs = [p for p in PROCESSORS if p in level]
        only = {p.name: self._idle(p, cals, window,
                                   self._lookback_ok(p, cals, window, allowed, force))
                for p in procs}
        boot = {p.name: bootstrap_dates(p, cals) for p in procs}
        for attempt in range(MAX_ATTEMPTS + 1):
            plans = [plan_processor(self.s.status, p, cals, window, self.s.settings.chunk_days,
                                    force=force and attempt == 0, only=only[p.name],
                                    retry_round=attempt > 0) for p in procs]
            if attempt == 0:
                pr.plans += plans
            units = [u for plan in plans for u in plan.units]
            if not units:
                break
            self.progress.phase_started(phase, plans)
            self._run_units(phase, units, run_id, force, pr, boot)
            if any(p.name == "schedule" for p in procs):
                cals = calendars(self.s.warehouse, seasons)
            time.sleep(min(0.2 * 2**attempt, 2.0) if attempt else 0)
        return cals

    def _idle(self, proc: Processor, cals: list[SeasonCalendar], window: Window,
              only: list[date] | None) -> list[date] | None:
        """``only`` without the dates whose same-phase upstream is still pending or running
        once this run's earlier levels are done: another run (the daily path) is writing it
        and computes the date after it; computing it here would read half-written input."""
        wanted = None if only is None else set(only)
        days = [d for cal in cals for d in window.clip(cal.expected_dates(proc))
                if wanted is None or d in wanted]
        busy = same_phase_unfinished(self.s.status, proc, days)
        return [d for d in days if d not in busy] if busy else only

    def _lookback_ok(self, proc: Processor, cals: list[SeasonCalendar], window: Window,
                     allowed: list[date] | None, force: bool) -> list[date] | None:
        """Dates whose upstream lookback window (earlier phases) is complete; the others are
        marked blocked with reason ``lookback_incomplete`` naming the missing dates."""
        same_phase = any(BY_NAME[u.processor].phase is proc.phase for u in proc.upstream)
        if not proc.lookback_days and not same_phase:
            return allowed
        ok: list[date] = []
        for cal in cals:
            days = [d for d in window.clip(cal.expected_dates(proc))
                    if allowed is None or d in set(allowed)]
            missing = lookback_missing(self.s.status, proc, cal, days)
            blocked = same_phase_blocked(self.s.status, proc, days)
            for d in days:
                if missing.get(d):
                    names = missing[d]
                    why = "lookback_incomplete: " + ", ".join(names[:6]) + (
                        f" (+{len(names) - 6} more)" if len(names) > 6 else "")
                elif blocked.get(d):
                    why = "upstream_incomplete: " + ", ".join(blocked[d])
                else:
                    ok.append(d)
                    continue
                self.s.status.seed(proc.name, [d], [])
                current = self.s.status.get(proc.name, d)
                if current and (force or current.state in (State.PENDING, State.BLOCKED)):
                    self.s.status.annotate(proc.name, d, State.BLOCKED, why)
        return ok

    def _run_units(self, phase: Phase, units: list[Unit], run_id: str, force: bool,
                   pr: PhaseResult, boot: dict[str, list[date]]) -> None:
        queue = UnitQueue(units)
        not_started: list[Unit] = []
        lock = threading.Lock()
        dates = sum(len(u.days) for u in units) if phase in POOLED_PHASES else 0

        def work(services: Services) -> None:
            while (unit := queue.take()) is not None:
                try:
                    if self._cancel_requested(run_id) is not None:  # between units
                        with lock:
                            not_started.extend([unit, *queue.drain()])
                        return
                    report = run_unit(services, unit.processor, unit.days, run_id=run_id,
                                      owner=self.owner, force=force,
                                      bootstrap=boot.get(unit.processor.name, []))
                finally:
                    queue.done(unit)
                with lock:
                    pr.units_run += 1
                    pr.dates_processed += len(report.leased)
                self.progress.unit_done(phase, report)

        threads = min(self.s.settings.workers, queue.lanes())
        with (pooled(self.s, dates) as services,
              ThreadPoolExecutor(max_workers=threads) as pool):
            for fut in [pool.submit(work, services) for _ in range(threads)]:
                fut.result()
        by = self._cancel_requested(run_id)
        if by is not None:
            why = f"cancelled by {by} (run {run_id})"
            for unit in not_started:
                self.s.status.cancel(unit.processor.name, list(unit.days), why)
            raise _Cancelled(by, len(not_started))

    def _missing_verdicts(self, phase: Phase, days: list[date]) -> bool:
        if not days:
            return False
        have = {d for d, v in self._latest(phase, days).items() if v.verdict is not Verdict.BLOCK}
        return bool(set(days) - have)

    def _latest(self, phase: Phase, days: list[date]) -> dict[date, GateVerdict]:
        if not days:
            return {}
        latest: dict[date, GateVerdict] = {}
        for v in self.s.status.verdicts(phase.value, days[0], days[-1]):
            latest[v.game_date] = v
        return {d: latest[d] for d in days if d in latest}

    def _annotate(self, verdicts: dict[date, GateVerdict]) -> None:
        for proc, day, reason in degraded_by_gate(verdicts):
            current = self.s.status.get(proc, day)
            if current and current.state is State.SUCCEEDED:
                self.s.status.annotate(proc, day, State.DEGRADED, f"gate: {reason}")


# -- the plan preview: the runner's planning steps, without side effects ---------------------


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
    """Why those dates are left (the first word of their reason), e.g. ``upstream gate``."""
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
    """Plan a backfill without doing it: the runner's own steps (upstream gate, lookback,
    ``plan_processor``) on a ``PreviewStore``, so nothing is written anywhere.

    A phase whose gate this run decides (it has work, or dates not validated yet) is assumed
    to succeed: its planned dates count as done and its complete dates PASS, so the next phase
    is planned with the same upstream and lookback rules the run will apply, and is marked
    ``depends_on`` that gate (its numbers are then the most it can run). Until the schedule is
    loaded no other processor has expected dates.
    """
    for season in seasons:
        season_bounds(season)
    store = PreviewStore(services.status)
    runner = Runner(replace(services, status=store))
    out = RunPreview(list(seasons), [], window, force)
    decided_in_run: set[Phase] = set()
    schedule_load = ""  # set once the plan loads the schedule: later dates may change
    order = list(Phase)
    for phase in phases:
        cals = calendars(services.warehouse, seasons)
        idx = order.index(phase)
        prev = order[idx - 1] if idx else None
        pp = PhasePreview(phase, depends_on=(f"phase {prev.value} gate"
                                             if prev in decided_in_run else None))
        allowed = runner._upstream_ok(phase, cals, window)
        for level in levels(phase):
            for proc in [p for p in PROCESSORS if p in level]:
                only = (None if allowed == [] else
                        runner._lookback_ok(proc, cals, window, allowed, force))
                plan = (ProcessorPlan(proc) if allowed == [] else
                        plan_processor(store, proc, cals, window, services.settings.chunk_days,
                                       force=force, only=only))
                pp.processors.append(_processor_preview(store, proc, plan, cals, window,
                                                        pp.depends_on))
        no_schedule = [c.season for c in cals if not c.days]
        if any(p.processor.name == "schedule" and p.to_run for p in pp.processors):
            schedule_load = "the schedule is loaded (it may add or remove dates)"
        for ppr in pp.processors:
            if ppr.processor.name == "schedule":
                continue
            if no_schedule:
                ppr.depends_on = f"the {', '.join(no_schedule)} schedule is loaded"
            elif schedule_load:
                ppr.depends_on = schedule_load
        procs = [p for lv in levels(phase) for p in lv]
        days = sorted({d for c in cals for p in procs for d in window.clip(c.expected_dates(p))})
        if pp.to_run or no_schedule or runner._missing_verdicts(phase, days):
            decided_in_run.add(phase)
            _assume_success(store, pp, cals, days)
        out.phases.append(pp)
    return out


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


# -- cancel -----------------------------------------------------------------------------------


def request_cancel(services: Services, run_id: str, who: str) -> RunRecord:
    """Ask a local run to stop: its record becomes ``cancelling``; the runner (in any process)
    sees it before its next unit. A run whose process is gone (same host, dead pid) is marked
    ``cancelled`` at once. Asking twice is harmless.

    Raises:
        BadInput: no such run (the message lists the running ones), or it already finished.
    """
    run = services.status.get_run(run_id)
    if run is None:
        running = [r.run_id for r in services.status.runs(20) if r.state not in RUN_FINISHED]
        raise BadInput(f"no run {run_id!r}" + (f"; running: {', '.join(running)}" if running
                                               else "; no run is running"))
    if run.state in RUN_FINISHED:
        raise BadInput(f"run {run_id} already finished ({run.state}); nothing to cancel")
    now = services.clock.now()
    summary = {**run.summary, "cancel_requested_by": who, "cancel_requested_at": now.isoformat()}
    if run.state == RUN_CANCELLING:
        return run
    state, finished = RUN_CANCELLING, None
    if _owner_gone(str(run.summary.get("owner") or "")):
        state, finished = RUN_CANCELLED, now
        summary["cancelled_by"] = who
        summary["note"] = "the run's process was gone; nothing was running"
    new = replace(run, state=state, finished_at=finished, summary=summary)
    services.status.record_run(new)
    log.warning("run %s: cancel requested by %s", run_id, who, extra={"run_id": run_id})
    return new


def _owner_gone(owner: str) -> bool:
    host, _, pid = owner.rpartition(":")
    return host == socket.gethostname() and pid.isdigit() and not _alive(int(pid))


def wait_finished(services: Services, run_id: str, timeout_s: float,
                  poll_s: float = 0.2) -> RunRecord | None:
    """The run's record once it finished, or None after ``timeout_s``."""
    deadline = time.monotonic() + timeout_s
    while True:
        run = services.status.get_run(run_id)
        if run is not None and run.state in RUN_FINISHED:
            return run
        if time.monotonic() >= deadline:
            return None
        time.sleep(poll_s)


@dataclass(frozen=True)
class CloudCancel:
    """What cancelling a workflow execution did."""

    execution: str
    state_before: str
    state_after: str
    cancelled: dict[str, int]
    """Pending partitions marked cancelled, per processor."""


def cancel_execution(services: Services, executions: Any, execution: str,
                     who: str) -> CloudCancel:
    """Cancel a ``backfill`` workflow execution and mark its pending tasks ``cancelled``.

    The execution's argument gives the scope (``season``/``seasons`` or ``start``+``end``, and
    ``phases``); pending partitions there that are not another run's are cancelled, so work
    messages already queued for them do nothing. Running tasks finish; the next plan re-arms
    the cancelled dates.

    Args:
        executions: a ``WorkflowStarter`` of the backfill workflow (get/cancel).
        execution: the execution id (the run id) or its full name.
    """
    info = executions.get(execution)
    after = executions.cancel(execution).state if info.running else info.state
    run_id = info.execution_id
    arg = info.argument
    seasons = arg.get("seasons") or ([arg["season"]] if arg.get("season") else [])
    spans = [season_bounds(s) for s in seasons]
    if arg.get("start") and arg.get("end"):
        spans.append((date.fromisoformat(arg["start"]), date.fromisoformat(arg["end"])))
    names = [p.name for p in PROCESSORS
             if p.phase.value in (arg.get("phases") or [ph.value for ph in Phase])]
    why = f"cancelled by {who} (run {run_id})"
    cancelled: dict[str, int] = {}
    if info.running:
        for start, end in spans:
            pending: dict[str, list[date]] = {}
            for doc in services.status.list(names, start, end):
                if doc.state is State.PENDING and doc.run_id in (None, run_id):
                    pending.setdefault(doc.processor, []).append(doc.game_date)
            for name, days in pending.items():
                n = services.status.cancel(name, days, why)
                cancelled[name] = cancelled.get(name, 0) + n
        now = services.clock.now()
        services.status.record_run(RunRecord(
            run_id, "backfill-workflow", now, who, json.dumps(arg, sort_keys=True),
            RUN_CANCELLED, now, {"cancelled_by": who, "execution": info.name,
                                 "partitions_cancelled": sum(cancelled.values())}))
    log.warning("execution %s: %s → %s, %d pending task(s) cancelled", info.name, info.state,
                after, sum(cancelled.values()), extra={"run_id": run_id})
    return CloudCancel(info.name, info.state, after, cancelled)


def _summary(result: BackfillResult) -> dict[str, object]:
    return {
        p.phase.value: {"units": p.units_run, "dates": p.dates_processed,
                        "pass": p.count(Verdict.PASS), "warn": p.count(Verdict.WARN),
                        "block": p.count(Verdict.BLOCK), "seconds": round(p.seconds, 2)}
        for p in result.phases
    }


ProgressFactory = Callable[[], Progress]
