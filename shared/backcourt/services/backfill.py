"""The local runner: phase-major backfill with a barrier and a gate between phases (LESSONS
R8.2). Rerunning resumes: the plan is recomputed from the status store (no cursor)."""

from __future__ import annotations

import getpass
import logging
import os
import socket
import time
import uuid
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import date

from backcourt.bootstrap import Services
from backcourt.domain.calendar import SeasonCalendar
from backcourt.domain.ids import season_bounds
from backcourt.domain.registry import BY_NAME, PROCESSORS, Phase, Processor, levels
from backcourt.domain.status import MAX_ATTEMPTS, GateVerdict, RunRecord, State, Verdict
from backcourt.services.calendar import calendars
from backcourt.services.gate import Gate, degraded_by_gate
from backcourt.services.lookback import bootstrap_dates, lookback_missing, same_phase_blocked
from backcourt.services.plan import ProcessorPlan, Unit, Window, plan_processor
from backcourt.services.process import UnitReport, run_unit

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


class Runner:
    """Runs phases over seasons on the local thread pool."""

    def __init__(self, services: Services, progress: Progress | None = None) -> None:
        self.s = services
        self.progress = progress or Progress()
        self.gate = Gate(services.warehouse, services.status, services.settings.thresholds)
        self.owner = services.owner()

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
        run = RunRecord(result.run_id, command, self.s.clock.now(),
                        f"{getpass.getuser()}@{socket.gethostname()}",
                        f"seasons={','.join(seasons)} phases={','.join(p.value for p in phases)}"
                        + (f" window={window.start}..{window.end}" if window.start or window.end
                           else ""))
        self.s.status.record_run(run)
        state = "succeeded"
        try:
            for phase in phases:
                pr = self._phase(phase, seasons, window, force, result.run_id)
                result.phases.append(pr)
                if pr.verdicts and all(v.verdict is Verdict.BLOCK for v in pr.verdicts.values()):
                    result.stopped_at = result.stopped_at or phase
                    state = "blocked"  # later phases still record their dates as blocked
        except BaseException:
            state = "failed"
            raise
        finally:
            self.s.status.record_run(RunRecord(
                run.run_id, run.command, run.started_at, run.who, run.scope, state,
                self.s.clock.now(), _summary(result)))
        return result

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
        for level in levels(phase):
            cals = self._level(phase, level, cals, seasons, window, force, run_id, allowed, pr)
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
        only = {p.name: self._lookback_ok(p, cals, window, allowed, force) for p in procs}
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
        by_proc: dict[str, list[Unit]] = {}
        for u in units:
            by_proc.setdefault(u.processor.name, []).append(u)

        def work(chain: list[Unit]) -> None:
            for unit in chain:  # one writer per table at a time
                report = run_unit(self.s, unit.processor, unit.days, run_id=run_id,
                                  owner=self.owner, force=force,
                                  bootstrap=boot.get(unit.processor.name, []))
                pr.units_run += 1
                pr.dates_processed += len(report.leased)
                self.progress.unit_done(phase, report)

        with ThreadPoolExecutor(max_workers=self.s.settings.workers) as pool:
            for fut in [pool.submit(work, chain) for chain in by_proc.values()]:
                fut.result()

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


def _summary(result: BackfillResult) -> dict[str, object]:
    return {
        p.phase.value: {"units": p.units_run, "dates": p.dates_processed,
                        "pass": p.count(Verdict.PASS), "warn": p.count(Verdict.WARN),
                        "block": p.count(Verdict.BLOCK), "seconds": round(p.seconds, 2)}
        for p in result.phases
    }


ProgressFactory = Callable[[], Progress]
