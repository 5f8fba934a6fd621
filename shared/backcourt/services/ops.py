"""Operations on dates: re-arm failed dates and mark outputs stale, so the next backfill
recomputes them (``backcourt retry-failed``, ``backcourt invalidate``, and ``backcourt ingest``
of a late raw file).

* ``retry_failed`` re-arms failed dates only (attempts back to 0), optionally one phase or one
  processor; the next backfill retries exactly those.
* ``invalidate`` marks a processor's dates, and every downstream processor's dates the change
  reaches through its lookback, stale (pending).
* ``invalidate_raw_date`` does that for every phase-2 processor of one date (a raw file that
  arrived late).
"""

from __future__ import annotations

from datetime import date

from backcourt.domain import registry
from backcourt.domain.dates import runs
from backcourt.domain.errors import BadInput
from backcourt.domain.registry import Phase
from backcourt.domain.status import State
from backcourt.domain.transitions import REARM_STATES
from backcourt.ports import Services

HAD_OUTPUT = frozenset({State.SUCCEEDED, State.DEGRADED})
"""Finished states whose rows a recompute replaces (failed and blocked dates are left to
retry-failed and the gate)."""


def retry_failed(services: Services, seasons: list[str], phase: str | None,
                 processor: str | None) -> int:
    """Re-arm the failed expected dates of the chosen processors; returns how many.

    Dates downstream of a re-armed date that finished while it was missing (a later date's
    lookback read the hole) are marked stale too, so the next backfill recomputes them with the
    filled history (same reach as ``invalidate``)."""
    from backcourt.services.calendar import season_calendar

    if phase and processor:
        proc = registry.get(processor)
        if proc.phase is not registry.parse_phase(phase):
            raise BadInput(f"{processor} is in phase {proc.phase.value}, not {phase}")
    procs = ([registry.get(processor)] if processor else
             registry.of_phase(registry.parse_phase(phase)) if phase else registry.PROCESSORS)
    total = 0
    services.warehouse.ensure_tables([p.table for p in registry.PROCESSORS])
    for name in seasons:
        cal = season_calendar(services.warehouse, name)
        for p in procs:
            days = cal.expected_dates(p)
            failed = ([d.game_date for d in services.status.list([p.name], days[0], days[-1])
                       if d.state is State.FAILED] if days else [])
            total += services.status.reset(p.name, days, [State.FAILED])
            for first, last in runs(failed):  # what was computed over the hole is stale
                invalidate(services, p.name, first, last, states=HAD_OUTPUT,
                           downstream_only=True)
    return total


def invalidate(services: Services, processor: str, start: date, end: date, *,
               states: frozenset[State] = REARM_STATES,
               downstream_only: bool = False) -> dict[str, list[date]]:
    """Mark ``processor`` on [start, end] and what it reaches downstream stale.

    Args:
        states: only documents in these states are re-armed (default: every finished or
            cancelled state).
        downstream_only: leave ``processor``'s own dates alone.
    Returns:
        Per processor, the dates that went back to pending (dates never planned, pending or
        running are left alone).
    """
    from backcourt.services.calendar import calendars
    from backcourt.services.plan import invalidation
    from backcourt.services.protocol import seasons_between

    proc = registry.get(processor)
    services.warehouse.ensure_tables([p.table for p in registry.PROCESSORS])
    cals = calendars(services.warehouse, seasons_between(start, end))
    marked: dict[str, list[date]] = {}
    for name, days in invalidation(proc, start, end, cals).items():
        if downstream_only and name == proc.name:
            continue
        docs = services.status.list([name], days[0], days[-1])
        wanted = set(days)
        finished = [d.game_date for d in docs if d.game_date in wanted and d.state in states]
        if finished and services.status.mark_stale(name, finished):
            marked[name] = sorted(finished)
    return marked


def invalidate_raw_date(services: Services, day: date) -> int:
    """Mark ``day``'s phase-2 outputs stale, and every later output whose lookback reads them;
    returns how many processor-dates went back to pending."""
    marked: dict[str, set[date]] = {}
    for p in registry.of_phase(Phase.RAW):
        if p.name != "schedule":
            for name, days in invalidate(services, p.name, day, day).items():
                marked.setdefault(name, set()).update(days)
    return sum(len(v) for v in marked.values())
