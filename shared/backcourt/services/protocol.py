"""The one protocol both drivers follow: plan → units → process one unit → progress → validate.

The backfill workflow calls these steps as Cloud Functions over Pub/Sub (``functions/main.py``);
the local backfill (``services.backfill``) calls the same functions over a local queue. Every
answer to the cloud is small and JSON-able, so Workflows can keep it in a variable.

* :func:`plan` seeds the phase's status documents and returns its units, in waves;
* :func:`process` runs one unit: per processor, readiness (``domain.readiness``) decides each
  date from what it reads, the ready dates are computed under leases (``process.run_unit``),
  and the gate measures what was written;
* :func:`progress` counts the phase's partitions by state;
* :func:`validate_phase` runs the gate over the phase and records its verdicts.
"""

from __future__ import annotations

import json
import logging
import os
import socket
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any, Literal

from backcourt.domain.calendar import SeasonCalendar
from backcourt.domain.dates import FIRST_DAY, date_range, eastern_date, runs
from backcourt.domain.errors import BadInput, TransientError
from backcourt.domain.ids import season_bounds, season_of
from backcourt.domain.messages import MAX_RANGE_DAYS, WorkMessage, make_message
from backcourt.domain.readiness import Decision, InputDoc, Reads, decide, waited_too_long
from backcourt.domain.registry import (
    BY_NAME,
    Phase,
    Processor,
    get,
    levels,
    of_phase,
    parse_phase,
)
from backcourt.domain.status import GateVerdict, State, Verdict
from backcourt.ports import Services
from backcourt.services.calendar import calendars
from backcourt.services.gate import Check, Gate
from backcourt.services.inputs import input_docs, input_docs_of
from backcourt.services.lookback import bootstrap_dates
from backcourt.services.plan import Unit, Window, plan_processor
from backcourt.services.process import UnitReport, run_unit
from backcourt.services.schedules import SCHEDULE, rearm_changed_schedule, require_schedules

log = logging.getLogger(__name__)

IN_FLIGHT = (State.PENDING, State.RUNNING)
MAX_DELIVERIES = 5
"""Deliveries of one message before it is given up: Pub/Sub's smallest dead-letter limit
(``max_delivery_attempts``, 5–100), so a date waiting on its inputs is blocked on the last
delivery instead of waiting forever."""

Grouping = Literal["span", "processor"]
"""How :func:`plan` groups work into units. ``span`` (the cloud): one message per date span
with every processor of the phase, run in level order inside it, all in one wave.
``processor`` (the local queue): one unit per processor and chunk of dates, one wave per level
(a wave starts once the previous one has finished)."""


def owner_id(execution_id: str) -> str:
    """Lease owner of one function execution: ``{K_SERVICE or host}:{execution id}``."""
    return f"{os.environ.get('K_SERVICE') or socket.gethostname()}:{execution_id}"


def seasons_between(start: date, end: date) -> list[str]:
    """The seasons a date range touches, in order."""
    if start > end:
        raise BadInput(f"start {start} is after end {end}")
    return sorted({season_of(d) for d in date_range(start, end)})


@dataclass(frozen=True)
class Scope:
    """What a run covers: seasons, optionally narrowed by a window and to some processors (the
    daily pre-game chain runs only what can run before the games)."""

    seasons: tuple[str, ...]
    window: Window = Window()
    processors: frozenset[str] | None = None

    @classmethod
    def of(cls, seasons: Sequence[str] | None, start: date | None = None,
           end: date | None = None, processors: Sequence[str] | None = None) -> Scope:
        """From seasons (and an optional window), or from a start and end date alone.

        Raises:
            BadInput: no seasons and no complete window, or an unknown processor name.
        """
        only = frozenset(get(p).name for p in processors) if processors else None
        if seasons:
            for s in seasons:
                season_bounds(s)
            return cls(tuple(seasons), Window(start, end), only)
        if start is None or end is None:
            raise BadInput("give seasons, or both start and end")
        return cls(tuple(seasons_between(start, end)), Window(start, end), only)

    def procs(self, phase: Phase) -> tuple[Processor, ...]:
        """The processors of ``phase`` in scope, in level order."""
        return tuple(p for p in of_phase(phase)
                     if self.processors is None or p.name in self.processors)

    def days(self, cals: Sequence[SeasonCalendar], procs: Sequence[Processor]) -> list[date]:
        """The expected dates of ``procs`` in scope, sorted."""
        return sorted({d for c in cals for p in procs
                       for d in self.window.clip(c.expected_dates(p))})


# -- plan ----------------------------------------------------------------------------------


@dataclass
class Plan:
    """The units of one phase, in waves, and whether to plan again once they are done."""

    phase: Phase
    waves: list[list[Unit]] = field(default_factory=list)
    replan: bool = False

    @property
    def units(self) -> list[Unit]:
        """Every unit, wave after wave."""
        return [u for wave in self.waves for u in wave]


def plan(services: Services, phase: Phase, scope: Scope, *, force: bool = False,
         run_id: str = "manual", group: Grouping = "span",
         dead_owners: Sequence[str] = (), measure: bool = True) -> Plan:
    """Seed the phase's status documents and return its units.

    Leases that expired (a worker killed mid-unit) or whose owner is known dead go back to
    pending first, so this plan retries them. With ``measure`` the gate first measures the
    phase's done dates that have no verdict since their last write (``Gate.catch_up``): what
    readiness reads is always a measurement. While the schedule still needs loading, only its
    units are returned with ``replan`` true: it decides every other processor's calendar. A
    season without a schedule file raises ``ScheduleMissing``; a season whose live schedule
    file is not the version loaded has its schedule re-armed (``services.schedules``).
    ``force`` re-arms finished dates, except those this run already computed.
    """
    services.warehouse.ensure_tables([p.table for p in of_phase(phase)])
    require_schedules(services.bucket, scope.seasons, services.status)
    if any(p.name == SCHEDULE for p in scope.procs(phase)):  # each plan: the latest schedule
        for season in scope.seasons:
            if rearm_changed_schedule(services, season):
                log.warning("%s: a new schedule version is in the bucket; reloading it",
                            season, extra={"run_id": run_id, "phase": phase.value})
    released = services.status.release_expired(services.clock.now(), dead_owners)
    if released:
        log.warning("released %d lease(s) of crashed workers", released,
                    extra={"run_id": run_id, "phase": phase.value})
    cals = calendars(services.warehouse, scope.seasons)
    if measure:  # the whole seasons: a lookback reads dates before the window
        Gate(services.warehouse, services.status, services.settings.thresholds,
             services.clock).catch_up(scope.procs(phase), cals,
                                      Scope(scope.seasons).days(cals, scope.procs(phase)), run_id)
    chunk_days = services.settings.chunk_days
    out = Plan(phase)
    for level in levels(phase):
        wave = []
        for proc in (p for p in level if p in scope.procs(phase)):
            planned = plan_processor(services.status, proc, cals, scope.window, chunk_days,
                                     force=force, run_id=run_id)
            wave += planned.units
        if any(u.processor.name == "schedule" for u in wave):
            return Plan(phase, [wave], replan=True)
        if wave:
            out.waves.append(wave)
    if group == "span":
        out.waves = [_span_units(phase, out.units, chunk_days)] if out.waves else []
    return out


def _span_units(phase: Phase, units: Sequence[Unit], chunk_days: int) -> list[Unit]:
    """One unit per span of ≤ ``chunk_days`` dates and ≤ 62 days, holding every processor of
    the phase with work in it (as one message, run in level order)."""
    todo: dict[str, set[date]] = {}
    for u in units:
        todo.setdefault(u.processor.name, set()).update(u.days)
    out = []
    for a, b in _spans(sorted({d for ds in todo.values() for d in ds}), chunk_days):
        for proc in of_phase(phase):
            days = tuple(d for d in sorted(todo.get(proc.name, ())) if a <= d <= b)
            if days:
                out.append(Unit(proc, days, span=(a, b)))
    return out


def _spans(days: Sequence[date], chunk_days: int) -> list[tuple[date, date]]:
    """Split sorted dates into (start, end) ranges of ≤ chunk_days dates and ≤ 62 days."""
    out: list[tuple[date, date]] = []
    group: list[date] = []
    for d in sorted(set(days)):
        if group and (len(group) >= chunk_days or (d - group[0]).days + 1 > MAX_RANGE_DAYS):
            out.append((group[0], group[-1]))
            group = []
        group.append(d)
    if group:
        out.append((group[0], group[-1]))
    return out


def messages(plan_: Plan, run_id: str,
             mode: Literal["backfill", "daily"] = "backfill") -> list[list[WorkMessage]]:
    """The plan's units as work messages, wave by wave (span units of one span share one; a
    season's schedule load is one message, ``messages.SCHEDULE_ONLY``)."""
    out = []
    for wave in plan_.waves:
        spans: dict[tuple[date, date], list[str]] = {}
        for u in wave:
            span = u.span or (min(u.days), max(u.days))
            whole = u.span or u.processor.name == SCHEDULE  # a season's schedule: one message
            for a, b in [span] if whole else _spans(u.days, len(u.days)):
                spans.setdefault((a, b), []).append(u.processor.name)
        out.append([make_message(run_id, plan_.phase, procs, a, b, mode=mode)
                    for (a, b), procs in spans.items()])
    return out


def plan_phase(services: Services, phase: Phase | str, *, seasons: Sequence[str] | None = None,
               start: date | None = None, end: date | None = None,
               force: bool = False, run_id: str = "manual",
               processors: Sequence[str] | None = None) -> dict[str, Any]:
    """The ``plan`` function: :func:`plan` grouped by span, as JSON-able messages.

    Returns:
        ``{"phase", "waves": [[message, ...]], "units", "dates" (distinct non-schedule dates),
        "replan"}``; each message is a complete work message the workflow publishes as is.
    """
    ph = phase if isinstance(phase, Phase) else parse_phase(phase)
    scope = Scope.of(seasons, start, end, processors)
    planned = plan(services, ph, scope, force=force, run_id=run_id, group="span")
    log.info("plan phase %s over %s", ph.value, ", ".join(scope.seasons),
             extra={"run_id": run_id, "phase": ph.value})
    waves = [[json.loads(m.to_json()) for m in wave] for wave in messages(planned, run_id)]
    dates = {d for u in planned.units if u.processor.name != "schedule" for d in u.days}
    return {"phase": ph.value, "waves": waves, "units": sum(len(w) for w in waves),
            "dates": len(dates), "replan": planned.replan}


# -- process -------------------------------------------------------------------------------


@dataclass(frozen=True)
class KnownInputs:
    """Inputs already read for a set of units: the calendars' view and, per processor, the
    status and verdict of every (input, date) it reads over the units' dates."""

    reads: Reads
    docs: Mapping[str, Mapping[tuple[str, date], InputDoc]]

    @classmethod
    def read(cls, services: Services, units: Sequence[Unit],
             cals: Sequence[SeasonCalendar]) -> KnownInputs:
        """One read per input processor for all ``units`` (a local wave)."""
        reads = Reads(cals)
        days: dict[str, set[date]] = {}
        for u in units:
            days.setdefault(u.processor.name, set()).update(u.days)
        return cls(reads, input_docs_of(services.status,
                                        {BY_NAME[n]: sorted(ds) for n, ds in days.items()},
                                        reads))


@dataclass
class Delivery:
    """How a unit reached its worker: the delivery count and its limit (Pub/Sub's
    ``deliveryAttempt`` and the subscription's dead-letter ``max_delivery_attempts``), and when
    the worker is killed (the function's timeout from the start of the delivery; None when
    nothing kills it).

    Every delivery of one message has the same lease owner (:func:`owner_id` of the message
    id), so a redelivery reclaims the leases an earlier delivery died holding. On the last
    delivery every date it leases ends in a recorded final state (``transitions``: a transient
    failure or a lease that runs out is ``failed`` with reason ``dead_lettered``), because
    Pub/Sub redelivers it no more."""

    attempt: int = 1
    limit: int = MAX_DELIVERIES
    deadline: datetime | None = None

    @property
    def last(self) -> bool:
        """Whether no redelivery follows this one."""
        return self.attempt >= self.limit


def process_message(services: Services, msg: WorkMessage, *, execution_id: str = "local",
                    delivery: Delivery | None = None) -> dict[str, Any]:
    """The ``process`` function: one work message (every date of its span)."""
    return process(services, msg.run_id, msg.processors, msg.dates(),
                   owner=owner_id(execution_id), delivery=delivery or Delivery(),
                   phase=msg.phase)


def process(services: Services, run_id: str, processors: Sequence[str], days: Sequence[date],
            *, owner: str, delivery: Delivery | None = None, phase: Phase | None = None,
            cals: Sequence[SeasonCalendar] | None = None, measure: bool = True,
            force: bool = False, known: KnownInputs | None = None) -> dict[str, Any]:
    """Run one unit: each processor in level order over ``days``, each date as readiness
    decides from what it reads.

    ``run`` dates are computed under leases (another owner's live lease: skipped, so a duplicate
    of the work in another message does nothing; this owner's own live lease, left by an earlier
    delivery of the same message that died: reclaimed); ``block`` dates are recorded ``blocked``
    with the reason; ``wait`` dates are left for a redelivery, and blocked on the last one. With
    ``measure`` the gate measures what was written (the local driver measures once per wave
    instead). ``known`` gives the inputs' status and verdicts already read (the local driver
    reads them once per wave: a wave's inputs are all written before it starts); else they are
    read here.

    Returns:
        Per processor: dates leased, reclaimed, skipped, waiting and blocked, rows written
        and states.
    Raises:
        TransientError: a date failed transiently and has attempts left, or waits for its
            inputs, and this is not the last delivery: redeliver the unit.
    """
    delivery = delivery or Delivery()
    procs = sorted((BY_NAME[p] for p in processors), key=lambda p: p.level)
    days = sorted(set(days))
    cals = list(cals) if cals is not None else calendars_for(services, procs, days)
    reads = known.reads if known is not None else Reads(cals)
    gate = Gate(services.warehouse, services.status, services.settings.thresholds,
                services.clock)
    result: dict[str, Any] = {"run_id": run_id, "phase": (phase or procs[0].phase).value,
                              "start_date": days[0].isoformat(),
                              "end_date": days[-1].isoformat(), "processors": {}}
    waiting: dict[tuple[str, date], str] = {}
    for proc in procs:
        docs = (known.docs[proc.name] if known is not None and proc.name in known.docs
                else input_docs(services.status, proc, days, reads))
        ready, blocked, waits = _decide(services, proc, days, reads, docs, delivery)
        waiting.update({(proc.name, d): why for d, why in waits.items()})
        report = run_unit(services, proc, ready, run_id=run_id, owner=owner, force=force,
                          bootstrap=bootstrap_dates(proc, cals), last=delivery.last,
                          deadline=delivery.deadline)
        if proc.name == "schedule":  # it has just decided the calendar
            cals = calendars_for(services, procs, days)
            reads = Reads(cals)
        if measure and report.leased:
            gate.check([proc], cals, report.leased, run_id)
        result["processors"][proc.name] = _summary(report, waits, blocked)
        _raise_if_retrying(services, proc, report, run_id)
    if waiting:
        (name, day), why = next(iter(waiting.items()))
        raise TransientError(f"{len(waiting)} date(s) wait for their inputs: {name} "
                             f"{day.isoformat()} {why}", processor=name, game_date=day,
                             run_id=run_id)
    return result


def calendars_for(services: Services, procs: Sequence[Processor],
                  days: Sequence[date]) -> list[SeasonCalendar]:
    """The calendars of every season the processors read on ``days`` (a ``days`` span may
    reach back into earlier seasons)."""
    back = max((i.days for p in procs for i in p.inputs), default=0)
    first = max(days[0] - timedelta(days=back), FIRST_DAY)  # no season before the first
    return calendars(services.warehouse, seasons_between(first, days[-1]))


def _decide(services: Services, proc: Processor, days: Sequence[date], reads: Reads,
            docs: Mapping[tuple[str, date], InputDoc], delivery: Delivery,
            ) -> tuple[list[date], dict[date, str], dict[date, str]]:
    """Readiness of every date: the dates to run, and those blocked and waiting with why.
    Blocked dates (and, on the last delivery, waiting ones) are recorded ``blocked``."""
    ready: list[date] = []
    blocked: dict[date, str] = {}
    waits: dict[date, str] = {}
    readable: dict[str, set[date]] = {}  # the days share most of what they read
    for d in days:
        verdict = decide(proc, d, reads, docs, readable)
        if verdict.decision is Decision.RUN:
            ready.append(d)
        elif verdict.decision is Decision.BLOCK:
            blocked[d] = verdict.reason or ""
        elif verdict.decision is Decision.WAIT:
            if delivery.last:
                blocked[d] = waited_too_long(verdict.reason, delivery.attempt)
            else:
                waits[d] = verdict.reason or ""
    _record_blocked(services, proc, blocked)
    _rearm_ready(services, proc, ready)
    return ready, blocked, waits


def _rearm_ready(services: Services, proc: Processor, ready: list[date]) -> None:
    """A date blocked earlier (by this run or another) whose inputs are now ready goes back to
    pending, so it can be leased: blocked means waiting for inputs, never done."""
    if not ready:
        return
    blocked = [s.game_date for s in services.status.list([proc.name], ready[0], ready[-1])
               if s.state is State.BLOCKED and s.game_date in set(ready)]
    if blocked:
        services.status.reset(proc.name, blocked, [State.BLOCKED])


def _record_blocked(services: Services, proc: Processor, blocked: dict[date, str]) -> None:
    """Blocked dates that are waiting to run (pending, or blocked before) get the reason."""
    if not blocked:
        return
    docs = {s.game_date: s for s in services.status.list([proc.name], min(blocked),
                                                          max(blocked))}
    for d, why in blocked.items():
        doc = docs.get(d)
        if doc is not None and doc.state in (State.PENDING, State.BLOCKED):
            services.status.annotate(proc.name, d, State.BLOCKED, why)


def _summary(report: UnitReport, waits: dict[date, str],
             blocked: dict[date, str]) -> dict[str, Any]:
    states = Counter(o.state.value for o in report.outcomes.values())
    return {"leased": len(report.leased), "leased_dates": report.leased,
            "reclaimed": len(report.reclaimed), "skipped": len(report.skipped),
            "waiting": len(waits), "blocked": len(blocked), "rows": report.rows,
            "states": dict(states)}


def _raise_if_retrying(services: Services, proc: Processor, report: UnitReport,
                       run_id: str) -> None:
    """Raise TransientError when a date failed transiently and is pending again."""
    retry = [d for d, o in report.outcomes.items() if o.error_kind == "transient"]
    again = [d for d in retry if (st := services.status.get(proc.name, d)) is not None
             and st.state is State.PENDING]
    if again:
        first = report.outcomes[again[0]]
        raise TransientError(f"{len(again)} date(s) failed transiently and will be retried: "
                             f"{first.error}", processor=proc.name, game_date=again[0],
                             run_id=run_id)


# -- progress and validate -----------------------------------------------------------------


def progress(services: Services, phase: Phase | str, start: date, end: date,
             processors: Sequence[str] | None = None) -> dict[str, Any]:
    """Counts by state of the phase's partitions in [start, end] (one aggregate query; the
    schedule's over its whole seasons: a window's plan loads them whole, so a phase is finished
    only when what it published is).

    Expired leases are released first, as :func:`plan` does: a killed worker's dates go back to
    ``pending`` (its message, never acked, is redelivered and takes them) or, when their
    attempts or their message's deliveries are used up, to ``failed``. Without this they would
    count as running until the phase deadline.

    Returns:
        ``{"phase", "by_state": {state: n}, "total", "in_flight", "finished", "released"}``
        where ``finished`` is true when nothing is pending or running.
    """
    ph = phase if isinstance(phase, Phase) else parse_phase(phase)
    if start > end:
        raise BadInput(f"start {start} is after end {end}")
    released = services.status.release_expired(services.clock.now())
    if released:
        log.warning("progress released %d expired lease(s)", released,
                    extra={"phase": ph.value})
    names = [p.name for p in Scope.of(None, start, end, processors).procs(ph)]
    counts = services.status.counts([n for n in names if n != SCHEDULE], start, end)
    if SCHEDULE in names:  # plan loads each season's schedule whole, whatever the window
        first, last = _season_span(start, end)
        counts.update(services.status.counts([SCHEDULE], first, last))
    by_state: Counter[str] = Counter()
    for (_, state), n in counts.items():
        by_state[state.value] += n
    in_flight = sum(by_state.get(s.value, 0) for s in IN_FLIGHT)
    return {"phase": ph.value, "by_state": dict(sorted(by_state.items())),
            "total": sum(by_state.values()), "in_flight": in_flight, "finished": in_flight == 0,
            "released": released}


def _season_span(start: date, end: date) -> tuple[date, date]:
    """The first and last day of the seasons [start, end] falls in (what a schedule load
    covers: ``plan._schedule_plan``)."""
    seasons = seasons_between(start, end)
    return season_bounds(seasons[0])[0], season_bounds(seasons[-1])[1]


def validate_phase(services: Services, phase: Phase, scope: Scope,
                   run_id: str | None = None,
                   measured: dict[date, list[Check]] | None = None) -> dict[date, GateVerdict]:
    """Run the gate on the phase's expected dates in scope; every verdict is persisted.
    ``measured``: the checks of this phase's units, measured after their writes (the local
    runner's waves), reused instead of measured again (``Gate.validate``)."""
    cals = calendars(services.warehouse, scope.seasons)
    days = scope.days(cals, scope.procs(phase))
    gate = Gate(services.warehouse, services.status, services.settings.thresholds,
                services.clock)
    return gate.validate(phase, cals, days, run_id, procs=scope.procs(phase), measured=measured)


def validate(services: Services, phase: Phase | str, start: date, end: date,
             run_id: str | None = None,
             processors: Sequence[str] | None = None) -> dict[str, Any]:
    """The ``validate`` function: :func:`validate_phase` over [start, end], summarised.

    Returns:
        ``{"phase", "verdict" (worst of the dates; PASS when no date is expected), "counts",
        "blocked": [first 20 blocked dates], "reasons": [first 10 reasons]}``.
    """
    ph = phase if isinstance(phase, Phase) else parse_phase(phase)
    verdicts = validate_phase(services, ph, Scope.of(None, start, end, processors), run_id)
    counts = Counter(v.verdict.value for v in verdicts.values())
    worst = next((v for v in (Verdict.BLOCK, Verdict.WARN) if counts.get(v.value)), Verdict.PASS)
    blocked = [d for d, v in sorted(verdicts.items()) if v.verdict is Verdict.BLOCK]
    reasons = [f"{d.isoformat()}: {r}" for d, v in sorted(verdicts.items())
               if v.verdict is not Verdict.PASS for r in v.reasons]
    return {"phase": ph.value, "verdict": worst.value, "dates": len(verdicts),
            "counts": {k.value: counts.get(k.value, 0) for k in Verdict},
            "blocked": [d.isoformat() for d in blocked[:20]],
            "blocked_ranges": [[a.isoformat(), b.isoformat()] for a, b in runs(blocked)][:20],
            "reasons": reasons[:10]}


# -- daily ---------------------------------------------------------------------------------


def resolve_daily(now: datetime) -> dict[str, str]:
    """Resolve the daily run's dates ONCE, in America/New_York (the ``start_daily`` function
    and ``backcourt daily`` both call this).

    Returns:
        ``{"post_game_date": yesterday, "pre_game_date": yesterday + 1 day}`` as ISO dates.
    Raises:
        BadInput: ``now`` has no time zone.
    """
    yesterday = eastern_date(now) - timedelta(days=1)
    return {"post_game_date": yesterday.isoformat(),
            "pre_game_date": (yesterday + timedelta(days=1)).isoformat()}


__all__ = ["MAX_DELIVERIES", "Delivery", "Plan", "Scope", "messages", "owner_id",
           "plan", "plan_phase", "process", "process_message", "progress", "resolve_daily",
           "seasons_between", "validate", "validate_phase"]
