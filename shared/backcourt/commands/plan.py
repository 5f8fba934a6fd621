"""``backcourt plan``: what a backfill would do, and what it would cost, without doing it.

The plan is the runner's own planning (``services.backfill.preview``) on a side-effect-free
view of the status store. Against BigQuery every SQL unit is dry-run and priced
(``services.cost``); ``backfill --max-cost`` uses the same estimate (``check_budget``).

No ``from __future__ import annotations``: typer reads the command's annotations.
"""

import json
from collections.abc import Sequence
from datetime import date
from typing import Annotated, Any

import typer

from backcourt.commands.common import (
    SeasonsOpt,
    console,
    err,
    open_services,
    parse_phases,
    parse_seasons,
    parse_window,
)
from backcourt.domain.registry import PROCESSORS, Phase
from backcourt.ports import Services
from backcourt.services.cost import CostEstimate, ProcessorCost, estimate
from backcourt.services.plan import Window
from backcourt.services.preview import PhasePreview, ProcessorPreview, RunPreview, preview

NO_DRY_RUN = ("embedded default (DuckDB): no dry run and no on-demand bill, so the bytes are "
              "unknown (not 0)")


def human_bytes(n: int | None) -> str:
    """``1.5 GiB`` style, or ``?`` when unknown."""
    if n is None:
        return "?"
    size = float(n)
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if size < 1024 or unit == "TiB":
            return f"{size:,.0f} {unit}" if unit == "B" else f"{size:,.1f} {unit}"
        size /= 1024
    raise AssertionError("unreachable")


def money(usd: float | None) -> str:
    """``$0.0123`` below a dollar, ``$12.34`` above, ``?`` when unknown."""
    if usd is None:
        return "?"
    return f"${usd:,.4f}" if usd < 1 else f"${usd:,.2f}"


def _cost_json(cost: ProcessorCost | None) -> dict[str, Any] | None:
    if cost is None:
        return None
    return {"kind": cost.kind, "queries": cost.queries, "scanned_bytes": cost.scanned,
            "billed_bytes": cost.billed, "usd": cost.usd, "note": cost.note}


def _processor_json(p: ProcessorPreview, est: CostEstimate) -> dict[str, Any]:
    return {"processor": p.processor.name, "phase": p.processor.phase.value,
            "expected": p.expected, "complete": p.complete, "not_expected": p.not_expected,
            "to_run": len(p.to_run), "dates": [d.isoformat() for d in p.to_run],
            "units": [{"start": min(u.days).isoformat(), "end": max(u.days).isoformat(),
                       "dates": len(u.days)} for u in p.units],
            "left": p.left, "reasons": p.reasons, "depends_on": p.depends_on,
            "cost": _cost_json(est.processors.get(p.processor.name))}


def plan_json(plan: RunPreview, est: CostEstimate, backend: str) -> dict[str, Any]:
    """The machine form of a plan and its estimate (``backcourt plan --json``)."""
    return {
        "seasons": plan.seasons, "backend": backend, "force": plan.force,
        "window": {"start": plan.window.start.isoformat() if plan.window.start else None,
                   "end": plan.window.end.isoformat() if plan.window.end else None},
        "phases": [{"phase": ph.phase.value, "depends_on": ph.depends_on, "to_run": ph.to_run,
                    "units": sum(len(p.units) for p in ph.processors),
                    "processors": [_processor_json(p, est) for p in ph.processors]}
                   for ph in plan.phases],
        "totals": {"to_run": sum(ph.to_run for ph in plan.phases),
                   "units": len(plan.units())},
        "cost": {"dry_run": est.dry_run, "price_per_tib_usd": est.price_per_tib,
                 "scanned_bytes": est.scanned, "usd": est.usd,
                 "unestimated": est.unestimated,
                 "note": None if est.dry_run else NO_DRY_RUN},
    }


def make_plan(services: Services, seasons: Sequence[str], phases: Sequence[Phase],
              window: Window, force: bool) -> tuple[RunPreview, CostEstimate]:
    """The plan and its estimate (dry runs on BigQuery; nothing runs, nothing is written)."""
    if services.settings.backend == "local":  # an empty home has no tables yet
        services.warehouse.ensure_tables([p.table for p in PROCESSORS])
    plan = preview(services, seasons, phases, window, force=force)
    return plan, estimate(plan.units(), services.warehouse, services.settings.price_per_tib_usd)


def check_budget(services: Services, seasons: Sequence[str], phases: Sequence[Phase],
                 window: Window, force: bool, max_cost: float) -> None:
    """Refuse (exit 2) before anything runs when the plan's estimate is over ``max_cost`` USD.

    Without dry runs (the embedded default) there is no on-demand bill: the budget passes with
    a note.
    """
    _, est = make_plan(services, seasons, phases, window, force)
    if not est.dry_run:
        err.print(f"--max-cost {money(max_cost)} not applied: {NO_DRY_RUN}", highlight=False)
        return
    partial = (f"; not estimated: {', '.join(est.unestimated)}" if est.unestimated else "")
    if est.over_budget(max_cost):
        err.print(f"[red]refusing to start:[/] the plan's estimated BigQuery on-demand cost "
                  f"{money(est.usd)} ({human_bytes(est.scanned)} scanned, at "
                  f"{money(est.price_per_tib)}/TiB) is over the budget --max-cost "
                  f"{money(max_cost)}{partial}. `backcourt plan` shows it per processor.",
                  highlight=False)
        raise typer.Exit(2)
    err.print(f"estimated BigQuery on-demand cost {money(est.usd)} "
              f"({human_bytes(est.scanned)} scanned) is within --max-cost {money(max_cost)}"
              f"{partial}", highlight=False)


def _range_text(days: Sequence[date]) -> str:
    if not days:
        return ""
    first, last = min(days), max(days)
    return first.isoformat() if first == last else f"{first.isoformat()} … {last.isoformat()}"


def _left_text(p: ProcessorPreview) -> str:
    return ", ".join(f"{k} {v}" for k, v in sorted(p.left.items()))


def _print_phase(ph: PhasePreview, est: CostEstimate) -> None:
    from rich import box
    from rich.table import Table

    title = f"phase {ph.phase.value}: {ph.to_run} processor-date(s) to run"
    if ph.depends_on:
        title += f" — at most: decided by the {ph.depends_on} during the run"
    table = Table(title=title, box=box.SIMPLE_HEAD, pad_edge=False, title_justify="left")
    for name, right in (("processor", False), ("to run", True), ("done", True), ("n/a", True),
                        ("left", False), ("units", True), ("dates to run", False),
                        ("scan", True), ("cost", True)):
        table.add_column(name, justify="right" if right else "left", no_wrap=name != "left")
    for p in ph.processors:
        cost = est.processors.get(p.processor.name)
        loader = cost is not None and cost.kind == "loader"
        table.add_row(p.processor.name, str(len(p.to_run)), f"{p.complete}/{p.expected}",
                      str(p.not_expected), _left_text(p), str(len(p.units)),
                      _range_text(p.to_run),
                      ("load" if loader else human_bytes(cost.scanned)) if cost else "",
                      ("free" if loader else money(cost.usd)) if cost else "")
    console.print(table)
    waits: dict[str, list[str]] = {}
    for p in ph.processors:
        if p.depends_on and p.depends_on != ph.depends_on:
            waits.setdefault(p.depends_on, []).append(p.processor.name)
    for what, names in waits.items():
        who = ("every processor" if len(names) == len(ph.processors) else ", ".join(names))
        console.print(f"  {who}: dates known only once {what}", highlight=False)
    for p in ph.processors:
        for why, n in sorted(p.reasons.items()):
            console.print(f"  {p.processor.name}: {n} date(s) not run because {why}",
                          highlight=False)


def register(app: typer.Typer) -> None:
    """Add ``plan`` to the CLI."""

    @app.command("plan")
    def plan_cmd(
        season: SeasonsOpt,
        phase: Annotated[list[str] | None, typer.Option(
            "--phase", help="Phase(s) to plan (default: all available).")] = None,
        start: Annotated[str | None, typer.Option(help="First date (YYYY-MM-DD).")] = None,
        end: Annotated[str | None, typer.Option(help="Last date (YYYY-MM-DD).")] = None,
        force: Annotated[bool, typer.Option(help="Plan as `backfill --force` would.")] = False,
        as_json: Annotated[bool, typer.Option("--json")] = False,
    ) -> None:
        """What `backfill` would do (dates to run, done, not expected, blocked, units) and, on
        BigQuery, the bytes it would scan and their on-demand cost. Changes nothing."""
        window = parse_window(start, end)
        seasons = parse_seasons(season)
        phases = parse_phases(phase)
        with open_services() as s:
            plan, est = make_plan(s, seasons, phases, window, force)
            backend = s.settings.backend
        if as_json:
            console.print_json(json.dumps(plan_json(plan, est, backend)))
            return
        for ph in plan.phases:
            _print_phase(ph, est)
        total = sum(ph.to_run for ph in plan.phases)
        console.print(f"plan: {total} processor-date(s) in {len(plan.units())} unit(s) over "
                      f"{', '.join(seasons)}; nothing was run or changed", highlight=False)
        if est.dry_run:
            console.print(f"estimated BigQuery on-demand cost {money(est.usd)} for "
                          f"{human_bytes(est.scanned)} scanned (at {money(est.price_per_tib)}"
                          "/TiB, 10 MiB minimum per table and query; the monthly free TiB not "
                          "deducted)" + (f"; not estimated: {', '.join(est.unestimated)}"
                                         if est.unestimated else ""), highlight=False)
        else:
            console.print(f"cost: {NO_DRY_RUN}", highlight=False)
