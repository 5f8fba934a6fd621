"""Process one unit of work: one processor over a set of dates, under leases.

The same service runs in a thread of the local runner and in the ``process`` Cloud Function.
Each date is leased on its own; dates another worker holds are skipped. The outcome of every
leased date is written to the status store, whatever happens.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from backcourt.domain.calendar import ScheduledGame
from backcourt.domain.errors import BackcourtError, MalformedRawFile, TerminalError
from backcourt.domain.registry import Expectation, Phase, Processor
from backcourt.domain.status import Outcome, State
from backcourt.ports import ComputeContext, RowsSource, Services, SqlSource, job_key
from backcourt.services.calendar import games_between
from backcourt.services.cpu_pool import load_in, resolve
from backcourt.sources.layout import quarantine_path
from backcourt.sources.loaders import LoadContext

log = logging.getLogger(__name__)

BOOTSTRAP = "bootstrap"


@dataclass
class UnitReport:
    """What one unit did, per date."""

    processor: str
    leased: list[date] = field(default_factory=list)
    skipped: list[date] = field(default_factory=list)
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
) -> UnitReport:
    """Lease, compute, write and record one processor over ``days``.

    ``bootstrap`` dates have too little history for this processor: they are written, then
    recorded ``degraded`` with reason ``bootstrap`` (the gate warns, never blocks, on them).

    Returns:
        The per-date outcomes; exceptions are recorded per date, never raised.
    """
    report = UnitReport(processor.name)
    ttl = timedelta(seconds=services.settings.lease_ttl_s)
    attempt = 0
    for day in sorted(days):
        got = services.status.acquire(processor.name, day, owner=owner, run_id=run_id, ttl=ttl,
                                      now=services.clock.now())
        (report.leased if got else report.skipped).append(day)
        attempt = max(attempt, got.attempts if got else 0)
    if not report.leased:
        return report
    key = job_key(run_id, processor.name, report.leased[0], report.leased[-1], attempt)
    try:
        report.outcomes = _compute_and_write(services, processor, report.leased, force, run_id,
                                             frozenset(bootstrap), key)
    except BackcourtError as exc:
        report.outcomes = {d: _failure(exc) for d in report.leased}
    except Exception as exc:  # an unknown error is transient: it is retried, then failed
        log.exception("unexpected error in %s", processor.name, extra=_fields(
            run_id, processor, report.leased))
        report.outcomes = {
            d: Outcome(State.FAILED, error_kind="transient", error=f"{type(exc).__name__}: {exc}")
            for d in report.leased
        }
    for day, outcome in report.outcomes.items():
        services.status.finish(processor.name, day, owner, outcome, services.clock.now())
    failed = sorted(d for d, o in report.outcomes.items() if o.state is State.FAILED)
    if failed:
        first = report.outcomes[failed[0]]
        log.warning("%s failed on %d date(s) (%s): %s", processor.name, len(failed),
                    first.error_kind, first.error, extra=_fields(run_id, processor, failed))
    log.info("%s: %d date(s) leased, %d skipped, %d rows", processor.name, len(report.leased),
             len(report.skipped), report.rows, extra=_fields(run_id, processor, report.leased))
    return report


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
    loads = load_in(services.cpu_pool, processor.python or "",
                    LoadContext(services.bucket, days, games),
                    by_date=processor.name != "schedule")  # it reads whole season files
    outcomes: dict[date, Outcome] = {}
    good: list[date] = []
    rows: list[Mapping[str, Any]] = []
    for day in days:
        load = loads.get(day)
        bad: list[MalformedRawFile] = list(load.bad_files) if load else []
        if bad:
            outcomes[day] = _quarantine(services, bad)
            continue
        good.append(day)
        rows.extend(load.rows if load else [])
    result = services.warehouse.replace(processor.table, good, RowsSource(rows),
                                        max_shrink=services.settings.max_shrink, force=force,
                                        job_key=key)
    for day in good:
        outcomes[day] = _written(processor, result.rows_by_date.get(day, 0),
                                 result.refused.get(day))
    return outcomes


def _quarantine(services: Services, bad: list[MalformedRawFile]) -> Outcome:
    for err in bad:
        if services.bucket.exists(err.path):
            services.bucket.move(err.path, quarantine_path(err.path))
    problems = "; ".join(f"{e.path}: {e.problem} (moved to quarantine/)" for e in bad)
    return Outcome(State.FAILED, error_kind=TerminalError.kind, reason="malformed_raw_file",
                   error=problems)
