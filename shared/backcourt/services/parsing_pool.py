"""Phase-2 parsing in worker processes, for the local runner's large backfills.

Parsing raw JSON is pure Python and holds the GIL, so the runner's threads parse one file at a
time whatever the number of cores. When a phase-2 level has at least ``MIN_DATES``
processor-dates to load, the local runner parses them in a pool of ``parse_processes`` worker
processes (``BACKCOURT_PARSE_PROCESSES``; default: the number of CPUs, at most 4). Only the
loader runs there: reading and parsing the files of a unit's dates. Leases, writes, quarantine
and status stay in the runner's process, exactly as without a pool.

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

from backcourt.bootstrap import Services
from backcourt.sources.loaders import DayLoad, LoadContext

MIN_DATES = 40
"""Below this many processor-dates, starting worker processes costs more than it saves."""

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


def load_in(pool: Executor | None, ref: str, ctx: LoadContext) -> dict[date, DayLoad]:
    """``load`` in ``pool`` (waiting for it), or here when there is no pool."""
    if pool is None:
        return load(ref, ctx)
    return pool.submit(load, ref, ctx).result()


@contextmanager
def parsing(services: Services, dates: int) -> Iterator[Services]:
    """``services`` with a parse pool for a phase-2 level of ``dates`` processor-dates, when the
    settings and the size call for one (module docstring); the pool is shut down on exit."""
    processes = services.settings.parse_processes
    if services.settings.backend != "local" or processes < 2 or dates < MIN_DATES:
        yield services
        return
    pool = ProcessPoolExecutor(max_workers=processes, mp_context=multiprocessing.get_context(
        "spawn"), initializer=_exit_with_parent, initargs=(os.getpid(),))
    try:
        yield replace(services, parse_pool=pool)
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


def _exit_with_parent(parent: int) -> None:
    """Worker initializer: a daemon thread ends this worker once ``parent`` is gone."""

    def watch() -> Any:
        while os.getppid() == parent:
            time.sleep(_PARENT_POLL_S)
        os._exit(1)

    threading.Thread(target=watch, name="exit-with-parent", daemon=True).start()
