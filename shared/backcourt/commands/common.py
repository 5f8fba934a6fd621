"""What the ``backcourt`` command line shares between ``backcourt.cli`` and the command modules
of ``backcourt.commands``: the consoles, the option types, the settings and adapters of one
invocation, and the parsing of ``--season``, ``--phase`` and ``--start``/``--end``.

``backcourt.cli`` owns the typer app and registers the command modules; they import this
module, never ``backcourt.cli``.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from backcourt.bootstrap import build
from backcourt.config import Settings, load_settings
from backcourt.domain import registry
from backcourt.domain.dates import parse_date
from backcourt.domain.errors import BadInput
from backcourt.domain.ids import season_start_year
from backcourt.domain.registry import PHASE_ORDER, Phase
from backcourt.ports import Services
from backcourt.services.plan import Window

# A pipe or a CI log gets 120 columns rather than rich's 80, so the matrix never truncates.
console = Console(width=None if sys.stdout.isatty() else 120)
err = Console(stderr=True, width=None if sys.stderr.isatty() else 120)
_state: dict[str, Path | None] = {"home": None}

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
