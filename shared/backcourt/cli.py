"""The ``backcourt`` command line (typer + rich). Output for people goes to the terminal;
logs go to stderr."""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Annotated, Any

import typer
from rich import box
from rich.table import Table

from backcourt.commands import daily, ops, plan, report
from backcourt.commands.common import (
    VERDICT_STYLE,
    HomeOpt,
    SeasonsOpt,
    console,
    err,
    home_settings,
    open_services,
    parse_phases,
    parse_seasons,
    parse_window,
    print_profile,
    report_run,
    run_phases,
    set_home,
)
from backcourt.domain import registry
from backcourt.domain.dates import parse_date
from backcourt.domain.errors import BackcourtError, BadInput
from backcourt.domain.ids import season_of
from backcourt.domain.registry import Phase
from backcourt.domain.status import State, Verdict
from backcourt.ports import Services
from backcourt.services.calendar import season_calendar
from backcourt.services.plan import Window
from backcourt.services.profiling import Profiler
from backcourt.services.report import gate_summary, matrix, not_expected_spans, why
from backcourt.services.schedule_status import schedule_state
from backcourt.sql.guard import require_read_only

app = typer.Typer(help="backcourt: schedule-aware NBA props pipeline (embedded default).",
                  pretty_exceptions_enable=False,
                  no_args_is_help=True, add_completion=False)


@app.callback()
def _main(home: HomeOpt = None, verbose: Annotated[bool, typer.Option("-v")] = False) -> None:
    from backcourt.logs import configure_logging

    set_home(home)
    configure_logging(logging.INFO if verbose else logging.WARNING)


@app.command()
def calendar(season: Annotated[str, typer.Option("--season")],
             as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """Print a season's calendar: every date typed from the schedule table, with its games."""
    with open_services() as s:
        s.warehouse.ensure_tables([p.table for p in registry.PROCESSORS])
        cal = season_calendar(s.warehouse, parse_seasons([season])[0])
    if not cal.days:
        raise BadInput(f"no schedule loaded for {season}: run `backcourt sample-data --season "
                       f"{season}` (or ingest a schedule) and `backcourt backfill --season "
                       f"{season} --phase 2`")
    expected = {p.name: len(cal.expected_dates(p)) for p in registry.PROCESSORS}
    if as_json:
        days = [{"date": d.game_date.isoformat(), "type": d.date_type.value,
                 "games": [{"nba_game_id": g.nba_game_id, "game_id": g.game_id,
                            "away": g.away, "home": g.home} for g in d.games]}
                for d in cal.days]
        counts = {k.value: v for k, v in cal.counts().items()}
        console.print_json(json.dumps({"season": cal.season, "counts": counts,
                                       "expected_dates": expected, "days": days}))
        return
    table = Table(title=f"{cal.season} calendar ({cal.start} – {cal.end})")
    for name in ("date", "type", "games"):
        table.add_column(name)
    for d in cal.days:
        style = "dim" if d.date_type.value in ("no_games", "preseason", "all_star") else ""
        table.add_row(d.game_date.isoformat(), d.date_type.value, str(len(d.games)), style=style)
    console.print(table)
    console.print("dates by type: " + ", ".join(f"{k.value} {v}" for k, v in
                                                  sorted(cal.counts().items())))
    console.print("expected dates: " + ", ".join(f"{k} {v}" for k, v in expected.items()))


@app.command("sample-data")
def sample_data(season: SeasonsOpt,
                seed: Annotated[int, typer.Option(help="Random seed.")] = 20241022) -> None:
    """Write a deterministic synthetic league in the real raw formats into the bucket."""
    from backcourt.sample import generate_season

    settings = home_settings()
    with open_services(settings) as s:
        for name in parse_seasons(season):
            with console.status(f"generating {name}…"):
                summary = generate_season(s.bucket, name, seed=seed)
            console.print(f"[green]✓[/] {name}: {summary.games} games on {summary.dates} dates, "
                          f"{sum(summary.files.values())} files → {settings.local.bucket_path}")


@app.command()
def ingest(files: Annotated[list[Path], typer.Argument(help="Raw files to ingest.")],
           force: Annotated[bool, typer.Option(
               help="Store a schedule even if it drops game dates that hold box scores.")
           ] = False) -> None:
    """Detect each file's format from its content and put it where phase 2 finds it."""
    from backcourt.services.ingest import ingest_file
    from backcourt.services.ops import invalidate_raw_date
    from backcourt.services.schedules import versions

    failed = 0
    with open_services() as s:
        for path in files:
            try:
                res = ingest_file(s.bucket, path, force=force)
            except BackcourtError as exc:
                failed += 1
                err.print(f"[red]✗[/] {exc}" if str(path) in str(exc)
                          else f"[red]✗[/] {path}: {exc}")
                continue
            stale = 0
            if res.game_date is not None:  # that date and what its lookbacks reach are stale
                stale = invalidate_raw_date(s, res.game_date)
            console.print(f"[green]✓[/] {path} → {res.dest} ({res.source})"
                          + (f"; {stale} processor-date(s) from {res.game_date} on marked for "
                             "recompute" if stale else ""))
            if res.game_date is None:  # a schedule: which version; the next plan applies it
                kept = versions(s.bucket, res.dest)
                console.print(f"  schedule version {kept[-1].describe()}; {len(kept) - 1} "
                              "earlier version(s) kept; the next phase-2 backfill loads it "
                              "and re-arms the dates it changes", highlight=False)
    if failed:
        raise typer.Exit(2)


@app.command()
def backfill(
    season: SeasonsOpt,
    phase: Annotated[list[str] | None, typer.Option("--phase", help="Phase(s) to run "
                                                    "(default: all available).")] = None,
    start: Annotated[str | None, typer.Option(help="First date (YYYY-MM-DD).")] = None,
    end: Annotated[str | None, typer.Option(help="Last date (YYYY-MM-DD).")] = None,
    force: Annotated[bool, typer.Option(help="Recompute dates that already succeeded.")] = False,
    max_cost: Annotated[float | None, typer.Option(
        "--max-cost", metavar="USD", help="Refuse to start when the plan's BigQuery on-demand "
        "estimate is above this (see `backcourt plan`).")] = None,
    profile: Annotated[bool, typer.Option(
        "--profile", help="Profile the run (cProfile of every thread of this process, worker "
        "processes' CPU) and print per phase where the time went: steps, top functions. "
        "Slows the run.")] = False,
) -> None:
    """Run phases over seasons: plan from status, process, gate, next phase. Resumable."""
    window = parse_window(start, end)
    seasons = parse_seasons(season)
    phases = parse_phases(phase)
    with open_services() as s:
        if max_cost is not None:
            plan.check_budget(s, seasons, phases, window, force, max_cost)
        if profile:
            profiler = Profiler()
            with profiler.running():
                result = run_phases(s, seasons, phases, window, force=force, observer=profiler)
            print_profile(profiler)
        else:
            result = run_phases(s, seasons, phases, window, force=force)
    code = report_run(result)
    if code:
        raise typer.Exit(code)


@app.command()
def status(season: SeasonsOpt, as_json: Annotated[bool, typer.Option("--json")] = False,
           phase: Annotated[str | None, typer.Option(
               "--phase", help="Only this phase; 5B adds prediction quality.")] = None) -> None:
    """The coverage matrix: per processor and season, complete/expected dates and the rest."""
    only = parse_phases([phase])[0] if phase else None
    procs = registry.of_phase(only) if only else registry.PROCESSORS
    with open_services() as s:
        s.warehouse.ensure_tables([p.table for p in registry.PROCESSORS])
        cals = [season_calendar(s.warehouse, x) for x in parse_seasons(season)]
        cells = matrix(s.status, s.warehouse, cals, procs)
        quality = ({c.season: _quality(s, c) for c in cals if c.days}
                   if only is Phase.GRADING else {})
        gates = {c.season: {p.value: gate_summary(s.status, p, c)
                            for p in registry.phases_present()} for c in cals}
        spans = {c.season: not_expected_spans(c, registry.get("player_game_summary"))
                 for c in cals if c.days}
        schedules = [schedule_state(s.bucket, s.warehouse, c.season) for c in cals]
    if as_json:
        console.print_json(json.dumps({
            "schedules": {x.season: x.as_dict() for x in schedules},
            "cells": [c.as_dict() for c in cells], "gates": gates,
            "quality": {k: [dict(asdict(q), hit_rate=q.hit_rate) for q in v]
                        for k, v in quality.items()}}))
        return
    for sched in schedules:  # the version in use, or why the season's dates are unknown
        for line in sched.lines():
            console.print(line, highlight=False, markup=False)
    if not cells:
        raise BadInput(f"no schedule loaded for {', '.join(x.season for x in schedules)}: "
                       "see above")
    seasons = sorted({c.season for c in cells})
    table = Table(title=f"backcourt coverage {', '.join(seasons)}: dates per processor",
                  box=box.SIMPLE_HEAD, pad_edge=False, collapse_padding=True,
                  caption="done = succeeded/expected dates; degraded, failed, blocked and "
                          "pending (with running and cancelled) are expected dates not done; "
                          "n/a = not expected (no games or the processor does not apply)")
    table.add_column("ph", min_width=2)
    table.add_column("processor", no_wrap=True, overflow="ellipsis")
    multi = len({c.season for c in cells}) > 1  # one season: it goes in the title
    if multi:
        table.add_column("season", no_wrap=True, min_width=7)
    table.add_column("done", justify="right", no_wrap=True, min_width=7)
    for name in ("degr", "fail", "blkd", "pend", "n/a"):
        table.add_column(name, justify="right", no_wrap=True, min_width=3)
    table.add_column("rows", justify="right", no_wrap=True, min_width=7)
    for c in cells:
        ok = c.complete == c.expected
        table.add_row(c.phase, c.processor, *([c.season] if multi else []),
                      f"[{'green' if ok else 'red'}]{c.complete}/{c.expected}[/]",
                      *(str(c.states.get(k.value, 0)) for k in (
                          State.DEGRADED, State.FAILED, State.BLOCKED)),
                      str(c.states.get(State.PENDING.value, 0)
                          + c.states.get(State.RUNNING.value, 0)
                          + c.states.get(State.CANCELLED.value, 0)),
                      str(c.states.get(State.NOT_EXPECTED.value, 0)), f"{c.rows:,}")
    console.print(table)
    notes: dict[tuple[str, str], list[str]] = {}
    for c in cells:
        for why_, n in c.reasons.items():
            notes.setdefault((c.season, why_), []).append(f"{c.processor} {n}")
    for (season_name, why_), where in sorted(notes.items()):
        console.print(f"not done in {season_name} because {why_}: {', '.join(where)}"
                      + (" (`backcourt why PROCESSOR DATE` explains a date)"
                         if why_ != "bootstrap" else
                         " — the first game dates of a season lack history; gate WARN"),
                      highlight=False)
    for season_name, lines in spans.items():
        console.print(f"not expected in {season_name} (every processor but the schedule):",
                      highlight=False)
        for line in lines:
            console.print(f"  {line}", highlight=False)
    for season_name, systems in quality.items():
        _print_quality(season_name, systems)
    for season_name, by_phase in gates.items():
        for ph, counts in by_phase.items():
            if only and ph != only.value:
                continue
            if counts:
                verdict = ("BLOCK" if counts.get("BLOCK") else "WARN" if counts.get("WARN")
                           else "PASS")
                console.print(f"gate {season_name} phase {ph}: {verdict} ("
                              + ", ".join(f"{k} {v}" for k, v in sorted(counts.items()))
                              + " dates)", highlight=False)


def _quality(s: Services, cal: Any) -> list[Any]:
    from backcourt.models.quality import system_quality

    return system_quality(s.warehouse, cal.start, cal.end)


def _print_quality(season_name: str, systems: Sequence[Any]) -> None:
    table = Table(title=f"prediction quality {season_name} (graded player-games)",
                  box=box.SIMPLE_HEAD, pad_edge=False)
    for name in ("system", "graded", "MAE", "season-avg MAE", "picks", "hit rate", "pushes",
                 "voided"):
        table.add_column(name, justify="left" if name == "system" else "right")

    def num(v: float | None, fmt: str = "{:.2f}") -> str:
        return "–" if v is None else fmt.format(v)

    for q in systems:
        table.add_row(q.system_id, f"{q.graded_rows:,}", num(q.mae), num(q.baseline_mae),
                      f"{q.picks:,}", num(q.hit_rate, "{:.1%}"), str(q.pushes),
                      f"{q.voided_rows:,}")
    console.print(table)
    console.print("season-avg MAE: predicting each player's season-to-date average on the same "
                  "rows (the bar every system must beat)", highlight=False)


@app.command()
def validate(phase: Annotated[str, typer.Option("--phase")], season: SeasonsOpt,
             start: Annotated[str | None, typer.Option()] = None,
             end: Annotated[str | None, typer.Option()] = None) -> None:
    """Run the gate for a phase now and print its verdict per date with reasons."""
    from backcourt.services.gate import Gate

    ph = parse_phases([phase])[0]
    window = Window(parse_date(start) if start else None, parse_date(end) if end else None)
    with open_services() as s:
        s.warehouse.ensure_tables([p.table for p in registry.PROCESSORS])
        cals = [season_calendar(s.warehouse, x) for x in parse_seasons(season)]
        procs = registry.of_phase(ph)
        days = sorted({d for c in cals for p in procs for d in window.clip(c.expected_dates(p))})
        verdicts = Gate(s.warehouse, s.status, s.settings.thresholds).validate(ph, cals, days)
    counts = {v: sum(1 for x in verdicts.values() if x.verdict is v) for v in Verdict}
    for v in sorted(verdicts.values(), key=lambda x: x.game_date):
        if v.verdict is not Verdict.PASS:
            console.print(f"[{VERDICT_STYLE[v.verdict]}]{v.verdict.value}[/] {v.game_date}: "
                          + "; ".join(v.reasons))
    worst = (Verdict.BLOCK if counts[Verdict.BLOCK] else Verdict.WARN if counts[Verdict.WARN]
             else Verdict.PASS)
    console.print(f"phase {ph.value}: [{VERDICT_STYLE[worst]}]{worst.value}[/] over "
                  f"{len(verdicts)} dates (PASS {counts[Verdict.PASS]}, WARN "
                  f"{counts[Verdict.WARN]}, BLOCK {counts[Verdict.BLOCK]})")
    if worst is Verdict.BLOCK:
        raise typer.Exit(1)


@app.command("why")
def why_cmd(processor: str, day: Annotated[str, typer.Argument(metavar="DATE")]) -> None:
    """Explain one cell of the status matrix from stored facts."""
    proc = registry.get(processor)
    d = parse_date(day)
    with open_services() as s:
        s.warehouse.ensure_tables([p.table for p in registry.PROCESSORS])
        cal = season_calendar(s.warehouse, season_of(d))
        lines = why(s.status, cal, proc, d)
    for line in lines:
        console.print(line, highlight=False)


@app.command()
def sql(query: str, as_json: Annotated[bool, typer.Option("--json")] = False,
        write: Annotated[bool, typer.Option(
            "--write", help="Allow statements that change the warehouse (DDL, DML).")] = False,
        ) -> None:
    """Query the local warehouse (BigQuery dialect, e.g. nba_analytics.player_game_summary).
    Read-only (SELECT, WITH … SELECT, EXPLAIN) unless ``--write``: anything else exits 2."""
    if not write:
        require_read_only(query)
    with open_services() as s:
        rows = s.warehouse.query(query)
    if as_json:
        console.print_json(json.dumps(rows, default=str))
        return
    table = Table()
    for name in rows[0].keys() if rows else []:
        table.add_column(name)
    for row in rows[:500]:
        table.add_row(*("" if v is None else str(v) for v in row.values()))
    console.print(table)
    console.print(f"{len(rows)} row(s)" + (" (first 500 shown)" if len(rows) > 500 else ""))


COMMAND_MODULES = (daily, ops, plan, report)
"""The commands kept in ``backcourt.commands``; each adds itself to the app with
``register(app)``."""
for _module in COMMAND_MODULES:
    _module.register(app)


def main() -> None:
    """Console-script entry point: clear one-line errors, exit 2 for bad input."""
    try:
        app()
    except BackcourtError as exc:
        err.print(f"[red]error:[/] {exc}")
        sys.exit(2 if isinstance(exc, BadInput) else 1)
