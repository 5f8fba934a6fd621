"""Where a local backfill's time goes, per phase and step (``backcourt backfill --profile``;
the CLI prints it: ``commands.common.print_profile``).

What it measures, and what it does not:

* **cProfile of this process, every thread**: the main thread's profiler and one per thread
  started during the run (``threading.setprofile`` starts it as the thread's first event: the
  runner's unit threads, the model-fitting threads …). The figures are per-thread wall clock,
  *summed over threads*: a phase whose two unit threads are both busy shows up to twice its wall
  in them. Profiling slows pure-Python code (every call is recorded), so a profiled run is
  slower than an unprofiled one; the proportions are what it is for.
* **Segments are phases**: a phase's segment runs from the end of the previous phase's gate to
  the end of its own (its planning, waves, gate and validation). At each boundary the main
  thread's profiler is stopped (calls still open are counted up to then) and a new one started;
  every other thread's counts are read as a difference from the previous boundary (a call still
  open in another thread at a boundary counts in the segment where it returns).
* **Worker processes** (``services.cpu_pool``: phase 2's parsing and phase 6's documents) are
  not profiled; their CPU is shown per phase (``resource.RUSAGE_CHILDREN``: the pool is shut
  down, its workers reaped, at the end of each wave). DuckDB's own threads run native code: their
  time shows as the Python call that waited for them (``execute``, ``replace``, ``query``).

Per phase it records (``commands.common.print_profile`` shows): wall, CPU of this process and
of its worker processes, the **steps** (the cumulative time of the runner's own entry points,
``STEPS``: plan, process units, parse, write, train, gate, validate …), the top functions by
cumulative time within backcourt, and the top functions by own time anywhere (where the CPU
actually goes: the largest costs).

With Python ≥ 3.12 cProfile uses ``sys.monitoring``, which admits one profiler per process: the
main thread's profiler then records every thread's calls on one stack and the per-thread
profilers are not started (the note in the report says so).
"""

from __future__ import annotations

import cProfile
import resource
import sys
import threading
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from backcourt.domain.registry import Phase
from backcourt.domain.status import GateVerdict
from backcourt.services import backfill as bf

Func = tuple[str, int, str]  # cProfile's key: file, first line, function name
Counts = dict[Func, tuple[int, float, float]]  # calls, own time, cumulative time

REPORT_TITLE = "profile of the backfill"
TOP = 12

STEPS: tuple[tuple[str, str, str], ...] = (
    ("plan", "services/protocol.py", "plan"),
    ("process units", "services/protocol.py", "process"),
    ("  known inputs", "services/protocol.py", "read"),
    ("  raw load + parse (2)", "services/cpu_pool.py", "load_in"),
    ("  predictions (5A)", "models/predict.py", "compute"),
    ("    model training (5A)", "models/walkforward.py", "train_iter"),
    ("    LightGBM fits, fit threads (5A)", "models/gbm.py", "fit_scored"),
    ("    holdout refits, fit threads (5A)", "models/gbm.py", "fit"),
    ("  export documents (6)", "services/exports.py", "compute"),
    ("  warehouse writes", "adapters/local/duckdb_warehouse.py", "replace"),
    ("gate checks (per wave)", "services/gate.py", "check"),
    ("validate (phase gate)", "services/protocol.py", "validate_phase"),
    ("warehouse queries (all)", "adapters/local/duckdb_warehouse.py", "query"),
    ("status store reads", "adapters/local/sqlite_status.py", "_read"),
    ("status store writes", "adapters/local/sqlite_status.py", "_put"),
)
"""(label, file suffix, function name) of the runner's entry points: a step is shown when its
function ran in the phase (a name the code no longer has simply shows nothing)."""


@dataclass
class Segment:
    """One phase's share of the run."""

    label: str
    wall_s: float
    cpu_s: float  # this process, every thread
    children_cpu_s: float  # worker processes reaped during the segment
    threads: int  # threads profiled (beyond the main one)
    counts: Counts = field(default_factory=dict)


def _stats(prof: cProfile.Profile) -> Counts:
    """A profiler's counts so far, without stopping it."""
    prof.snapshot_stats()
    raw: Mapping[Func, tuple[Any, ...]] = prof.stats
    return {f: (int(v[1]), float(v[2]), float(v[3])) for f, v in raw.items()}


def _minus(now: Counts, before: Counts) -> Counts:
    out: Counts = {}
    for f, (nc, tt, ct) in now.items():
        b = before.get(f, (0, 0.0, 0.0))
        if nc - b[0] > 0 or tt - b[1] > 1e-9:
            out[f] = (nc - b[0], tt - b[1], ct - b[2])
    return out


def _add(into: Counts, more: Counts) -> None:
    for f, (nc, tt, ct) in more.items():
        a = into.get(f, (0, 0.0, 0.0))
        into[f] = (a[0] + nc, a[1] + tt, a[2] + ct)


@dataclass
class _Thread:
    prof: cProfile.Profile
    thread: threading.Thread
    seen: Counts = field(default_factory=dict)


class Profiler(bf.Progress):
    """Profiles a run (module docstring); a ``Progress`` so it sees each phase's end."""

    def __init__(self) -> None:
        self.segments: list[Segment] = []
        self.note = ""
        self._threads: list[_Thread] = []
        self._lock = threading.Lock()
        self._main: cProfile.Profile | None = None
        self._per_thread = sys.version_info < (3, 12)
        self._mark = self._now()

    @staticmethod
    def _now() -> tuple[float, float, float]:
        return (time.perf_counter(), time.process_time(),
                _cpu(resource.getrusage(resource.RUSAGE_CHILDREN)))

    def _thread_started(self, *_: Any) -> None:
        """``threading.setprofile`` hook: the new thread's first event starts its profiler."""
        prof = cProfile.Profile()
        with self._lock:
            self._threads.append(_Thread(prof, threading.current_thread()))
        prof.enable()

    @contextmanager
    def running(self) -> Iterator[Profiler]:
        """Profile everything run inside (and close the last segment on exit)."""
        if self._per_thread:
            threading.setprofile(self._thread_started)
        else:
            self.note = ("Python ≥ 3.12: one profiler for every thread (sys.monitoring); "
                         "threads' calls share its stack")
        self._mark = self._now()
        self._main = cProfile.Profile()
        self._main.enable()
        try:
            yield self
        finally:
            self._cut("after the phases")
            if self._main is not None:
                self._main.disable()
            threading.setprofile(None)

    def phase_gated(self, phase: Phase, verdicts: dict[date, GateVerdict]) -> None:
        """A phase ended: close its segment."""
        self._cut(f"phase {phase.value}")

    def _cut(self, label: str) -> None:
        counts: Counts = {}
        with self._lock:
            threads = list(self._threads)
        ended = set()
        for t in threads:  # read first: no profiler is stopped on this thread before
            if not t.thread.is_alive():
                ended.add(id(t))
            now = _stats(t.prof)
            _add(counts, _minus(now, t.seen))
            t.seen = now
        if self._main is not None:
            self._main.disable()  # flushes the calls still open in this thread
            _add(counts, _stats(self._main))
        wall, cpu, children = self._now()
        self.segments.append(Segment(label, wall - self._mark[0], cpu - self._mark[1],
                                     children - self._mark[2], len(threads), counts))
        with self._lock:  # a thread that had ended is counted in full: forget it
            self._threads = [t for t in self._threads if id(t) not in ended]
        self._mark = self._now()
        self._main = cProfile.Profile()
        self._main.enable()

def _cpu(usage: resource.struct_rusage) -> float:
    return float(usage.ru_utime + usage.ru_stime)


_SKIP_CUMULATIVE = ("threading.py", "concurrent/futures/thread.py", "cli.py", "commands/",
                    "services/backfill.py", "typer/", "click/", "contextlib.py")
"""Wrappers whose cumulative time is the whole segment: left out of the cumulative top list."""


WAITS = ("<method 'acquire' of '_thread.lock' objects>",
         "<method 'acquire' of '_thread.RLock' objects>",
         "<method 'get' of '_queue.SimpleQueue' objects>",
         "<method 'poll' of 'select.poll' objects>", "<built-in method time.sleep>",
         "<built-in method select.select>", "<built-in method posix.waitpid>",
         "<method 'disable' of '_lsprof.Profiler' objects>")
"""Built-ins in which a thread waits (for a lock, a queue, a child, a timer …): idle time, not
a cost; summed apart as "waiting"."""


def waiting(counts: Counts) -> float:
    """Thread-seconds spent in ``WAITS``."""
    return sum(c[1] for f, c in counts.items() if f[0] == "~" and f[2] in WAITS)


def top(counts: Counts, *, by_own: bool, limit: int) -> list[tuple[Func, tuple[int, float,
                                                                                 float]]]:
    """The ``limit`` largest functions: by own time (waits left out), or by cumulative time
    among backcourt's own functions (wrappers that span the whole segment left out)."""
    if by_own:
        items = [(f, c) for f, c in counts.items() if not (f[0] == "~" and f[2] in WAITS)]
        return sorted(items, key=lambda fc: -fc[1][1])[:limit]
    items = [(f, c) for f, c in counts.items()
             if "backcourt" in f[0] and not any(s in f[0] for s in _SKIP_CUMULATIVE)]
    return sorted(items, key=lambda fc: -fc[1][2])[:limit]


def steps(counts: Counts) -> list[tuple[str, int, float]]:
    """(label, calls, cumulative thread-seconds) of each of ``STEPS`` that ran."""
    out = []
    for label, suffix, name in STEPS:
        calls, secs = 0, 0.0
        for (file, _line, func), (nc, _tt, ct) in counts.items():
            if func == name and file.replace("\\", "/").endswith(suffix):
                calls += nc
                secs += ct
        if calls:
            out.append((label, calls, secs))
    return out


def name(f: Func) -> str:
    """A function as ``path below backcourt/ or site-packages/:line name``."""
    file, line, func = f
    if file == "~":  # a built-in
        return func
    path = file.replace("\\", "/")
    short = path.split("/backcourt/", 1)[1] if "/backcourt/" in path else path.rsplit("/", 2)[-1]
    if "site-packages/" in path:
        short = path.split("site-packages/", 1)[1]
    return f"{short}:{line} {func}"
