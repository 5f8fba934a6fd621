"""The local driver: the backfill workflow's protocol run on this machine.

For each phase in order it calls the same service functions the Cloud Functions call
(``services.protocol``): plan → units → process one unit → progress → validate. A local queue
stands in for Pub/Sub: units of a wave run on a thread pool (one unit per processor at a time,
the processor with the most work left first; ``unit_queue``), a unit whose dates must wait is
redelivered with backoff, at most ``MAX_DELIVERIES`` times as Pub/Sub's dead-letter limit
bounds it, and large phase-2 and phase-6 waves hand their pure-Python work to a process pool
(``cpu_pool``). Rerunning resumes: every plan is recomputed from the status store.

A cancel request (``runs.request_cancel``) is seen between units: the units in flight finish,
the units not started are marked ``cancelled`` and the run is recorded ``cancelled``.
"""

from __future__ import annotations

import getpass
import logging
import socket
import threading
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from backcourt.domain.errors import TransientError
from backcourt.domain.ids import season_bounds
from backcourt.domain.registry import PROCESSORS, Phase
from backcourt.domain.status import (
    DONE,
    RUN_CANCELLED,
    RUN_CANCELLING,
    GateVerdict,
    RunRecord,
    Verdict,
)
from backcourt.ports import Services
from backcourt.services import protocol
from backcourt.services.calendar import calendars
from backcourt.services.cpu_pool import POOLED_PHASES, pooled
from backcourt.services.gate import Check, Gate, phase_unmeasured
from backcourt.services.plan import Unit, Window
from backcourt.services.protocol import Delivery, Scope
from backcourt.services.runs import close_dead_runs, dead_local_owners, new_run_id
from backcourt.services.schedules import require_schedules
from backcourt.services.unit_queue import UnitQueue

log = logging.getLogger(__name__)

__all__ = ["BackfillResult", "PhaseResult", "Progress", "Runner", "ScopeOutcome", "new_run_id",
           "scope_outcome"]

REDELIVERY_BACKOFF_S = (0.2, 5.0)
"""First and largest pause before a local redelivery (doubling), Pub/Sub's retry policy
scaled down to one machine."""


class Progress:
    """Receives progress events; the CLI renders them, tests ignore them."""

    def phase_started(self, phase: Phase, dates: int) -> None:
        """A wave of a phase starts with this many processor-dates planned."""

    def unit_done(self, phase: Phase, processor: str, dates: int) -> None:
        """One unit of a processor finished, over this many processor-dates."""

    def phase_gated(self, phase: Phase, verdicts: dict[date, GateVerdict]) -> None:
        """The gate decided a phase."""


@dataclass
class PhaseResult:
    """One phase of a run: what was planned and done, and the gate's verdicts."""

    phase: Phase
    planned: int = 0
    """Processor-dates planned (all waves and replans)."""
    units_run: int = 0
    dates_processed: int = 0
    redeliveries: int = 0
    verdicts: dict[date, GateVerdict] = field(default_factory=dict)
    seconds: float = 0.0

    def count(self, verdict: Verdict) -> int:
        """Dates with this verdict."""
        return sum(1 for v in self.verdicts.values() if v.verdict is verdict)


@dataclass(frozen=True)
class ScopeOutcome:
    """How the expected (processor, date)s of a run's scope stand once it ended."""

    expected: int
    done: int
    open: dict[str, int]
    """Expected processor-dates not done, by state (``absent``: never planned)."""
    gate_blocked: dict[str, int]
    """Dates whose phase verdict is BLOCK, per phase."""
    reasons: tuple[str, ...]
    """The first few ``processor date: reason`` of the dates not done."""

    @property
    def clean(self) -> bool:
        """Every expected processor-date is done and no date is gate-BLOCKed (WARN allowed)."""
        return not self.open and not any(self.gate_blocked.values())


@dataclass
class BackfillResult:
    """A whole run."""

    run_id: str
    phases: list[PhaseResult] = field(default_factory=list)
    cancelled_by: str | None = None
    """Who cancelled the run (None: it was not cancelled)."""
    cancelled_units: int = 0
    """Units planned but not started because of the cancel (their dates are ``cancelled``)."""
    outcome: ScopeOutcome | None = None
    """The scope's state when the run ended (None when it was cancelled or crashed)."""

    @property
    def did_work(self) -> bool:
        """Whether any unit of work ran."""
        return any(p.units_run for p in self.phases)

    @property
    def stopped_at(self) -> Phase | None:
        """The first phase whose gate BLOCKed every date it decided (None: none did)."""
        return next((p.phase for p in self.phases if p.verdicts and all(
            v.verdict is Verdict.BLOCK for v in p.verdicts.values())), None)


class _Cancelled(Exception):
    """Raised inside the runner once a cancel request was seen and honoured."""

    def __init__(self, by: str, units: int) -> None:
        super().__init__(by)
        self.by = by
        self.units = units
        self.partial: PhaseResult | None = None
        """The phase that was running, as far as it got."""


class Runner:
    """Runs phases over seasons through the protocol, on a local queue."""

    def __init__(self, services: Services, progress: Progress | None = None) -> None:
        self.s = services
        self.progress = progress or Progress()
        self.owner = services.owner()
        self._cancel_by: str | None = None
        self._cancel_lock = threading.Lock()

    def backfill(self, seasons: Sequence[str], phases: Sequence[Phase], window: Window,
                 *, force: bool = False, run_id: str | None = None,
                 command: str = "backfill",
                 processors: Sequence[str] | None = None) -> BackfillResult:
        """Run ``phases`` in order over ``seasons`` (only ``processors`` of them, when given).
        Every phase runs: each processor-date decides from its own inputs, so a BLOCK stops
        only what reads it."""
        result = BackfillResult(run_id or new_run_id())
        for season in seasons:
            season_bounds(season)
        require_schedules(self.s.bucket, seasons)  # unknown dates: nothing to plan from
        scope = Scope(tuple(seasons), window,
                      frozenset(processors) if processors is not None else None)
        self.s.warehouse.ensure_tables([p.table for p in PROCESSORS])
        close_dead_runs(self.s)
        run = self._start(result.run_id, command, scope, phases)
        state = "succeeded"
        try:
            for phase in phases:
                if (by := self._cancel_requested(result.run_id)) is not None:
                    raise _Cancelled(by, 0)
                result.phases.append(self._phase(phase, scope, force, result.run_id))
            result.outcome = scope_outcome(self.s, scope, phases)
            state = "succeeded" if result.outcome.clean else "blocked"
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
            self._finish(run, result, state)
        return result

    def _start(self, run_id: str, command: str, scope: Scope,
               phases: Sequence[Phase]) -> RunRecord:
        window = scope.window
        run = RunRecord(run_id, command, self.s.clock.now(),
                        f"{getpass.getuser()}@{socket.gethostname()}",
                        f"seasons={','.join(scope.seasons)} "
                        f"phases={','.join(p.value for p in phases)}"
                        + (f" window={window.start}..{window.end}" if window.start or window.end
                           else "")
                        + (f" processors={','.join(sorted(scope.processors))}"
                           if scope.processors is not None else ""),
                        summary={"owner": self.owner})
        self.s.status.record_run(run)
        log.info("run %s started: %s", run.run_id, run.scope, extra={"run_id": run.run_id})
        return run

    def _finish(self, run: RunRecord, result: BackfillResult, state: str) -> None:
        summary = _summary(result)
        if result.cancelled_by is not None:
            summary["cancelled_by"] = result.cancelled_by
        self.s.status.record_run(RunRecord(run.run_id, run.command, run.started_at, run.who,
                                           run.scope, state, self.s.clock.now(), summary))

    def _cancel_requested(self, run_id: str) -> str | None:
        """Who asked to cancel the run (read from its record), or None."""
        with self._cancel_lock:
            if self._cancel_by is None:
                run = self.s.status.get_run(run_id)
                if run is not None and run.state == RUN_CANCELLING:
                    self._cancel_by = str(run.summary.get("cancel_requested_by") or "someone")
            return self._cancel_by

    def _phase(self, phase: Phase, scope: Scope, force: bool, run_id: str) -> PhaseResult:
        """plan → waves of units → (replan once the schedule is loaded) → progress → validate."""
        started = time.monotonic()
        pr = PhaseResult(phase)
        dead = dead_local_owners(self.s, scope.seasons)
        measured: dict[date, list[Check]] = {}  # by the waves, after their writes
        try:
            while True:
                planned = protocol.plan(self.s, phase, scope, force=force, run_id=run_id,
                                        group="processor", dead_owners=dead)
                for wave in planned.waves:
                    for d, found in self._wave(phase, wave, run_id, force, pr).items():
                        measured.setdefault(d, []).extend(found)
                if not planned.replan:
                    break
        except _Cancelled as stop:  # no gate: the phase did not finish
            pr.seconds = time.monotonic() - started
            stop.partial = pr
            raise
        cals = calendars(self.s.warehouse, scope.seasons)
        days = scope.days(cals, scope.procs(phase))
        if days:
            left = protocol.progress(self.s, phase, days[0], days[-1],
                                     [p.name for p in scope.procs(phase)])
            if left["in_flight"]:
                log.warning("phase %s: %d partition(s) still pending or running at the gate",
                            phase.value, left["in_flight"], extra={"run_id": run_id})
        pr.verdicts = (protocol.validate_phase(self.s, phase, scope, run_id, measured)
                       if pr.units_run or phase_unmeasured(self.s.status, phase, days)
                       else _latest(self.s, phase.value, days))
        self.progress.phase_gated(phase, pr.verdicts)
        pr.seconds = time.monotonic() - started
        return pr

    def _wave(self, phase: Phase, units: list[Unit], run_id: str, force: bool,
              pr: PhaseResult) -> dict[date, list[Check]]:
        """Run a wave's units on the local queue, then measure what they wrote (the checks,
        persisted)."""
        dates = sum(len(u.days) for u in units)
        pr.planned += dates
        self.progress.phase_started(phase, dates)
        procs = sorted({u.processor.name for u in units})
        days = sorted({d for u in units for d in u.days})
        cals = protocol.calendars_for(self.s, [u.processor for u in units], days)
        written: set[date] = set()
        known = (None if "schedule" in procs  # the calendar is not loaded yet
                 else protocol.KnownInputs.read(self.s, units, cals))
        self._queue(phase, units, run_id, force, pr, cals, written, known)
        if "schedule" in procs:  # it has just decided the calendar
            cals = protocol.calendars_for(self.s, [u.processor for u in units], days)
        if not written:
            return {}
        return Gate(self.s.warehouse, self.s.status, self.s.settings.thresholds,
                    self.s.clock).check([p for p in PROCESSORS if p.name in procs], cals,
                                        sorted(written), run_id)

    def _queue(self, phase: Phase, units: list[Unit], run_id: str, force: bool,
               pr: PhaseResult, cals: Sequence[Any], written: set[date],
               known: protocol.KnownInputs | None) -> None:
        queue = UnitQueue(units)
        deliveries: dict[int, int] = {}
        not_started: list[Unit] = []
        lock = threading.Lock()
        pool_dates = (sum(len(u.days) for u in units if u.processor.name != "schedule")
                      if phase in POOLED_PHASES else 0)  # the schedule is one season file

        def deliver(services: Services, unit: Unit) -> None:
            n = deliveries[id(unit)] = deliveries.get(id(unit), 0) + 1
            try:
                done = protocol.process(services, run_id, [unit.processor.name], unit.days,
                                        owner=self.owner, delivery=Delivery(n), cals=cals,
                                        measure=False, force=force,
                                        known=known if n == 1 else None)  # fresh on retry
            except TransientError as exc:
                if n >= protocol.MAX_DELIVERIES:
                    log.error("%s: gave up after %d deliveries: %s", unit.processor.name, n,
                              exc, extra={"run_id": run_id, "processor": unit.processor.name})
                    return
                with lock:
                    pr.redeliveries += 1
                first, most = REDELIVERY_BACKOFF_S
                queue.retry(unit, min(first * 2 ** (n - 1), most))
                return
            summary = done["processors"][unit.processor.name]
            with lock:
                pr.units_run += 1
                pr.dates_processed += summary["leased"]
                written.update(summary["leased_dates"])
            self.progress.unit_done(phase, unit.processor.name, len(unit.days))

        def work(services: Services) -> None:
            while (unit := queue.take()) is not None:
                try:
                    if self._cancel_requested(run_id) is not None:  # between units
                        with lock:
                            not_started.extend([unit, *queue.drain()])
                        return
                    deliver(services, unit)
                finally:
                    queue.done(unit)

        threads = min(self.s.settings.workers, queue.lanes())
        with (pooled(self.s, pool_dates) as services,
              ThreadPoolExecutor(max_workers=max(threads, 1)) as pool):
            for fut in [pool.submit(work, services) for _ in range(max(threads, 1))]:
                fut.result()
        by = self._cancel_requested(run_id)
        if by is not None:
            why = f"cancelled by {by} (run {run_id})"
            for unit in not_started:
                self.s.status.cancel(unit.processor.name, list(unit.days), why)
            raise _Cancelled(by, len(not_started))


def _latest(services: Services, scope: str, days: Sequence[date]) -> dict[date, GateVerdict]:
    """The newest verdict of ``scope`` (a phase value or a processor name) per date."""
    if not days:
        return {}
    latest: dict[date, GateVerdict] = {}
    for v in services.status.verdicts(scope, days[0], days[-1]):
        latest[v.game_date] = v
    wanted = set(days)
    return {d: v for d, v in latest.items() if d in wanted}


def scope_outcome(services: Services, scope: Scope, phases: Sequence[Phase]) -> ScopeOutcome:
    """Every expected (processor, date) of the phases in scope: done, or not and why, and the
    dates their phase gate BLOCKed."""
    cals = calendars(services.warehouse, scope.seasons)
    expected = done = 0
    open_: dict[str, int] = {}
    reasons: list[str] = []
    blocked: dict[str, int] = {}
    for phase in phases:
        procs = scope.procs(phase)
        days = scope.days(cals, procs)
        if not days:
            continue
        docs = {(d.processor, d.game_date): d
                for d in services.status.list([p.name for p in procs], days[0], days[-1])}
        for proc in procs:
            for day in (d for c in cals for d in scope.window.clip(c.expected_dates(proc))):
                expected += 1
                doc = docs.get((proc.name, day))
                if doc is not None and doc.state in DONE:
                    done += 1
                    continue
                state = doc.state.value if doc is not None else "absent"
                open_[state] = open_.get(state, 0) + 1
                if len(reasons) < 10:
                    why = (doc.reason or doc.error) if doc is not None else "never planned"
                    reasons.append(f"{proc.name} {day.isoformat()} {state}: {why or state}")
        gate = _latest(services, phase.value, days)
        blocked[phase.value] = sum(1 for v in gate.values() if v.verdict is Verdict.BLOCK)
    return ScopeOutcome(expected, done, open_, blocked, tuple(reasons))


def _summary(result: BackfillResult) -> dict[str, object]:
    out: dict[str, object] = {
        p.phase.value: {"units": p.units_run, "dates": p.dates_processed,
                        "pass": p.count(Verdict.PASS), "warn": p.count(Verdict.WARN),
                        "block": p.count(Verdict.BLOCK), "seconds": round(p.seconds, 2)}
        for p in result.phases
    }
    if result.outcome is not None:
        out["outcome"] = {"expected": result.outcome.expected, "done": result.outcome.done,
                          "open": result.outcome.open}
    return out

