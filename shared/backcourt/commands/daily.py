"""``backcourt daily [--at TIMESTAMP]``: the daily run on this machine.

The same run as the cloud's (Cloud Scheduler → ``start_daily`` → ``daily.workflows.yaml``): the
dates are resolved ONCE, in America/New_York, by ``services.protocol.resolve_daily`` (the
function ``start_daily`` calls), then each chain of ``domain.daily.DAILY_CHAINS`` runs as one
local backfill over its one date, forced: post-game (phases 2, 3, 5B, 6) on yesterday, then
pre-game (3, 4, 5A, 6) on today. The pre-game chain runs even when the post-game chain blocked
or failed, as the workflow's does; a cancelled chain (``backcourt cancel RUN``) stops the daily
run.

Exit code: the worst of the chains' — 0 when both are done (WARN allowed), 1 when either is
blocked, failed or gate-BLOCKed, 3 when one was cancelled; 2 for a bad ``--at`` or a date whose
season has no schedule loaded (nothing runs then).

No ``from __future__ import annotations``: typer reads the command's annotations.
"""

from datetime import date, datetime
from typing import Annotated

import typer

from backcourt.commands.common import (
    EXIT_CANCELLED,
    EXIT_DONE,
    EXIT_NOT_DONE,
    console,
    err,
    open_services,
    report_run,
    run_phases,
)
from backcourt.domain.daily import DAILY_CHAINS, Chain
from backcourt.domain.dates import EASTERN, parse_date, parse_instant
from backcourt.domain.errors import BackcourtError, BadInput
from backcourt.domain.ids import season_of
from backcourt.domain.registry import PROCESSORS
from backcourt.ports import Services
from backcourt.services.calendar import season_calendar
from backcourt.services.plan import Window
from backcourt.services.protocol import resolve_daily, seasons_between

ENDED = {EXIT_DONE: "done", EXIT_NOT_DONE: "not complete", EXIT_CANCELLED: "cancelled"}


def chain_dates(moment: datetime) -> dict[str, date]:
    """Each chain's date for a trigger at ``moment``, by chain name (``resolve_daily``)."""
    dates = resolve_daily(moment)
    return {c.name: parse_date(dates[c.date_key], what=c.date_key) for c in DAILY_CHAINS}


def _check_schedules(services: Services, days: dict[str, date], source: str) -> None:
    """BadInput when a chain's date lies in a season whose schedule is not loaded: nothing
    would be expected there, so the run would report done having computed nothing."""
    services.warehouse.ensure_tables([p.table for p in PROCESSORS])
    loaded: dict[str, bool] = {}
    missing: dict[str, list[str]] = {}
    for name, day in days.items():
        season = season_of(day)
        if season not in loaded:
            loaded[season] = bool(season_calendar(services.warehouse, season).days)
        if not loaded[season]:
            missing.setdefault(season, []).append(f"{name} date {day}")
    if missing:
        seasons = ", ".join(missing)
        first = next(iter(missing))
        where = "; ".join(w for ws in missing.values() for w in ws)
        raise BadInput(
            f"no schedule loaded for {seasons} ({where}, resolved from {source}): the daily "
            "run needs its season's schedule. Give --at inside a season "
            f"with a loaded schedule, or load it: `backcourt sample-data --season {first}` (or "
            f"`backcourt ingest` a schedule), then `backcourt backfill --season {first} "
            "--phase 2`")


def _run_chain(services: Services, chain: Chain, day: date) -> tuple[int, str]:
    """One chain: a forced backfill of its phases over its one date; its exit code and how it
    ended. A chain that fails with an error is reported and ends ``failed`` (exit 1), so the
    next chain still runs, as in the workflow."""
    phases = ", ".join(p.value for p in chain.phases)
    console.print(f"[bold]{chain.name}[/] {day}: phases {phases}", highlight=False)
    try:
        result = run_phases(services, seasons_between(day, day), chain.phases,
                            Window(day, day), force=chain.force, command=f"daily-{chain.name}",
                            processors=chain.processors)
    except BackcourtError as exc:
        err.print(f"[red]{chain.name} {day} failed:[/] {exc}", highlight=False)
        return EXIT_NOT_DONE, "failed"
    code = report_run(result, again="the same daily")
    if code == EXIT_DONE and result.outcome is not None and not result.outcome.expected:
        kind = season_calendar(services.warehouse, season_of(day)).day(day).date_type
        console.print(f"{chain.name} {day}: nothing expected on this date ({kind.value}): "
                      f"no processor of phases {phases} applies", highlight=False)
    return code, ENDED[code]


def register(app: typer.Typer) -> None:
    """Add ``daily`` to the CLI."""

    @app.command()
    def daily(
            at: Annotated[str | None, typer.Option(
                "--at", metavar="TIMESTAMP",
                help="The trigger instant, ISO-8601 with a time zone (e.g. "
                     "2025-01-16T04:00:00-05:00 or 2025-01-16T09:00:00Z); default now.")] = None,
    ) -> None:
        """The daily run: yesterday's post-game chain (phases 2, 3, 5B, 6), then today's
        pre-game chain (3, 4, 5A, 6), dates resolved once in America/New_York."""
        moment = parse_instant(at, what="--at") if at is not None else None
        with open_services() as s:
            moment = moment or s.clock.now()
            source = f"--at {at}" if at is not None else f"now ({moment.isoformat()})"
            days = chain_dates(moment)
            console.print(f"daily run at {moment.isoformat()} "
                          f"({moment.astimezone(EASTERN):%Y-%m-%d %H:%M %Z} in New York): "
                          + ", ".join(f"{name} {day}" for name, day in days.items()),
                          highlight=False)
            _check_schedules(s, days, source)
            ended: dict[str, tuple[int, str]] = {}
            for chain in DAILY_CHAINS:
                ended[chain.name] = _run_chain(s, chain, days[chain.name])
                if ended[chain.name][0] == EXIT_CANCELLED:
                    break
        worst = max(code for code, _ in ended.values())
        how = [f"{c.name} {days[c.name]} {ended.get(c.name, (0, 'not started'))[1]}"
               for c in DAILY_CHAINS]
        (console if worst == EXIT_DONE else err).print(
            f"daily: {'; '.join(how)} (exit {worst})", highlight=False)
        if worst:
            raise typer.Exit(worst)
