"""Benchmark: the four sample seasons backfilled on the embedded default, phases 2 → 6.

``make bench`` (``python bench/backfill.py``) generates the four sample seasons in a temporary
home (timed on its own, not part of the figures), then:

1. **batched backfill** (the headline) — ``python -m backcourt backfill``, phases 2 → 6, default
   settings (``chunk_days`` 62: one unit per processor and two months), from an empty warehouse
   and status store, in a subprocess whose wall clock, CPU (user + system) and peak RSS
   (``os.wait4``) are its own; the per-phase seconds come from the run's record;
2. **floor** (``bench/floor.py``), measured in the same run: every raw file parsed with orjson
   alone, plus the weekly LightGBM fits of phase 5A alone on the finished home's rows; floor =
   parse + fit, and the ratio batched wall / floor;
3. **identity** (``bench/fingerprint.py``): the batched home's rows (every registry table),
   export files and model files against ``bench/reference/four-seasons.json``, the fingerprint
   of the same backfill by the code before the speed work; prints ``identity: rows OK (…),
   exports OK (…), models OK (…)`` or what differs, and the MAE and hit rate of every
   prediction system now and in the reference (a change of training may change the model files;
   these say whether the models are as good). With ``--models-may-differ`` (the speed work changed
   how models are trained) the tables of phases 5A/5B/6, the exports and the model files may
   differ: the check then passes when the tables of phases 2-4 are identical and MAE and hit rate
   of every system are within 0.01 of the reference;
4. optionally (``--per-date``) the **per-date** backfill (``BACKCOURT_CHUNK_DAYS=1``: one unit per
   processor and date, as the legacy loops did) and the ratio per-date / batched on the same
   seasons;
5. optionally (``--profile``) the batched backfill runs with ``backfill --profile`` and its
   per-phase profile is printed (profiling slows the run: its wall is not the headline's).

Every run starts from its own copy of the generated raw bucket (phase 2 may move files to
quarantine, phase 5A writes model artifacts, phase 6 exports), so no run reuses another's work,
and pending writes are flushed (``os.sync``) before its timer starts, so that a run does not
share the disk with the write-back of what was written before it (the generator's and the
copy's files, 700 MB before the first run). Exit status 1 when a backfill failed or the identity
check found a difference. Timings are never asserted; on a machine shared with other work they
are inflated (the load average at the start is printed).
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
BENCH = Path(__file__).resolve().parent
REFERENCE = BENCH / "reference" / "four-seasons.json"
PROFILE_MARK = "profile of the backfill"
"""The first line of ``backfill --profile``'s report (the bench prints the log from there)."""


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
                    help="seasons generated and backfilled in batched mode (default: the four; "
                         "the identity check needs the four)")
    ap.add_argument("--per-date", action="store_true",
                    help="also time the per-date backfill (one unit per processor and date)")
    ap.add_argument("--per-date-seasons", nargs="*", default=None, metavar="SEASON",
                    help="seasons of the per-date run (implies --per-date; default: the same "
                         "as --seasons)")
    ap.add_argument("--profile", action="store_true",
                    help="run the batched backfill with `backfill --profile` and print its "
                         "per-phase profile (slower: profiling overhead)")
    ap.add_argument("--reference", type=Path, default=REFERENCE,
                    help="fingerprint the batched home is compared with (default: "
                         "bench/reference/four-seasons.json)")
    ap.add_argument("--write-reference", type=Path, default=None, metavar="FILE",
                    help="save the batched home's fingerprint here (to make a reference)")
    ap.add_argument("--models-may-differ", action="store_true",
                    help="the speed work changed how models are trained: the tables of phases "
                         "5A/5B/6, the exports and the model files may differ; the check then "
                         "requires the tables of phases 2-4 identical and MAE and hit rate of "
                         "every system within 0.01 of the reference")
    ap.add_argument("--no-floor", action="store_true", help="skip the floor measurement")
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
    env.setdefault("COLUMNS", "120")  # the profile's tables, written to a log file
    if chunk_days is not None:
        env["BACKCOURT_CHUNK_DAYS"] = str(chunk_days)
    return env


def backfill(home: Path, raw: Path, mode: str, seasons: Sequence[str],
             chunk_days: int | None, *, profile: bool = False) -> Run:
    """Time one backfill, phases 2 → 6, in a fresh home over a copy of the raw bucket
    (``profile``: with ``backfill --profile``)."""
    home.mkdir(parents=True)
    shutil.copytree(raw, home / "bucket")
    os.sync()  # write back the copy (and the generated files) now, not during the timed run
    cmd = [sys.executable, "-m", "backcourt", "--home", str(home), "backfill",
           *[a for s in seasons for a in ("--season", s)],
           *[a for p in PHASES for a in ("--phase", p)], *(["--profile"] if profile else [])]
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
    """Run the benchmark; 0 when every backfill succeeded and the identity check passed."""
    args = _args(argv)
    seasons = list(dict.fromkeys(args.seasons))
    per_date: list[str] = []
    if args.per_date or args.per_date_seasons is not None:
        per_date = (list(dict.fromkeys(args.per_date_seasons)) if args.per_date_seasons
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
        return _bench(root, seasons, per_date, args)
    finally:
        if args.home is None and not args.keep:
            shutil.rmtree(root, ignore_errors=True)
        else:
            print(f"homes kept in {root}")


def _bench(root: Path, seasons: list[str], per_date: list[str], args: argparse.Namespace) -> int:
    print(f"machine: {_machine()}")
    print(f"home: {root}\n\nsample data ({len(seasons)} season(s)):")
    raw = root / "raw"
    gen = generate(raw, seasons)
    print(f"  generated in {sum(gen.values()):.1f} s (not part of the backfill times)\n")
    print("backfill, phases 2 → 6, from an empty warehouse and status store:")
    batched = backfill(root / "batched", raw, "batched", seasons, None, profile=args.profile)
    runs = [batched]
    if per_date:
        if per_date != seasons:
            runs.append(backfill(root / "batched-subset", raw, "batched (subset)", per_date,
                                 None))
        runs.append(backfill(root / "per-date", raw, "per-date", per_date, 1))
    _table(runs)
    ok = all(r.returncode == 0 and r.state == "succeeded" for r in runs)
    summary: dict[str, Any] = {
        "seasons": seasons, "generate_s": round(sum(gen.values()), 1), "profiled": args.profile,
        "runs": [{"mode": r.mode, "seasons": r.seasons, "wall_s": round(r.wall_s, 1),
                  "cpu_s": round(r.cpu_s, 1), "units": r.units, "dates": r.dates,
                  "peak_rss_mib": round(r.peak_rss_mib), "state": r.state,
                  "phase_s": {k: v.get("seconds") for k, v in r.phases.items()
                              if k in PHASES}}
                 for r in runs]}
    ratio_line = ""
    if per_date:
        same, slow = runs[-2], runs[-1]
        ratio = slow.wall_s / same.wall_s if same.wall_s else float("nan")
        scope = ("the same seasons" if per_date == seasons else
                 f"the same subset ({', '.join(per_date)}) in both modes")
        print(f"\nratio: per-date / batched = {ratio:.1f}× on {scope}")
        summary["per_date_ratio"] = round(ratio, 2)
        ratio_line = f"; per-date {slow.wall_s:.1f} s = {ratio:.1f}× batched on {scope}"
    if args.profile:
        _print_profile(root / "batched" / "backfill.log")
    floor_line = ""
    if not args.no_floor and batched.returncode == 0:
        floor_line = _floor(raw, root / "batched", batched, summary)
    identity_ok = _identity(root / "batched", seasons, args, summary) if batched.returncode == 0 \
        else False
    print(json.dumps(summary))
    print(f"SUMMARY batched {len(seasons)} season(s) {batched.wall_s:.1f} s wall "
          f"({batched.cpu_s:.0f} s CPU, peak RSS {batched.peak_rss_mib:.0f} MiB"
          f"{', PROFILED: slower than unprofiled' if args.profile else ''}){floor_line}"
          f"{ratio_line}; identity {summary.get('identity', 'not checked')}"
          f"{'' if ok else ' — A RUN FAILED'}")
    return 0 if ok and identity_ok else 1


def _print_profile(log: Path) -> None:
    """The profile ``backfill --profile`` wrote to the run's log, from its first line on."""
    lines = log.read_text(errors="replace").splitlines()
    start = next((i for i, line in enumerate(lines) if PROFILE_MARK in line), None)
    print()
    if start is None:
        print(f"profile: not found in {log}")
        return
    print("\n".join(lines[start:]))


def _floor(raw: Path, home: Path, batched: Run, summary: dict[str, Any]) -> str:
    """Measure and print the floor (``bench/floor.py``); the summary's part of it."""
    from floor import fit_floor, parse_floor

    print("\nfloor (measured now, after the batched run; bench/floor.py):")
    parse = parse_floor(raw)
    print(f"  parse: {parse.files} raw files ({parse.mbytes:.0f} MB) read + orjson.loads, one "
          f"core: {parse.seconds:.2f} s ({parse.cpu_s:.2f} s CPU)", flush=True)
    fit = fit_floor(home)
    print(f"  fit:   {fit.models} weekly LightGBM models + {fit.refits} holdout refit(s), "
          f"{fit.rows} training rows, {fit.workers} threads side by side as phase 5A: "
          f"{fit.seconds:.2f} s ({fit.cpu_s:.1f} s CPU)")
    total = parse.seconds + fit.seconds
    ratio = batched.wall_s / total if total else float("nan")
    cpu = parse.cpu_s + fit.cpu_s
    cpu_ratio = batched.cpu_s / cpu if cpu else float("nan")
    print(f"  floor = parse + fit = {total:.1f} s; batched wall / floor = {ratio:.2f}×")
    print(f"  CPU: batched {batched.cpu_s:.0f} s / floor {cpu:.1f} s = {cpu_ratio:.2f}× (steadier "
          "than wall on a busy machine; load average now "
          f"{', '.join(f'{x:.2f}' for x in os.getloadavg())})")
    summary["floor"] = {"parse_s": round(parse.seconds, 2), "files": parse.files,
                        "fit_s": round(fit.seconds, 2), "models": fit.models,
                        "refits": fit.refits, "floor_s": round(total, 2),
                        "wall_over_floor": round(ratio, 2), "floor_cpu_s": round(cpu, 1),
                        "cpu_over_floor_cpu": round(cpu_ratio, 2)}
    return f", floor {total:.1f} s (parse {parse.seconds:.1f} + fit {fit.seconds:.1f}), " \
           f"wall / floor {ratio:.2f}×"


def _identity(home: Path, seasons: list[str], args: argparse.Namespace,
              summary: dict[str, Any]) -> bool:
    """Fingerprint the batched home, compare it with the reference and print the result and
    the prediction quality; True when identical (or when there is nothing to compare with)."""
    from fingerprint import (
        QUALITY_TOLERANCE,
        Fingerprint,
        compare,
        fingerprint,
        model_tables,
        quality_lines,
        quality_within,
    )

    print("\nidentity (bench/fingerprint.py):", flush=True)
    started = time.perf_counter()
    got = fingerprint(home, seasons)
    if args.write_reference:
        args.write_reference.parent.mkdir(parents=True, exist_ok=True)
        args.write_reference.write_text(got.to_json())
        print(f"  fingerprint written to {args.write_reference}")
    if not args.reference.exists():
        print(f"  no reference {args.reference}: nothing to compare with")
        summary["identity"] = "no reference"
        return True
    ref = Fingerprint.from_json(args.reference.read_text())
    if list(ref.about.get("seasons", [])) != seasons:
        print(f"  the reference is of seasons {ref.about.get('seasons')}, this run of {seasons}:"
              " not compared")
        summary["identity"] = "not compared (other seasons)"
        return True
    ident = compare(ref, got)
    print(f"  {ident.line()}")
    for note in ident.notes[:12]:
        print(f"    {note}")
    if not ident.ok("models"):
        print("  the model files differ: fine only if the speed work changed how models are "
              f"trained — then MAE and hit rate must stay within {QUALITY_TOLERANCE} of the "
              "reference (--models-may-differ):")
    for line in quality_lines(ref, got):
        print(f"  {line}")
    ok = ident.all_ok
    if args.models_may_differ and not ok:
        moves = quality_within(ref, got)
        ok = ident.models_changed_ok(moves)
        before = [t for t in got.tables if t not in model_tables()]
        print(f"  --models-may-differ: tables before the models ({len(before)}) "
              + ("identical" if not set(ident.tables_differ) - model_tables() else "DIFFER")
              + f"; quality within {QUALITY_TOLERANCE}: "
              + ("yes" if not moves else f"NO ({'; '.join(moves)})")
              + f" → {'OK (models changed)' if ok else 'FAILED'}")
    if ref.about.get("versions") != got.about.get("versions"):
        print(f"  note: reference made with {ref.about.get('versions')}, this run has "
              f"{got.about.get('versions')} (another LightGBM changes the model files)")
    print(f"  (fingerprinted in {time.perf_counter() - started:.1f} s)")
    summary["identity"] = ("OK" if ident.all_ok else "OK (models changed, quality within "
                           f"{QUALITY_TOLERANCE})" if ok else "DIFFERS")
    summary["quality"] = got.quality
    return ok


if __name__ == "__main__":
    sys.exit(main())
