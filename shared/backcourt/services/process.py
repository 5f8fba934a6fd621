"""Process one unit of work: one processor over a set of dates, under leases.

The same service runs in a thread of the local runner and in the ``process`` Cloud Function.
Each date is leased on its own; dates another worker holds are skipped, dates this owner (the
same message, redelivered) holds are reclaimed and logged with the fixed marker
``LEASE_RECLAIMED`` (counted by the cloud scale run). The outcome of every leased date is
written to the status store, whatever happens.

A worker never works past its leases: while it computes, a keeper thread renews them every
third of the TTL (a worker that dies stops renewing, so its leases run out within one TTL), and
a lease never runs past the delivery's deadline (the function's timeout), so it cannot protect a
worker that is no longer there. Past that deadline the worker starts nothing, renews nothing and
records nothing: Google's docs (https://cloud.google.com/functions/docs/configuring/timeout)
say "When function execution reaches its timeout, a response message with an HTTP 504 error
status is immediately returned to the caller. The function instance might be throttled, but it
continues operating until it exits on its own", so the message is redelivered and its
redelivery (the same owner) reclaims the dates. A lease lost meanwhile is not recorded either.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from backcourt.domain import transitions as tr
from backcourt.domain.calendar import ScheduledGame
from backcourt.domain.errors import BackcourtError, MalformedRawFile, TerminalError, TransientError
from backcourt.domain.registry import Expectation, Phase, Processor
from backcourt.domain.status import Outcome, State
from backcourt.ports import ComputeContext, RowsSource, Services, SqlSource, job_key, join_rows
from backcourt.services.calendar import games_between
from backcourt.services.cpu_pool import load_in, resolve
from backcourt.services.schedules import SCHEDULE, fingerprints, rearm_changed_dates, seasons_of
from backcourt.sources.layout import quarantine_path
from backcourt.sources.loaders import LoadContext

log = logging.getLogger(__name__)

BOOTSTRAP = "bootstrap"
RECLAIM_MARKER = "LEASE_RECLAIMED"
"""Fixed start of the log line of every reclaimed lease (one line per processor and unit)."""
MIN_LEASE = timedelta(seconds=1)


@dataclass
class UnitReport:
    """What one unit did, per date."""

    processor: str
    leased: list[date] = field(default_factory=list)
    skipped: list[date] = field(default_factory=list)
    reclaimed: list[date] = field(default_factory=list)
    """Leased dates this owner already held (an earlier delivery of its message died)."""
    outcomes: dict[date, Outcome] = field(default_factory=dict)

    @property
    def rows(self) -> int:
        """Rows written over all dates."""
        return sum(o.rows_written or 0 for o in self.outcomes.values())


def run_unit(
    services: Services,
    processor: Processor,
    days: Sequence[date],
    *,
    run_id: str,
    owner: str,
    force: bool = False,
    bootstrap: Sequence[date] = (),
    last: bool = False,
    deadline: datetime | None = None,
) -> UnitReport:
    """Lease, compute, write and record one processor over ``days``.

    ``bootstrap`` dates have too little history for this processor: they are written, then
    recorded ``degraded`` with reason ``bootstrap`` (the gate warns, never blocks, on them).
    ``last``: this is the message's last delivery (``transitions.take_lease``). ``deadline``:
    when this worker is killed (the function's timeout), so no lease outlives it.

    Returns:
        The per-date outcomes; processor exceptions are recorded per date, never raised.
    Raises:
        TransientError: a lease was lost before its outcome was recorded (after recording the
            others): the message is redelivered and finds the date in its new state.
    """
    report = UnitReport(processor.name)
    ttl = timedelta(seconds=services.settings.lease_ttl_s)
    attempt = 0
    _check_deadline(services, processor, deadline, run_id, "start")
    for day in sorted(days):
        got = services.status.acquire(processor.name, day, owner=owner, run_id=run_id,
                                      ttl=_lease_for(ttl, services.clock.now(), deadline),
                                      now=services.clock.now(), last=last)
        (report.leased if got else report.skipped).append(day)
        attempt = max(attempt, got.attempts if got else 0)
        if tr.was_reclaimed(got):
            report.reclaimed.append(day)
    if report.reclaimed:
        log.warning("%s %s: %d lease(s) reclaimed from an earlier delivery of %s: %s",
                    RECLAIM_MARKER, processor.name, len(report.reclaimed), owner,
                    ", ".join(d.isoformat() for d in report.reclaimed),
                    extra=_fields(run_id, processor, report.reclaimed))
    if not report.leased:
        return report
    with _keeping(services, processor.name, report.leased, owner, ttl, deadline):
        report.outcomes = _run(services, processor, report.leased, force, run_id, bootstrap,
                               job_key(run_id, processor.name, report.leased[0],
                                       report.leased[-1], attempt))
    _check_deadline(services, processor, deadline, run_id, "record")
    _record(services, processor, report, owner, run_id)
    return report


def _check_deadline(services: Services, processor: Processor, deadline: datetime | None,
                    run_id: str, what: str) -> None:
    """Raise TransientError when the delivery's deadline has passed: the function has timed
    out, its answer is discarded and the message redelivered, so nothing more is done here."""
    if deadline is not None and services.clock.now() >= deadline:
        raise TransientError(f"{processor.name}: past the function's deadline "
                             f"{deadline.isoformat()}, not going to {what}; the redelivery "
                             "reclaims the dates", processor=processor.name, run_id=run_id)


def _lease_for(ttl: timedelta, now: datetime, deadline: datetime | None) -> timedelta:
    """``ttl``, cut so the lease ends by ``deadline`` (at least MIN_LEASE)."""
    if deadline is None:
        return ttl
    return max(MIN_LEASE, min(ttl, deadline - now))


@contextmanager
def _keeping(services: Services, processor: str, days: Sequence[date], owner: str,
             ttl: timedelta, deadline: datetime | None) -> Iterator[set[date]]:
    """Renew the leases on ``days`` every third of ``ttl`` while the body runs (a thread).

    Yields the set of dates whose lease was lost meanwhile (filled in by the thread)."""
    lost: set[date] = set()
    stop = threading.Event()

    def renew_all() -> None:
        while not stop.wait(ttl.total_seconds() / 3):
            for day in days:
                now = services.clock.now()
                if deadline is not None and now >= deadline:
                    return  # timed out: the lease runs out with the function
                if day in lost:
                    continue
                try:
                    held = services.status.renew(processor, day, owner,
                                                 _lease_for(ttl, now, deadline), now)
                except TransientError as exc:  # try again on the next beat
                    log.warning("renewing %s %s: %s", processor, day, exc)
                    continue
                if not held:
                    log.warning("%s %s: lease lost while working (%s)", processor, day, owner)
                    lost.add(day)

    beat = threading.Thread(target=renew_all, name=f"lease-{processor}", daemon=True)
    beat.start()
    try:
        yield lost
    finally:
        stop.set()
        beat.join()


def _run(services: Services, processor: Processor, leased: list[date], force: bool,
         run_id: str, bootstrap: Sequence[date], key: str) -> dict[date, Outcome]:
    """Compute and write the leased dates (``key``: the deterministic BigQuery job key); an
    exception becomes every date's outcome."""
    try:
        return _compute_and_write(services, processor, leased, force, run_id,
                                  frozenset(bootstrap), key)
    except BackcourtError as exc:
        return {d: _failure(exc) for d in leased}
    except Exception as exc:  # an unknown error is transient: it is retried, then failed
        log.exception("unexpected error in %s", processor.name, extra=_fields(
            run_id, processor, leased))
        return {
            d: Outcome(State.FAILED, error_kind="transient", error=f"{type(exc).__name__}: {exc}")
            for d in leased
        }


def _record(services: Services, processor: Processor, report: UnitReport, owner: str,
            run_id: str) -> None:
    """Record every outcome whose lease is still held; raise for the lost ones after."""
    gone: list[str] = []
    for day, outcome in report.outcomes.items():
        try:
            services.status.finish(processor.name, day, owner, outcome, services.clock.now())
        except TransientError as exc:
            gone.append(f"{day.isoformat()}: {exc}")
    if gone:  # a lease lost while working (``lost``) is lost here too, unless re-taken by us
        raise TransientError(f"{processor.name}: {len(gone)} lease(s) lost before the outcome "
                             f"was recorded ({gone[0]})", processor=processor.name,
                             run_id=run_id)
    failed = sorted(d for d, o in report.outcomes.items() if o.state is State.FAILED)
    if failed:
        first = report.outcomes[failed[0]]
        log.warning("%s failed on %d date(s) (%s): %s", processor.name, len(failed),
                    first.error_kind, first.error, extra=_fields(run_id, processor, failed))
    log.info("%s: %d date(s) leased, %d skipped, %d rows", processor.name, len(report.leased),
             len(report.skipped), report.rows, extra=_fields(run_id, processor, report.leased))


def _fields(run_id: str, processor: Processor, days: Sequence[date]) -> dict[str, object]:
    """Log correlation fields (``extra=``): the run, the processor and its phase, and the
    date (one date) or the date range (several)."""
    out: dict[str, object] = {"run_id": run_id, "processor": processor.name,
                              "phase": processor.phase.value}
    if len(days) == 1:
        out["game_date"] = days[0]
    elif days:
        out["start_date"], out["end_date"] = min(days), max(days)
    return out


def _failure(exc: BackcourtError) -> Outcome:
    return Outcome(State.FAILED, error_kind=exc.kind, error=str(exc))


def _compute_and_write(
    services: Services, processor: Processor, days: list[date], force: bool, run_id: str,
    bootstrap: frozenset[date], key: str,
) -> dict[date, Outcome]:
    if processor.python and processor.phase is Phase.RAW:
        return _python_unit(services, processor, days, force, key)
    source: SqlSource | RowsSource
    if processor.python:
        ctx = ComputeContext(services.warehouse, services.bucket, days, run_id,
                             pool=services.cpu_pool)
        source = RowsSource(resolve(processor.python)(ctx))
    else:
        from backcourt.sql import load_sql

        source = SqlSource(load_sql(processor.table.name))
    result = services.warehouse.replace(processor.table, days, source,
                                        max_shrink=services.settings.max_shrink, force=force,
                                        job_key=key)
    out = {d: _written(processor, result.rows_by_date.get(d, 0), result.refused.get(d))
           for d in days}
    for d in days:
        if d in bootstrap and out[d].state is State.SUCCEEDED:
            out[d] = Outcome(State.DEGRADED, rows_written=out[d].rows_written, reason=BOOTSTRAP,
                             error=f"bootstrap: fewer than {processor.min_history_dates} earlier "
                                   "game dates this season; features fall back to defaults")
    return out


def _written(processor: Processor, rows: int, refused: tuple[int, int] | None) -> Outcome:
    if refused:
        before, new = refused
        return Outcome(State.DEGRADED, rows_written=before, reason="shrink_refused",
                       error=f"write would shrink the date from {before} to {new} rows; "
                             "kept the old rows (use --force to write)")
    if rows == 0 and processor.expectation is Expectation.SCHEDULE_GAMES:
        return Outcome(State.NOT_EXPECTED, rows_written=0, reason="no_games")
    if rows == 0:
        return Outcome(State.DEGRADED, rows_written=0, reason="empty_output",
                       error="no rows produced for an expected date")
    return Outcome(State.SUCCEEDED, rows_written=rows)


def _python_unit(
    services: Services, processor: Processor, days: list[date], force: bool, key: str
) -> dict[date, Outcome]:
    games: Mapping[date, Sequence[ScheduledGame]] = (
        {} if processor.name == "schedule" else games_between(services.warehouse, days[0], days[-1])
    )
    before = (fingerprints(services.warehouse, seasons_of(days))
              if processor.name == SCHEDULE else None)
    loads = load_in(services.cpu_pool, processor.python or "",
                    LoadContext(services.bucket, days, games),
                    by_date=processor.name != "schedule")  # it reads whole season files
    outcomes: dict[date, Outcome] = {}
    good: list[date] = []
    parts: list[Sequence[Mapping[str, Any]]] = []
    for day in days:
        load = loads.get(day)
        bad: list[MalformedRawFile] = list(load.bad_files) if load else []
        if bad:
            outcomes[day] = _quarantine(services, bad)
            continue
        good.append(day)
        parts.append(load.rows if load else [])
        if load is not None and load.duplicates:
            log.warning("%s %s: %d row(s) whose natural key another file of the date also "
                        "held were dropped (the latest snapshot wins)", processor.name, day,
                        load.duplicates, extra={"processor": processor.name, "game_date": day,
                                                "duplicates_collapsed": load.duplicates})
    result = services.warehouse.replace(processor.table, good, RowsSource(join_rows(parts)),
                                        max_shrink=services.settings.max_shrink, force=force,
                                        job_key=key)
    for day in good:
        outcomes[day] = _written(processor, result.rows_by_date.get(day, 0),
                                 result.refused.get(day))
    if before is not None:  # a new schedule version: re-arm the dates it changed
        rearm_changed_dates(services, before,
                            fingerprints(services.warehouse, seasons_of(days)))
    return outcomes


def _quarantine(services: Services, bad: list[MalformedRawFile]) -> Outcome:
    for err in bad:
        if services.bucket.exists(err.path):
            services.bucket.move(err.path, quarantine_path(err.path))
    problems = "; ".join(f"{e.path}: {e.problem} (moved to quarantine/)" for e in bad)
    return Outcome(State.FAILED, error_kind=TerminalError.kind, reason="malformed_raw_file",
                   error=problems)
