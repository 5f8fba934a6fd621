"""The services the Cloud Functions call: process one work message, plan a phase, count
progress, validate a phase and resolve the daily dates. Every answer is small and JSON-able
(no per-date results beyond the unit list), so Workflows can keep it in a variable."""

from __future__ import annotations

import json
import logging
import os
import socket
from collections import Counter
from collections.abc import Sequence
from datetime import date, datetime, timedelta
from typing import Any

from backcourt.domain.calendar import SeasonCalendar
from backcourt.domain.dates import date_range, eastern_date, runs
from backcourt.domain.errors import BadInput, TransientError
from backcourt.domain.ids import season_bounds, season_of
from backcourt.domain.messages import MAX_RANGE_DAYS, WorkMessage, make_message
from backcourt.domain.registry import BY_NAME, Phase, Processor, of_phase
from backcourt.domain.status import DONE, State, Verdict
from backcourt.ports import Services
from backcourt.services.calendar import calendars
from backcourt.services.gate import Gate, degraded_by_gate
from backcourt.services.lookback import bootstrap_dates, lookback_missing
from backcourt.services.plan import Window
from backcourt.services.plan import plan_phase as plan_levels
from backcourt.services.process import run_unit

log = logging.getLogger(__name__)

IN_FLIGHT = (State.PENDING, State.RUNNING)


def owner_id(execution_id: str) -> str:
    """Lease owner of one function execution: ``{K_SERVICE or host}:{execution id}``."""
    return f"{os.environ.get('K_SERVICE') or socket.gethostname()}:{execution_id}"


def seasons_between(start: date, end: date) -> list[str]:
    """The seasons a date range touches, in order."""
    if start > end:
        raise BadInput(f"start {start} is after end {end}")
    return sorted({season_of(d) for d in date_range(start, end)})


def _upstream_not_ready(services: Services, proc: Processor, msg: WorkMessage,
                        days: Sequence[date]) -> dict[date, list[str]]:
    """Same-phase upstream processors of this message that are not done on a date."""
    ups = [u.processor for u in proc.upstream if u.processor in msg.processors]
    out: dict[date, list[str]] = {}
    for up in ups:
        docs = {s.game_date: s for s in services.status.list([up], min(days), max(days))}
        for d in days:
            doc = docs.get(d)
            if doc is not None and doc.state not in DONE and doc.state is not State.NOT_EXPECTED:
                out.setdefault(d, []).append(f"{up} {doc.state.value}")
    return out


def _lookback_blocked(services: Services, proc: Processor, cals: Sequence[SeasonCalendar],
                      days: Sequence[date]) -> dict[date, list[str]]:
    """Dates whose earlier-phase lookback window is incomplete, recorded ``blocked`` with reason
    ``lookback_incomplete`` naming what is missing (as the local runner does): a message that
    runs phase 4 alone (the daily pre-game chain) never computes on a hole in its history."""
    out: dict[date, list[str]] = {}
    for cal in cals:
        missing = lookback_missing(services.status, proc, cal, [d for d in days
                                                                if cal.start <= d <= cal.end])
        for d, names in missing.items():
            if not names:
                continue
            out[d] = names
            current = services.status.get(proc.name, d)
            if current and current.state in (State.PENDING, State.BLOCKED):
                more = f" (+{len(names) - 6} more)" if len(names) > 6 else ""
                services.status.annotate(proc.name, d, State.BLOCKED,
                                         "lookback_incomplete: " + ", ".join(names[:6]) + more)
    return out


HISTORY_DAYS = 366
"""How far back a processor reading earlier dates of a same-phase upstream looks (the
upcoming_* SQL reads a year of history)."""


def _history_unfinished(services: Services, proc: Processor,
                        days: Sequence[date]) -> dict[date, list[str]]:
    """Dates whose history is still being written: a same-phase upstream read across dates
    (``lookback_games``, e.g. player_game_summary before upcoming_player_game_context) is
    pending or running on an earlier date. Another message (a parallel span, a redelivery) has
    it; computing now would read a partial history, so these dates wait for a redelivery (the
    local runner's level barrier gives the same order)."""
    ups = [u.processor for u in proc.upstream
           if u.lookback_games and BY_NAME[u.processor].phase is proc.phase]
    out: dict[date, list[str]] = {}
    if not ups or not days:
        return out
    since = min(days) - timedelta(days=HISTORY_DAYS)
    for up in ups:
        open_days = sorted(doc.game_date for doc in services.status.list([up], since, max(days))
                           if doc.state in IN_FLIGHT)
        for d in days:
            earlier = [e for e in open_days if e < d]
            if earlier:
                out.setdefault(d, []).append(f"{up} {earlier[0].isoformat()} "
                                             f"(+{len(earlier) - 1} more)")
    return out


def process_message(services: Services, msg: WorkMessage, *,
                    execution_id: str = "local") -> dict[str, Any]:
    """Run every processor of the message in level order over its dates, under leases.

    Dates another execution holds are skipped (a duplicate delivery does nothing). A date whose
    same-phase upstream is not done is left alone (blocked when the upstream ended failed or
    blocked), and so is one whose earlier-phase lookback is incomplete (blocked,
    ``lookback_incomplete``). A date whose cross-date history (earlier dates of a same-phase
    upstream) is still pending or running waits: the message raises once the rest is done, so
    it is redelivered. Terminal failures are recorded per date in the status store by
    ``run_unit``.

    Returns:
        Per processor: dates leased and skipped, states reached and rows written.
    Raises:
        TransientError: a date failed transiently and has attempts left (it is ``pending``
            again), or waits for its history, so the message must be redelivered.
    """
    owner = owner_id(execution_id)
    days = msg.dates()
    procs = sorted((BY_NAME[p] for p in msg.processors), key=lambda p: p.level)
    cals = (calendars(services.warehouse, seasons_between(days[0], days[-1]))
            if any(p.min_history_dates or p.lookback_days for p in procs) else [])
    result: dict[str, Any] = {"run_id": msg.run_id, "phase": msg.phase.value,
                              "start_date": msg.start_date.isoformat(),
                              "end_date": msg.end_date.isoformat(), "processors": {}}
    deferred: dict[tuple[str, date], list[str]] = {}
    for proc in procs:
        waiting = _upstream_not_ready(services, proc, msg, days)
        for d, names in waiting.items():
            current = services.status.get(proc.name, d)
            if any(n.endswith((State.FAILED.value, State.BLOCKED.value)) for n in names) \
                    and current and current.state in (State.PENDING, State.BLOCKED):
                services.status.annotate(proc.name, d, State.BLOCKED,
                                         "upstream_incomplete: " + ", ".join(names))
        waiting.update(_lookback_blocked(services, proc, cals,
                                         [d for d in days if d not in waiting]))
        history = _history_unfinished(services, proc, [d for d in days if d not in waiting])
        deferred.update({(proc.name, d): names for d, names in history.items()})
        waiting.update(history)
        mine = [d for d in days if d not in waiting]
        report = run_unit(services, proc, mine, run_id=msg.run_id, owner=owner,
                          bootstrap=bootstrap_dates(proc, cals))
        states = Counter(o.state.value for o in report.outcomes.values())
        result["processors"][proc.name] = {
            "leased": len(report.leased), "skipped": len(report.skipped),
            "waiting": len(waiting), "rows": report.rows, "states": dict(states)}
        retry = [d for d, o in report.outcomes.items() if o.error_kind == "transient"]
        again = [d for d in retry if (st := services.status.get(proc.name, d)) is not None
                 and st.state is State.PENDING]
        if again:
            first = report.outcomes[again[0]]
            log.warning("%s: %d date(s) failed transiently, message redelivered: %s",
                        proc.name, len(again), first.error,
                        extra={"run_id": msg.run_id, "processor": proc.name,
                               "phase": msg.phase.value, "game_date": again[0],
                               "execution_id": execution_id})
            raise TransientError(f"{len(again)} date(s) failed transiently and will be retried: "
                                 f"{first.error}", processor=proc.name, game_date=again[0],
                                 run_id=msg.run_id)
    if deferred:
        (name, day), names = next(iter(deferred.items()))
        raise TransientError(f"{len(deferred)} date(s) wait for earlier dates still being "
                             f"written: {name} {day.isoformat()} needs {', '.join(names)}",
                             processor=name, game_date=day, run_id=msg.run_id)
    return result


def _window(seasons: Sequence[str] | None, start: date | None,
            end: date | None) -> tuple[list[str], Window]:
    if seasons:
        for s in seasons:
            season_bounds(s)
        return list(seasons), Window(start, end)
    if start is None or end is None:
        raise BadInput("give seasons, or both start and end")
    return seasons_between(start, end), Window(start, end)


def _spans(days: Sequence[date], chunk_days: int) -> list[tuple[date, date]]:
    """Split sorted dates into (start, end) ranges of ≤ chunk_days dates and ≤ 62 days."""
    out: list[tuple[date, date]] = []
    group: list[date] = []
    for d in sorted(set(days)):
        if group and (len(group) >= chunk_days
                      or (d - group[0]).days + 1 > MAX_RANGE_DAYS):
            out.append((group[0], group[-1]))
            group = []
        group.append(d)
    if group:
        out.append((group[0], group[-1]))
    return out


def plan_phase(services: Services, phase: Phase | str, *, seasons: Sequence[str] | None = None,
               start: date | None = None, end: date | None = None,
               force: bool = False, run_id: str = "manual") -> dict[str, Any]:
    """Seed the phase's status documents and return the units to publish as messages.

    Every unit of a wave may run at once. One unit = the phase's processors with work over a
    date range (≤ 62 days; processed in level order inside the message). When the schedule
    still needs loading, only its units are returned with ``replan`` true: the caller
    publishes them, waits until ``progress`` says finished, then calls ``plan`` again (the
    schedule decides every other processor's calendar).

    Returns:
        ``{"phase", "waves": [[{"processors", "start_date", "end_date"}, ...]], "units",
        "dates" (distinct non-schedule dates), "replan"}``.
    """
    ph = phase if isinstance(phase, Phase) else _phase(phase)
    names, window = _window(seasons, start, end)
    services.warehouse.ensure_tables([p.table for p in of_phase(ph)])
    # A worker killed mid-unit never finishes its lease and nothing renews it: once it has
    # expired the date goes back to pending (or failed after 3 attempts), so this plan retries
    # it (the local runner does the same when it starts).
    services.status.release_expired(services.clock.now())
    cals = calendars(services.warehouse, names)
    levels = plan_levels(services.status, ph, cals, window, services.settings.chunk_days,
                         force=force)
    log.info("plan phase %s over %s", ph.value, ", ".join(names),
             extra={"run_id": run_id, "phase": ph.value})
    first: list[dict[str, Any]] = []
    todo: dict[str, set[date]] = {}
    for level in levels:
        for plan in level:
            for unit in plan.units:
                if plan.processor.name == "schedule":
                    first += [_unit(run_id, ph, [plan.processor.name], a, b)
                              for a, b in _spans(unit.days, len(unit.days) or 1)]
                else:
                    todo.setdefault(plan.processor.name, set()).update(unit.days)
    all_days = sorted({d for ds in todo.values() for d in ds})
    second = []
    for a, b in _spans(all_days, services.settings.chunk_days):
        procs = [p.name for p in of_phase(ph)
                 if any(a <= d <= b for d in todo.get(p.name, ()))]
        second.append(_unit(run_id, ph, procs, a, b))
    if first:  # the schedule decides the calendar: plan again once it is loaded
        return {"phase": ph.value, "waves": [first], "units": len(first), "dates": 0,
                "replan": True}
    return {"phase": ph.value, "waves": [second] if second else [], "units": len(second),
            "dates": len(all_days), "replan": False}


def _unit(run_id: str, phase: Phase, processors: list[str], start: date, end: date,
          ) -> dict[str, Any]:
    """A complete work message (the workflow publishes it as is)."""
    message: dict[str, Any] = json.loads(make_message(run_id, phase, processors, start,
                                                      end).to_json())
    return message


def _phase(text: str) -> Phase:
    from backcourt.domain.registry import parse_phase

    return parse_phase(text)


def progress(services: Services, phase: Phase | str, start: date, end: date) -> dict[str, Any]:
    """Counts by state of the phase's partitions in [start, end] (one aggregate query).

    Returns:
        ``{"phase", "by_state": {state: n}, "total", "in_flight", "finished"}`` where
        ``finished`` is true when nothing is pending or running.
    """
    ph = phase if isinstance(phase, Phase) else _phase(phase)
    if start > end:
        raise BadInput(f"start {start} is after end {end}")
    counts = services.status.counts([p.name for p in of_phase(ph)], start, end)
    by_state: Counter[str] = Counter()
    for (_, state), n in counts.items():
        by_state[state.value] += n
    in_flight = sum(by_state.get(s.value, 0) for s in IN_FLIGHT)
    return {"phase": ph.value, "by_state": dict(sorted(by_state.items())),
            "total": sum(by_state.values()), "in_flight": in_flight, "finished": in_flight == 0}


def validate(services: Services, phase: Phase | str, start: date, end: date,
             run_id: str | None = None) -> dict[str, Any]:
    """Run the gate on the phase's expected dates in [start, end] and summarise the verdicts.

    Returns:
        ``{"phase", "verdict" (worst of the dates; PASS when no date is expected), "counts",
        "blocked": [first 20 blocked dates], "reasons": [first 10 reasons]}``.
    """
    ph = phase if isinstance(phase, Phase) else _phase(phase)
    seasons, window = _window(None, start, end)
    cals = calendars(services.warehouse, seasons)
    days = sorted({d for cal in cals for p in of_phase(ph)
                   for d in window.clip(cal.expected_dates(p))})
    gate = Gate(services.warehouse, services.status, services.settings.thresholds)
    verdicts = gate.validate(ph, cals, days, run_id)
    for proc, day, reason in degraded_by_gate(verdicts):
        current = services.status.get(proc, day)
        if current and current.state is State.SUCCEEDED:
            services.status.annotate(proc, day, State.DEGRADED, f"gate: {reason}")
    counts = Counter(v.verdict.value for v in verdicts.values())
    worst = next((v for v in (Verdict.BLOCK, Verdict.WARN) if counts.get(v.value)), Verdict.PASS)
    blocked = [d for d, v in sorted(verdicts.items()) if v.verdict is Verdict.BLOCK]
    reasons = [f"{d.isoformat()}: {r}" for d, v in sorted(verdicts.items())
               if v.verdict is not Verdict.PASS for r in v.reasons]
    return {"phase": ph.value, "verdict": worst.value, "dates": len(days),
            "counts": {k.value: counts.get(k.value, 0) for k in Verdict},
            "blocked": [d.isoformat() for d in blocked[:20]],
            "blocked_ranges": [[a.isoformat(), b.isoformat()] for a, b in runs(blocked)][:20],
            "reasons": reasons[:10]}


def resolve_daily(now: datetime) -> dict[str, str]:
    """Resolve the daily run's dates ONCE, in America/New_York.

    Returns:
        ``{"post_game_date": yesterday, "pre_game_date": yesterday + 1 day}`` as ISO dates.
    Raises:
        BadInput: ``now`` has no time zone.
    """
    yesterday = eastern_date(now) - timedelta(days=1)
    return {"post_game_date": yesterday.isoformat(),
            "pre_game_date": (yesterday + timedelta(days=1)).isoformat()}
