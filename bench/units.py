"""Benchmark: the largest cloud unit of every processor, each in a fresh process, against the
``process`` Cloud Function's limits (540 s, 1 GiB: ``terraform/functions.tf``).

Run on a finished home (the four seasons backfilled, phases 2 → 6: e.g. the ``batched`` home
``python bench/backfill.py --home DIR`` keeps) that may be written to — a copy, never a
reference home::

    cp -r FINISHED_HOME /tmp/units-home
    python bench/units.py --home /tmp/units-home [--processors NAME ...]

The measuring process imports no backcourt module: a child's peak RSS (``ru_maxrss``) starts
from its parent's RSS at the fork, so the survey and the arming run in helper subprocesses.

1. **survey** (a helper process): the spans the cloud's ``plan`` makes of each phase
   (``protocol._spans`` over the expected dates of the phase's processors in every season of
   the home, ``chunk_days`` dates and at most ``MAX_RANGE_DAYS`` = 62 days each; the schedule
   is one message per whole season); for each processor, its largest unit: the span with the
   most rows written in the home (``rows_written`` of its status documents), then the most of
   its expected dates, then the latest; and, when it is another span, the latest full span
   (≥ 90 % of those rows), which reads the most history (``largest``);
2. **arm** (a helper process): the cloud's ``plan`` function for that processor and span with
   ``force`` (``protocol.plan_phase``): its finished dates go back to pending, and the one work
   message the workflow would publish comes back. For phase 5A the weekly model artifacts of
   the span are moved aside first (to ``bench-units-aside/`` in the bucket; ``--keep-models``
   leaves them), because an artifact that exists is loaded, never retrained: the unit then
   trains its weeks as the first backfill does;
3. **run** (a fresh subprocess per processor): the ``process`` function's service call on that
   message, ``protocol.process_message`` on ``RUNTIME.services(load_settings(home))`` (what
   ``functions/main.py`` ``get_services`` builds: the local adapters, tables ensured), with the
   function's delivery deadline (``BACKCOURT_FUNCTION_TIMEOUT_S=540``). No process pool: only
   the local backfill runner makes one (``services.cpu_pool.pooled``), never
   ``protocol.process``; the child also gets ``BACKCOURT_CPU_PROCESSES=0`` so that no settings
   could ask for one. Its wall clock, CPU (user + system) and peak RSS are its own
   (``os.wait4``; its ``VmHWM`` is printed as a check); inside it, the cold start (importing
   backcourt and building the services) is timed apart from the unit.

One line per unit measured, then the largest time and the largest memory. Timings are never
asserted; on a loaded machine wall clocks are inflated (the load average is printed), CPU
seconds and peak RSS are the steadier figures; CPU seconds over 0.583 (the vCPU of a 1 GiB
function) estimate the unit's wall on the function. On the local adapters the SQL processors run
inside the process (DuckDB), so their RSS is an upper bound of the cloud's, where BigQuery runs
that SQL. Exit status 1 when a unit failed or wrote nothing.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

LIMIT_S = 540
"""The ``process`` function's timeout (event-driven gen2 functions stop at 540 s)."""
LIMIT_MIB = 1024
"""The ``process`` function's memory (``1Gi`` in ``terraform/functions.tf``)."""
FUNCTION_VCPU = 0.583
"""The CPU of a 1 GiB function (no ``available_cpu`` set): "1 GiB .583 vCPU"
(https://cloud.google.com/functions/docs/configuring/memory). CPU seconds measured here over
this give the wall a CPU-bound unit would take on the function, a rough estimate (another
processor; the SQL of phases 3/4 runs in BigQuery there)."""
MARK = "UNIT-RESULT "
"""Prefix of the child's one line of results on stdout."""
RUN_ID = "bench-units"
"""Run id prefix of the forced plans (each invocation adds its start time: a plan with ``force``
does not re-arm what its own run id computed)."""

MODEL_PROCESSOR = "player_prop_predictions"
"""The processor that trains the weekly models of the weeks it predicts when they are missing."""
FULL_SHARE = 0.9
"""A unit with at least this share of a processor's most rows counts as full (``largest``)."""
ASIDE = "bench-units-aside"
"""Bucket prefix where the model artifacts of the measured span are moved."""


@dataclass(frozen=True)
class Span:
    """One processor's unit: its dates in one cloud span, and the rows they hold in the home."""

    start: date
    end: date
    dates: int
    rows: int


@dataclass(frozen=True)
class Candidate:
    """A largest unit of one processor (``kind``: by what measure, ``largest``)."""

    processor: str
    phase: str
    span: Span
    kind: str = "most rows"


@dataclass
class Measured:
    """One unit run in its own process."""

    candidate: Candidate
    wall_s: float
    cpu_s: float
    peak_mib: float
    child: dict[str, Any]
    returncode: int
    stderr: str = ""
    note: str = ""

    @property
    def ok(self) -> bool:
        """The unit ran without error and wrote rows."""
        return self.returncode == 0 and "error" not in self.child and self.rows > 0

    @property
    def rows(self) -> int:
        """Rows the unit wrote."""
        return int(self.child.get("rows", 0))


def unit_spans(spans: Sequence[tuple[date, date]], expected: Sequence[date],
               rows: Mapping[date, int]) -> list[Span]:
    """The processor's unit in each span (in date order) holding one of its ``expected``
    dates: those dates and the rows they hold."""
    out = []
    for a, b in spans:
        days = [d for d in expected if a <= d <= b]
        if days:
            out.append(Span(a, b, len(days), sum(rows.get(d, 0) for d in days)))
    return out


def largest(units: Sequence[Span]) -> list[tuple[str, Span]]:
    """The units to measure: ``most rows`` (the most rows, then the most dates, then the
    latest), and ``most history`` when it is another one: the latest unit with at least
    ``FULL_SHARE`` of the most rows (it reads the most history: lookbacks and the weekly
    models' training window reach back across seasons, so a late full span can cost more than
    an early one with a few more rows)."""
    if not units:
        return []
    best = units[0]
    for u in units[1:]:
        if (u.rows, u.dates) >= (best.rows, best.dates):
            best = u
    late = [u for u in units if u.rows >= FULL_SHARE * best.rows][-1]
    return [("most rows", best)] + ([("most history", late)] if late != best else [])


def survey(home: Path, only: Sequence[str] | None) -> list[Candidate]:
    """The largest unit of every processor of the registry (or of ``only``), in run order."""
    from backcourt.bootstrap import build
    from backcourt.config import load_settings
    from backcourt.domain.dates import FIRST_DAY
    from backcourt.domain.ids import season_bounds, season_of
    from backcourt.domain.registry import PHASE_ORDER, of_phase
    from backcourt.services import protocol
    from backcourt.services.calendar import calendars
    from backcourt.services.schedules import SCHEDULE

    services = build(load_settings(home))
    try:
        docs = services.status.list(None, FIRST_DAY, date(2999, 12, 31))
        seasons = sorted({season_of(s.game_date) for s in docs if s.processor == SCHEDULE})
        if not seasons:
            raise SystemExit(f"{home}: no schedule loaded; give a finished home")
        rows: dict[str, dict[date, int]] = {}
        for s in docs:
            rows.setdefault(s.processor, {})[s.game_date] = s.rows_written or 0
        cals = calendars(services.warehouse, seasons)
        out: list[Candidate] = []
        for phase in PHASE_ORDER:
            procs = [p for p in of_phase(phase) if p.name != SCHEDULE]
            spans = protocol._spans(protocol.Scope(tuple(seasons)).days(cals, procs),
                                    services.settings.chunk_days)
            for p in of_phase(phase):
                if only and p.name not in only:
                    continue
                if p.name == SCHEDULE:  # one message per whole season
                    mine = rows.get(p.name, {})
                    units = unit_spans([season_bounds(s) for s in seasons], sorted(mine), mine)
                else:
                    expected = sorted(d for c in cals for d in c.expected_dates(p))
                    units = unit_spans(spans, expected, rows.get(p.name, {}))
                out += [Candidate(p.name, phase.value, span, kind)
                        for kind, span in largest(units)]
        return out
    finally:
        services.close()


def arm(home: Path, cand: Candidate, run_id: str, keep_models: bool = False) -> str:
    """The ``plan`` function with ``force`` for one processor and span: its dates go back to
    pending; returns the one work message it plans (JSON). The model artifacts of the span's
    weeks are set aside first (unless ``keep_models``), so the unit trains them as a first
    backfill does (an artifact that exists is loaded, never retrained)."""
    from backcourt.bootstrap import build
    from backcourt.config import load_settings
    from backcourt.services import protocol

    services = build(load_settings(home))
    try:
        if cand.processor == MODEL_PROCESSOR and not keep_models:
            _set_models_aside(services, cand.span, run_id)
        planned = protocol.plan_phase(services, cand.phase, start=cand.span.start,
                                      end=cand.span.end, force=True, run_id=run_id,
                                      processors=[cand.processor])
    finally:
        services.close()
    messages = [m for wave in planned["waves"] for m in wave]
    if len(messages) != 1:
        raise SystemExit(f"{cand.processor}: the plan of {cand.span} made {len(messages)} "
                         "messages, expected one")
    return json.dumps(messages[0])


def _model_paths(services: Any, span: Span) -> list[str]:
    """The model artifact files of the span's weekly cutoffs."""
    from backcourt.domain.dates import date_range
    from backcourt.models.artifacts import PREFIX
    from backcourt.models.walkforward import cutoff_for

    cutoffs = sorted({cutoff_for(d) for d in date_range(span.start, span.end)})
    return [p for c in cutoffs for p in services.bucket.list(f"{PREFIX}/{c.isoformat()}/")]


def _set_models_aside(services: Any, span: Span, run_id: str) -> None:
    """Move the model artifacts of the span's cutoffs out of ``models/`` (to ``ASIDE``)."""
    for path in _model_paths(services, span):
        services.bucket.move(path, f"{ASIDE}/{run_id}/{path}")


def models_of(home: Path, span: Span) -> int:
    """How many weekly models of the span are in the bucket."""
    from backcourt.bootstrap import build
    from backcourt.config import load_settings

    services = build(load_settings(home))
    try:
        return sum(p.endswith("/model.txt") for p in _model_paths(services, span))
    finally:
        services.close()


def _helper(home: Path, mode: str, *extra: str) -> Any:
    """Run ``units.py --helper MODE`` in a subprocess and return what it prints after
    ``MARK``: the survey, arming and counting import backcourt, and a child's peak RSS
    (``ru_maxrss``) starts from its parent's RSS at the fork, so the measuring process must
    stay small."""
    cmd = [sys.executable, str(Path(__file__).resolve()), "--home", str(home),
           "--helper", mode, *extra]
    done = subprocess.run(cmd, capture_output=True, text=True, check=False)
    lines = [ln for ln in done.stdout.splitlines() if ln.startswith(MARK)]
    if done.returncode != 0 or not lines:
        raise SystemExit(f"units.py --helper {mode} failed ({done.returncode}):\n"
                         + "\n".join(done.stderr.strip().splitlines()[-10:]))
    return json.loads(lines[-1][len(MARK):])


def _cand_json(c: Candidate) -> dict[str, Any]:
    return {"processor": c.processor, "phase": c.phase, "kind": c.kind,
            "start": c.span.start.isoformat(), "end": c.span.end.isoformat(),
            "dates": c.span.dates, "rows": c.span.rows}


def _cand_of(d: Mapping[str, Any]) -> Candidate:
    span = Span(date.fromisoformat(d["start"]), date.fromisoformat(d["end"]), int(d["dates"]),
                int(d["rows"]))
    return Candidate(str(d["processor"]), str(d["phase"]), span, str(d["kind"]))


def helper(home: Path, mode: str, args: argparse.Namespace) -> None:
    """The helper modes (``_helper``): ``survey``, ``arm``, ``models``."""
    out: Any
    if mode == "survey":
        out = [_cand_json(c) for c in survey(home, args.processors)]
    elif mode == "arm":
        out = arm(home, _cand_of(json.loads(args.candidate)), args.run_id, args.keep_models)
    else:
        out = models_of(home, _cand_of(json.loads(args.candidate)).span)
    print(MARK + json.dumps(out), flush=True)


def _vm_hwm_mib() -> float:
    """This process's peak resident set (``VmHWM``: its own address space, since exec)."""
    for text in Path("/proc/self/status").read_text().splitlines():
        if text.startswith("VmHWM:"):
            return int(text.split()[1]) / 1024
    return 0.0


def measure(home: Path, cand: Candidate, message: str) -> Measured:
    """Run the message in a fresh ``python bench/units.py --child`` process."""
    env = {**os.environ, "BACKCOURT_CPU_PROCESSES": "0",
           "BACKCOURT_FUNCTION_TIMEOUT_S": str(LIMIT_S)}
    env.pop("BACKCOURT_HOME", None)
    cmd = [sys.executable, str(Path(__file__).resolve()), "--child", "--home", str(home),
           "--message", message]
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        start = time.perf_counter()
        proc = subprocess.Popen(cmd, env=env, stdout=out, stderr=err, text=True)
        _, status, usage = os.wait4(proc.pid, 0)  # its own rusage: peak RSS of it alone
        wall = time.perf_counter() - start
        proc.returncode = os.waitstatus_to_exitcode(status)  # reaped: Popen must not wait
        out.seek(0)
        err.seek(0)
        stdout, stderr = out.read(), err.read()
    lines = [ln for ln in stdout.splitlines() if ln.startswith(MARK)]
    child: dict[str, Any] = json.loads(lines[-1][len(MARK):]) if lines else {"error": "no result"}
    return Measured(cand, wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024, child,
                    proc.returncode, stderr)


def child(home: Path, message: str) -> None:
    """In the fresh process: import, build the services, run the message; print the figures."""
    import resource

    t0, c0 = time.perf_counter(), time.process_time()
    from datetime import timedelta

    from backcourt.bootstrap import RUNTIME
    from backcourt.config import load_settings
    from backcourt.domain.messages import parse_message
    from backcourt.services import protocol

    t1, c1 = time.perf_counter(), time.process_time()
    settings = load_settings(home)
    services = RUNTIME.services(settings)
    t2, c2 = time.perf_counter(), time.process_time()
    rss_cold = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    figures: dict[str, Any] = {"import_s": t1 - t0, "import_cpu_s": c1 - c0,
                               "build_s": t2 - t1, "build_cpu_s": c2 - c1,
                               "cold_rss_mib": rss_cold,
                               "cpu_processes": settings.cpu_processes,
                               "pool": services.cpu_pool is not None}
    try:
        msg = parse_message(message.encode())
        delivery = protocol.Delivery(1, protocol.MAX_DELIVERIES, services.clock.now()
                                     + timedelta(seconds=settings.function_timeout_s))
        result = protocol.process_message(services, msg, execution_id=msg.run_id,
                                          delivery=delivery)
        procs = result["processors"].values()
        figures.update(rows=sum(int(p["rows"]) for p in procs),
                       leased=sum(int(p["leased"]) for p in procs),
                       states=[p["states"] for p in procs])
    except Exception as exc:  # reported, not raised: the parent prints it
        figures["error"] = f"{type(exc).__name__}: {exc}"
    t3, c3 = time.perf_counter(), time.process_time()
    figures.update(unit_s=t3 - t2, unit_cpu_s=c3 - c2, vm_hwm_mib=_vm_hwm_mib())
    RUNTIME.close_all()
    print(MARK + json.dumps(figures, default=str), flush=True)


def line(m: Measured) -> str:
    """One processor's figures and its headroom."""
    c, s = m.candidate, m.candidate.span
    ch = m.child
    head = (f"{c.processor:<28} {c.phase:<2} {c.kind:<12} {s.start}..{s.end} {s.dates:>3} dates "
            f"{m.rows:>7} rows  wall {m.wall_s:6.1f} s ({100 * m.wall_s / LIMIT_S:3.0f} % of "
            f"{LIMIT_S} s)  cpu {m.cpu_s:5.1f} s (≈{m.cpu_s / FUNCTION_VCPU:4.0f} s at "
            f"{FUNCTION_VCPU} vCPU)  peak {m.peak_mib:5.0f} MiB "
            f"({100 * m.peak_mib / LIMIT_MIB:3.0f} % of 1 GiB)")
    if "unit_s" in ch:
        head += (f"  [cold start {ch['import_s'] + ch['build_s']:.1f} s wall "
                 f"{ch['import_cpu_s'] + ch['build_cpu_s']:.1f} s cpu {ch['cold_rss_mib']:.0f} "
                 f"MiB; unit {ch['unit_s']:.1f} s wall {ch['unit_cpu_s']:.1f} s cpu; "
                 f"VmHWM {ch['vm_hwm_mib']:.0f} MiB]")
    if m.note:
        head += f"  ({m.note})"
    if not m.ok:
        head += f"  FAILED: {ch.get('error') or 'exit ' + str(m.returncode)}"
        tail = m.stderr.strip().splitlines()[-5:]
        head += "".join(f"\n    {t}" for t in tail)
    return head


def _name(m: Measured) -> str:
    c = m.candidate
    return f"{c.processor} {c.span.start}..{c.span.end}"


def summary(runs: Sequence[Measured]) -> str:
    """The largest time and the largest memory."""
    slow = max(runs, key=lambda m: m.wall_s)
    cpu = max(runs, key=lambda m: m.cpu_s)
    big = max(runs, key=lambda m: m.peak_mib)
    return (f"largest time: {_name(slow)} {slow.wall_s:.1f} s wall "
            f"({100 * slow.wall_s / LIMIT_S:.0f} % of {LIMIT_S} s); largest cpu: "
            f"{_name(cpu)} {cpu.cpu_s:.1f} s; largest memory: "
            f"{_name(big)} {big.peak_mib:.0f} MiB "
            f"({100 * big.peak_mib / LIMIT_MIB:.0f} % of 1 GiB); "
            f"{sum(m.ok for m in runs)}/{len(runs)} units ok")


def _args(argv: Sequence[str] | None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    ap.add_argument("--home", type=Path, required=True,
                    help="a finished home this benchmark may write to (a copy)")
    ap.add_argument("--processors", nargs="*", default=None, metavar="NAME",
                    help="only these processors (default: every processor of the registry)")
    ap.add_argument("--keep-models", action="store_true",
                    help="leave the model artifacts of the measured span in place (phase 5A "
                         "then loads them instead of training)")
    ap.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--message", default="", help=argparse.SUPPRESS)
    ap.add_argument("--helper", choices=("survey", "arm", "models"), help=argparse.SUPPRESS)
    ap.add_argument("--candidate", default="", help=argparse.SUPPRESS)
    ap.add_argument("--run-id", default=RUN_ID, help=argparse.SUPPRESS)
    return ap.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    """Survey, then arm and run every processor's largest unit; print the figures."""
    args = _args(argv)
    home = args.home.resolve()
    if args.child:
        child(home, args.message)
        return 0
    if args.helper:
        helper(home, args.helper, args)
        return 0
    load = os.getloadavg()
    print(f"units on {home}: load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}, "
          f"{os.cpu_count()} CPUs; limits {LIMIT_S} s, {LIMIT_MIB} MiB", flush=True)
    run_id = f"{RUN_ID}-{time.strftime('%Y%m%dT%H%M%S')}"
    only = ["--processors", *args.processors] if args.processors else []
    keep = ["--keep-models"] if args.keep_models else []
    runs = []
    for cand in map(_cand_of, _helper(home, "survey", *only)):
        given = json.dumps(_cand_json(cand))
        message = _helper(home, "arm", "--candidate", given, "--run-id", run_id, *keep)
        runs.append(measure(home, cand, message))
        if cand.processor == MODEL_PROCESSOR:
            models = _helper(home, "models", "--candidate", given)
            runs[-1].note = f"{models} weekly models in the bucket after"
        print(line(runs[-1]), flush=True)
    if not runs:
        print("no unit found")
        return 1
    print(summary(runs))
    return 0 if all(m.ok for m in runs) else 1


if __name__ == "__main__":
    sys.exit(main())
