"""Pure-Python work in worker processes, for the local runner's large backfills.

Parsing raw JSON (phase 2) and building export documents (phase 6) are pure Python and hold the
GIL, so the runner's threads do them one at a time whatever the number of cores. When such a
phase level has at least ``MIN_DATES`` processor-dates, the local runner gives its units a pool
of ``cpu_processes`` worker processes (``BACKCOURT_CPU_PROCESSES``; default: the number of CPUs,
at most 4), as ``Services.cpu_pool`` (phase 2) and ``ComputeContext.pool`` (phase 6). Only the
pure work runs there: reading and parsing a unit's raw files; building and encoding a date's
export documents. Leases, warehouse reads and writes, quarantine and status stay in the
runner's process, exactly as without a pool.

Workers are started with ``spawn`` (the runner has threads and an open DuckDB connection, which
``fork`` would copy). A worker exits on its own once the process that started it is gone (even
killed with SIGKILL), so a killed backfill leaves no workers behind. A worker that dies breaks
the pool: the units waiting on it fail as transient errors and the runner's next retry round
starts a new pool.
"""

from __future__ import annotations

import importlib
import multiprocessing
import os
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Executor, ProcessPoolExecutor
from contextlib import contextmanager
from dataclasses import replace
from datetime import date
from typing import Any

from backcourt.domain.registry import Phase
from backcourt.ports import Services
from backcourt.sources.loaders import DayLoad, LoadContext

POOLED_PHASES = frozenset({Phase.RAW, Phase.EXPORTS})
"""The phases whose units do pure-Python work a pool can take."""

MIN_DATES = 40
"""Below this many processor-dates, starting worker processes costs more than it saves."""

PIECE_DATES = 16
"""Dates per pool task when a unit's dates are parsed side by side (``load_in``)."""

_PARENT_POLL_S = 0.5


def resolve(ref: str) -> Callable[[Any], Any]:
    """The function a registry reference ``module:function`` names."""
    module, _, func = ref.partition(":")
    fn: Callable[[Any], Any] = getattr(importlib.import_module(module), func)
    return fn


def load(ref: str, ctx: LoadContext) -> dict[date, DayLoad]:
    """Run the phase-2 loader ``ref`` on ``ctx`` in this process."""
    loads: dict[date, DayLoad] = resolve(ref)(ctx)
    return loads


def load_in(pool: Executor | None, ref: str, ctx: LoadContext, *, by_date: bool = True
            ) -> dict[date, DayLoad]:
    """``load`` in ``pool`` (waiting for it), or here when there is no pool.

    With ``by_date`` (a loader whose dates are independent of each other: all but the season
    schedule) a unit's dates are parsed in pieces of ``PIECE_DATES`` side by side, so one large
    unit uses every worker: the shot charts, the largest raw source, were otherwise one long
    chain of units that left the other cores idle at the end of phase 2.
    """
    if pool is None:
        return load(ref, ctx)
    days = list(ctx.days)
    step = PIECE_DATES if by_date else max(1, len(days))
    pieces = [
        replace(ctx, days=part, games={d: ctx.games[d] for d in part if d in ctx.games})
        for part in (days[i:i + step] for i in range(0, len(days), step))
    ]
    out: dict[date, DayLoad] = {}
    for future in [pool.submit(load, ref, piece) for piece in pieces]:
        out.update(future.result())
    return out


@contextmanager
def pooled(services: Services, dates: int) -> Iterator[Services]:
    """``services`` with a process pool for a phase-2 or phase-6 level of ``dates``
    processor-dates, when the settings and the size call for one (module docstring); the pool is
    shut down on exit."""
    processes = services.settings.cpu_processes
    if services.settings.backend != "local" or processes < 2 or dates < MIN_DATES:
        yield services
        return
    pool = ProcessPoolExecutor(max_workers=processes, mp_context=multiprocessing.get_context(
        "spawn"), initializer=_exit_with_parent, initargs=(os.getpid(),))
    try:
        yield replace(services, cpu_pool=pool)
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


def _exit_with_parent(parent: int) -> None:
    """Worker initializer: a daemon thread ends this worker once ``parent`` is gone."""

    def watch() -> Any:
        while os.getppid() == parent:
            time.sleep(_PARENT_POLL_S)
        os._exit(1)

    threading.Thread(target=watch, name="exit-with-parent", daemon=True).start()
