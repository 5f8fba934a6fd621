"""Benchmark: the sample seasons backfilled on the embedded default, batched vs per-date.

``make bench`` (``python bench/backfill.py``) generates the four sample seasons in a temporary
home (timed on its own), then times ``python -m backcourt backfill``, phases 2 → 6, from an empty
warehouse and status store, in a subprocess per mode so each mode's peak RSS is its own
(``os.wait4``):

* **batched** — default settings (``chunk_days`` 62: one unit per processor and two months);
* **per-date** — ``BACKCOURT_CHUNK_DAYS=1``: one unit per processor and date, as the legacy loops
  did.

Every run starts from its own copy of the generated raw bucket (phase 2 may move files to
quarantine, phase 5A writes model artifacts, phase 6 exports), so no run reuses another's work,
and pending writes are flushed (``os.sync``) before its timer starts, so that a run does not
share the disk with the write-back of what was written before it (the generator's and the
copy's files, 700 MB before the first run).
The ratio always compares the same seasons in both modes: when ``--per-date-seasons`` is a subset
of ``--seasons``, the batched mode is timed once more on that subset. Figures only: no
assertions. Timings on a machine shared with other work are inflated.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any

SEASONS = ("2021-22", "2022-23", "2023-24", "2024-25")
PHASES = ("2", "3", "4", "5A", "5B", "6")
PER_DATE_DEFAULT = SEASONS


@dataclass
class Run:
    """One timed backfill subprocess and its run record."""

    mode: str
    seasons: list[str]
    wall_s: float
    cpu_s: float  # user + system time of the subprocess
    peak_rss_mib: float
    returncode: int
    state: str = "?"
    phases: dict[str, dict[str, Any]] = field(default_factory=dict)

    @property
    def units(self) -> int:
        """Units of work run, over all phases."""
        return sum(int(p.get("units", 0)) for p in self.phases.values())

    @property
    def dates(self) -> int:
        """Processor-dates processed, over all phases."""
        return sum(int(p.get("dates", 0)) for p in self.phases.values())


def _args(argv: Sequence[str] | None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seasons", nargs="+", default=list(SEASONS), metavar="SEASON",
                    help="seasons generated and backfilled in batched mode (default: the four)")
    ap.add_argument("--per-date-seasons", nargs="*", default=None, metavar="SEASON",
                    help="seasons of the per-date run (default: the same as --seasons; none: "
                         "skip the per-date run)")
    ap.add_argument("--home", type=Path, default=None,
                    help="folder for the homes (must be empty or new; kept); default: a "
                         "temporary folder, removed unless --keep")
    ap.add_argument("--keep", action="store_true", help="keep the temporary folder")
    return ap.parse_args(argv)


def _machine() -> str:
    mem = "?"
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                mem = f"{int(line.split()[1]) / 1024**2:.0f} GiB"
    except OSError:
        pass
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    versions = ", ".join(f"{p} {_version(p)}" for p in ("duckdb", "lightgbm", "numpy"))
    return (f"{os.cpu_count()} cores, {mem} RAM, Python {platform.python_version()}, "
            f"{versions}; load average at start {load}")


def _version(package: str) -> str:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return "?"


def generate(raw: Path, seasons: Sequence[str]) -> dict[str, float]:
    """Generate the sample seasons into ``raw`` (a bucket folder); seconds per season."""
    from backcourt.adapters.local.bucket import FolderBucket
    from backcourt.sample import generate_season

    bucket = FolderBucket(raw)
    out = {}
    for season in seasons:
        started = time.perf_counter()
        summary = generate_season(bucket, season)
        out[season] = time.perf_counter() - started
        print(f"  {season}: {summary.games} games, {sum(summary.files.values())} files in "
              f"{out[season]:.1f} s", flush=True)
    return out


def _env(chunk_days: int | None) -> dict[str, str]:
    """The environment of a run: default settings (no BACKCOURT_* of ours), chunk size set."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("BACKCOURT_")}
    if chunk_days is not None:
        env["BACKCOURT_CHUNK_DAYS"] = str(chunk_days)
    return env


def backfill(home: Path, raw: Path, mode: str, seasons: Sequence[str],
             chunk_days: int | None) -> Run:
    """Time one backfill, phases 2 → 6, in a fresh home over a copy of the raw bucket."""
    home.mkdir(parents=True)
    shutil.copytree(raw, home / "bucket")
    os.sync()  # write back the copy (and the generated files) now, not during the timed run
    cmd = [sys.executable, "-m", "backcourt", "--home", str(home), "backfill",
           *[a for s in seasons for a in ("--season", s)],
           *[a for p in PHASES for a in ("--phase", p)]]
    print(f"  {mode} ({', '.join(seasons)}): running…", flush=True)
    with (home / "backfill.log").open("wb") as log:
        started = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, env=_env(chunk_days))
        status, usage = _wait(proc.pid, mode, started)
        wall = time.perf_counter() - started
    proc.returncode = os.waitstatus_to_exitcode(status)
    run = Run(mode, list(seasons), wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024,
              proc.returncode)
    _read_record(home, run)
    print(f"  {mode}: {wall:.1f} s ({run.cpu_s:.0f} s CPU), {run.units} units / {run.dates} "
          f"processor-dates, peak RSS {run.peak_rss_mib:.0f} MiB, run {run.state}", flush=True)
    if run.returncode != 0 or run.state != "succeeded":
        tail = (home / "backfill.log").read_text(errors="replace").splitlines()[-15:]
        print("\n".join(f"    | {line}" for line in tail), file=sys.stderr)
    return run


def _wait(pid: int, mode: str, started: float) -> tuple[int, resource.struct_rusage]:
    """Reap the child (its own rusage: peak RSS of that process alone), printing a line per
    minute so a long run shows it is alive."""
    shown = 0
    while True:
        done, status, usage = os.wait4(pid, os.WNOHANG)
        if done:
            return status, usage
        elapsed = time.perf_counter() - started
        if elapsed >= (shown + 1) * 60:
            shown = int(elapsed // 60)
            print(f"    … {mode}: {shown} min", flush=True)
        time.sleep(0.2)


def _read_record(home: Path, run: Run) -> None:
    """Fill the run's state and per-phase summary from the status store's newest run."""
    from backcourt.bootstrap import build
    from backcourt.config import load_settings

    services = build(load_settings(home, env={}))
    try:
        records = services.status.runs(limit=1)
    finally:
        services.close()
    if records:
        run.state = records[0].state
        run.phases = {k: dict(v) for k, v in records[0].summary.items() if isinstance(v, dict)}


def _table(runs: Sequence[Run]) -> None:
    print("\n  phase  " + "".join(f"{r.mode:>30}" for r in runs))
    print("         " + "".join(f"{'seconds  units  dates':>30}" for r in runs))
    for phase in PHASES:
        cells = []
        for r in runs:
            p = r.phases.get(phase, {})
            cells.append(f"{float(p.get('seconds', 0)):>15.1f}{int(p.get('units', 0)):>7}"
                         f"{int(p.get('dates', 0)):>8}")
        print(f"  {phase:<6} " + "".join(cells))
    print("  total  " + "".join(f"{r.wall_s:>15.1f}{r.units:>7}{r.dates:>8}" for r in runs)
          + "   (total seconds: wall clock of the subprocess)")
    print("  CPU     " + "".join(f"{r.cpu_s:>28.0f} s" for r in runs)
          + "   (user + system of the subprocess)")
    print("  peak RSS" + "".join(f"{r.peak_rss_mib:>26.0f} MiB" for r in runs))


def main(argv: Sequence[str] | None = None) -> int:
    """Run the benchmark; 0 when every backfill succeeded."""
    args = _args(argv)
    seasons = list(dict.fromkeys(args.seasons))
    per_date = (list(dict.fromkeys(args.per_date_seasons)) if args.per_date_seasons is not None
                else [s for s in PER_DATE_DEFAULT if s in seasons] or seasons)
    extra = [s for s in per_date if s not in seasons]
    if extra:
        print(f"--per-date-seasons {extra} are not in --seasons", file=sys.stderr)
        return 2
    if args.home and args.home.exists() and any(args.home.iterdir()):
        print(f"--home {args.home} is not empty", file=sys.stderr)
        return 2
    root = args.home or Path(tempfile.mkdtemp(prefix="backcourt-bench-"))
    try:
        return _bench(root, seasons, per_date)
    finally:
        if args.home is None and not args.keep:
            shutil.rmtree(root, ignore_errors=True)
        else:
            print(f"homes kept in {root}")


def _bench(root: Path, seasons: list[str], per_date: list[str]) -> int:
    print(f"machine: {_machine()}")
    print(f"home: {root}\n\nsample data ({len(seasons)} season(s)):")
    raw = root / "raw"
    gen = generate(raw, seasons)
    print(f"  generated in {sum(gen.values()):.1f} s (not part of the backfill times)\n")
    print("backfill, phases 2 → 6, from an empty warehouse and status store:")
    runs = [backfill(root / "batched", raw, "batched", seasons, None)]
    if per_date:
        if per_date != seasons:
            runs.append(backfill(root / "batched-subset", raw, "batched (subset)", per_date,
                                 None))
        runs.append(backfill(root / "per-date", raw, "per-date", per_date, 1))
    _table(runs)
    ok = all(r.returncode == 0 and r.state == "succeeded" for r in runs)
    print()
    if not per_date:
        print(f"SUMMARY batched {len(seasons)} season(s): {runs[0].wall_s:.1f} s, "
              f"{runs[0].dates} processor-dates, peak RSS {runs[0].peak_rss_mib:.0f} MiB "
              f"(per-date run skipped){'' if ok else ' — A RUN FAILED'}")
        return 0 if ok else 1
    same, slow = runs[-2], runs[-1]
    ratio = slow.wall_s / same.wall_s if same.wall_s else float("nan")
    scope = ("the same seasons" if per_date == seasons else
             f"the same subset ({', '.join(per_date)}) in both modes")
    print(f"ratio: per-date / batched = {ratio:.1f}× on {scope}")
    print(json.dumps({"seasons": seasons, "per_date_seasons": per_date,
                      "generate_s": round(sum(gen.values()), 1),
                      "runs": [{"mode": r.mode, "seasons": r.seasons, "wall_s": round(r.wall_s, 1),
                                "cpu_s": round(r.cpu_s, 1),
                                "units": r.units, "dates": r.dates,
                                "peak_rss_mib": round(r.peak_rss_mib), "state": r.state,
                                "phase_s": {k: v.get("seconds") for k, v in r.phases.items()}}
                               for r in runs], "ratio": round(ratio, 2)}))
    print(f"SUMMARY batched {len(seasons)} season(s) {runs[0].wall_s:.1f} s "
          f"({runs[0].dates} processor-dates, peak RSS {runs[0].peak_rss_mib:.0f} MiB); "
          f"per-date {len(per_date)} season(s) {slow.wall_s:.1f} s vs batched {same.wall_s:.1f} s "
          f"on {scope}: batched is {ratio:.1f}× faster{'' if ok else ' — A RUN FAILED'}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
