"""What the ``backcourt`` command line shares between ``backcourt.cli`` and the command modules
of ``backcourt.commands``: the consoles, the option types, the settings and adapters of one
invocation, the parsing of ``--season``, ``--phase`` and ``--start``/``--end``, and how a run
of the local runner is shown and ended (``run_phases``, ``report_run``: ``backfill`` and
``daily``).

``backcourt.cli`` owns the typer app and registers the command modules; they import this
module, never ``backcourt.cli``.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import date
from pathlib import Path
from typing import Annotated, Any

import typer
from rich import box
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from backcourt.bootstrap import build
from backcourt.config import Settings, load_settings
from backcourt.domain import registry
from backcourt.domain.dates import parse_date
from backcourt.domain.errors import BadInput
from backcourt.domain.ids import season_start_year
from backcourt.domain.registry import PHASE_ORDER, Phase
from backcourt.domain.status import GateVerdict, Verdict
from backcourt.ports import Services
from backcourt.services import backfill as bf
from backcourt.services import profiling
from backcourt.services.plan import Window
from backcourt.services.profiling import Profiler
from backcourt.services.schedules import require_schedules

# A pipe or a CI log gets 120 columns rather than rich's 80, so the matrix never truncates.
console = Console(width=None if sys.stdout.isatty() else 120)
err = Console(stderr=True, width=None if sys.stderr.isatty() else 120)
_state: dict[str, Path | None] = {"home": None}
VERDICT_STYLE = {Verdict.PASS: "green", Verdict.WARN: "yellow", Verdict.BLOCK: "bold red"}

EXIT_DONE, EXIT_NOT_DONE, EXIT_BAD_INPUT, EXIT_CANCELLED = 0, 1, 2, 3
"""The exit codes of a run: done (WARN allowed); blocked, failed, not done or gate-BLOCKed; bad
input (``cli.main``); cancelled."""

HomeOpt = Annotated[Path | None, typer.Option("--home", help="Home folder (BACKCOURT_HOME; "
                                               "default .backcourt/).")]
SeasonsOpt = Annotated[list[str], typer.Option("--season", help="Season, e.g. 2024-25; repeat "
                                                "for several.")]


def set_home(home: Path | None) -> None:
    """Remember ``--home`` for this invocation's settings."""
    _state["home"] = home


def home_settings() -> Settings:
    """This invocation's settings: ``--home``, then the environment."""
    return load_settings(_state["home"])


@contextmanager
def open_services(settings: Settings | None = None) -> Iterator[Services]:
    """The adapters of ``settings`` (default: ``home_settings()``), closed on exit."""
    services = build(settings or home_settings())
    try:
        yield services
    finally:
        services.close()


def parse_seasons(values: Sequence[str]) -> list[str]:
    """The ``--season`` values, checked and without repeats (BadInput when none)."""
    if not values:
        raise BadInput("give at least one --season (e.g. --season 2024-25)")
    for s in values:
        season_start_year(s)
    return list(dict.fromkeys(values))


def parse_phases(values: Sequence[str] | None) -> list[Phase]:
    """The ``--phase`` values in pipeline order (default: every phase that has processors)."""
    present = registry.phases_present()
    if not values:
        return list(present)
    chosen = {registry.parse_phase(v) for v in values}
    missing = [p.value for p in chosen if p not in present]
    if missing:
        raise BadInput(f"phase {', '.join(missing)} has no processors yet; available: "
                       f"{', '.join(p.value for p in present)}")
    return [p for p in PHASE_ORDER if p in chosen]


def parse_window(start: str | None, end: str | None) -> Window:
    """The --start/--end window (BadInput when start is after end)."""
    window = Window(parse_date(start, what="--start") if start else None,
                    parse_date(end, what="--end") if end else None)
    if window.start and window.end and window.start > window.end:
        raise BadInput(f"--start {window.start} is after --end {window.end}")
    return window


class RichProgress(bf.Progress):
    """The runner's progress as one bar per phase, and each phase's gate verdict."""

    def __init__(self, bar: Progress) -> None:
        self.bar = bar
        self.tasks: dict[Phase, Any] = {}

    def phase_started(self, phase: Phase, dates: int) -> None:
        total = dates
        if phase not in self.tasks:
            self.tasks[phase] = self.bar.add_task(f"phase {phase.value}", total=0)
        task = self.tasks[phase]
        self.bar.update(task, total=(self.bar.tasks[task].total or 0) + total)

    def unit_done(self, phase: Phase, processor: str, dates: int) -> None:
        self.bar.advance(self.tasks[phase], dates)

    def phase_gated(self, phase: Phase, verdicts: dict[date, GateVerdict]) -> None:
        counts = {v: sum(1 for x in verdicts.values() if x.verdict is v) for v in Verdict}
        worst = (Verdict.BLOCK if counts[Verdict.BLOCK] else
                 Verdict.WARN if counts[Verdict.WARN] else Verdict.PASS)
        self.bar.console.print(
            f"gate phase {phase.value}: [{VERDICT_STYLE[worst]}]{worst.value}[/] "
            f"(PASS {counts[Verdict.PASS]}, WARN {counts[Verdict.WARN]}, "
            f"BLOCK {counts[Verdict.BLOCK]} dates)")
        blocked = [v for v in verdicts.values() if v.verdict is Verdict.BLOCK]
        for v in blocked[:5]:
            self.bar.console.print(f"  [red]{v.game_date}[/]: " + "; ".join(v.reasons[:3]))
        if len(blocked) > 5:
            self.bar.console.print(f"  … and {len(blocked) - 5} more blocked dates "
                                   "(backcourt validate shows all)")


class _Both(bf.Progress):
    """Progress events to two listeners (the bars and a profiler)."""

    def __init__(self, first: bf.Progress, second: bf.Progress) -> None:
        self.first, self.second = first, second

    def phase_started(self, phase: Phase, dates: int) -> None:
        self.first.phase_started(phase, dates)
        self.second.phase_started(phase, dates)

    def unit_done(self, phase: Phase, processor: str, dates: int) -> None:
        self.first.unit_done(phase, processor, dates)
        self.second.unit_done(phase, processor, dates)

    def phase_gated(self, phase: Phase, verdicts: dict[date, GateVerdict]) -> None:
        self.first.phase_gated(phase, verdicts)
        self.second.phase_gated(phase, verdicts)


def run_phases(services: Services, seasons: Sequence[str], phases: Sequence[Phase],
               window: Window, *, force: bool = False, command: str = "backfill",
               processors: Sequence[str] | None = None,
               observer: bf.Progress | None = None) -> bf.BackfillResult:
    """One run of the local runner as the CLI shows it: a new run id printed first (with how to
    cancel it), then a progress bar per phase and each phase's gate verdict. ``command`` is
    what the run's record says ran it; ``observer`` also receives the progress events (the
    ``--profile`` profiler)."""
    require_schedules(services.bucket, seasons)  # before a run id: nothing will run
    run_id = bf.new_run_id()
    err.print(f"run {run_id} (stop it with `backcourt cancel {run_id}`)", highlight=False)
    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                  TextColumn("dates"), TimeElapsedColumn(), console=console) as bar:
        shown: bf.Progress = RichProgress(bar)
        return bf.Runner(services, shown if observer is None else _Both(shown, observer)).backfill(
            seasons, phases, window, force=force, run_id=run_id, command=command,
            processors=processors)


def report_run(result: bf.BackfillResult, *, again: str = "the same backfill") -> int:
    """Say how the run ended and return its exit code: ``EXIT_DONE`` (0) when every expected
    processor-date in scope is done (WARN allowed), ``EXIT_NOT_DONE`` (1) when any is blocked,
    failed, not done or gate-BLOCKed, ``EXIT_CANCELLED`` (3) when it was cancelled (``again``:
    what to run to resume it)."""
    if result.cancelled_by is not None:
        err.print(f"[yellow]run {result.run_id} cancelled by {result.cancelled_by}[/]: "
                  f"{result.cancelled_units} planned unit(s) not started (marked cancelled); "
                  f"run {again} again to resume", highlight=False)
        return EXIT_CANCELLED
    outcome = result.outcome
    done = sum(p.dates_processed for p in result.phases)
    if result.did_work:
        console.print(f"run {result.run_id}: processed {done} processor-dates in "
                      f"{sum(p.seconds for p in result.phases):.1f} s")
    if outcome is None or outcome.clean:
        if not result.did_work:
            console.print("[green]Nothing to do:[/] every expected date is already complete "
                          "(no processing work was done). Use --force to recompute.")
        return EXIT_DONE
    left = ", ".join(f"{n} {state}" for state, n in sorted(outcome.open.items()))
    console.print(f"[red]not complete:[/] {outcome.done}/{outcome.expected} expected "
                  "processor-dates done" + (f"; {left}" if left else
                                            ", but the gate BLOCKed what they wrote"),
                  highlight=False)
    for phase, n in outcome.gate_blocked.items():
        if n:
            err.print(f"[red]gate phase {phase}: BLOCK on {n} date(s)[/] (backcourt validate "
                      "shows why)", highlight=False)
    for line in outcome.reasons:
        err.print(f"  {line}", highlight=False, markup=False)
    return EXIT_NOT_DONE


def print_profile(profiler: Profiler) -> None:
    """The report of a profiled run (``services.profiling``): an overview per phase, then per
    phase its steps, top backcourt functions by cumulative time and top functions by own
    time."""
    console.print(f"\n[bold]{profiling.REPORT_TITLE}[/]: cProfile of every thread of this "
                  "process (seconds per thread, summed over threads; profiling slows the run), "
                  "CPU only for the worker processes (not profiled); "
                  "backcourt/services/profiling.py says what is and is not covered",
                  highlight=False)
    if profiler.note:
        console.print(f"note: {profiler.note}")
    overview = Table(box=box.SIMPLE, title="per phase")
    overview.add_column("segment", no_wrap=True, min_width=16)
    for name in ("wall s", "CPU s here", "CPU s workers", "waiting s"):
        overview.add_column(name, justify="right", no_wrap=True, min_width=len(name))
    overview.add_column("largest own-time function", no_wrap=True, overflow="ellipsis",
                        max_width=64)
    for seg in profiler.segments:
        top = profiling.top(seg.counts, by_own=True, limit=1)
        overview.add_row(seg.label, f"{seg.wall_s:.1f}", f"{seg.cpu_s:.1f}",
                         f"{seg.children_cpu_s:.1f}", f"{profiling.waiting(seg.counts):.1f}",
                         f"{profiling.name(top[0][0])} {top[0][1][1]:.1f} s" if top else "")
    console.print(overview)
    for seg in profiler.segments:
        if seg.wall_s < 0.05 and not seg.counts:
            continue
        console.print(f"\n[bold]{seg.label}[/]: {seg.wall_s:.1f} s wall, {seg.cpu_s:.1f} s CPU "
                      f"here, {seg.children_cpu_s:.1f} s CPU in worker processes, "
                      f"{seg.threads} thread profile(s), {profiling.waiting(seg.counts):.1f} "
                      "thread-seconds waiting (locks, queues, timers: left out below)",
                      highlight=False)
        steps = profiling.steps(seg.counts)
        if steps:
            table = Table(box=box.SIMPLE, title="steps (thread-seconds, cumulative)")
            table.add_column("step")
            table.add_column("calls", justify="right")
            table.add_column("seconds", justify="right")
            for label, calls, secs in steps:
                table.add_row(label, str(calls), f"{secs:.2f}")
            console.print(table)
        n = profiling.TOP
        cum = Table(box=box.SIMPLE, title=f"top {n} backcourt functions by cumulative time")
        own = Table(box=box.SIMPLE, title=f"top {n} functions by own time (largest costs)")
        for t in (cum, own):
            t.add_column("function", no_wrap=True, overflow="ellipsis")
            t.add_column("calls", justify="right")
            t.add_column("own s", justify="right")
            t.add_column("cumulative s", justify="right")
        for f, (nc, tt, ct) in profiling.top(seg.counts, by_own=False, limit=n):
            cum.add_row(profiling.name(f), str(nc), f"{tt:.2f}", f"{ct:.2f}")
        for f, (nc, tt, ct) in profiling.top(seg.counts, by_own=True, limit=n):
            own.add_row(profiling.name(f), str(nc), f"{tt:.2f}", f"{ct:.2f}")
        console.print(cum)
        console.print(own)
