"""``backcourt report``: the HTML status report as one self-contained file.

No ``from __future__ import annotations`` here: typer reads the command's annotations."""

from pathlib import Path
from typing import Annotated

import typer

from backcourt.commands.common import SeasonsOpt, console, open_services
from backcourt.domain import registry
from backcourt.services import html_report


def register(app: typer.Typer) -> None:
    """Add ``report`` to the ``backcourt`` app."""

    @app.command()
    def report(season: SeasonsOpt,
               out: Annotated[Path, typer.Option("--out", help="The HTML file to write.")]
               = Path("report.html")) -> None:
        """Write the HTML status report: a calendar heatmap per processor, gate verdicts with
        reasons, run history and prediction quality (one file, no external resources)."""
        write_report(season, out)


def write_report(seasons: list[str], out: Path) -> None:
    """Collect from the local (or configured) ports, render and write ``out``."""
    names = html_report.parse_seasons(seasons)
    with open_services() as s:
        s.warehouse.ensure_tables([p.table for p in registry.PROCESSORS])
        data = html_report.collect(s.status, s.warehouse, names, now=s.clock.now(),
                                   backend=s.settings.backend)
    page = html_report.render(data)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(page, encoding="utf-8")
    dates = sum(len(x.days) for x in data.seasons)
    empty = [x.season for x in data.seasons if not x.processors]
    console.print(f"[green]✓[/] wrote {out} ({len(page.encode()) / 1024:,.0f} KB): "
                  f"{', '.join(names)}, {dates} dates × {len(registry.PROCESSORS)} processors, "
                  f"{len(data.runs)} runs", highlight=False)
    if empty:
        console.print(f"[yellow]no schedule loaded for {', '.join(empty)}[/]: run `backcourt "
                      "backfill --season S --phase 2` first", highlight=False)
