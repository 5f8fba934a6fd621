"""Fault-injection soak: a whole sample season (phases 2–6) under random faults, then compared
with a clean run of the same data (LESSONS.md; issue 6 part 2).

    .venv/bin/python bench/soak.py [--seed N] [--season 2024-25] [--home DIR] [--faults-rate F]
                                   [--rounds N]          (make soak SOAK_ARGS="--seed N")

Two homes under ``--home`` (default: a temporary folder, removed afterwards):

* ``clean/`` — the sample season and a plain ``Runner`` backfill of every phase, run in a
  separate process at the same time as the soak;
* ``soak/`` — the same sample season, driven phase by phase while faults are injected:

  - phases 2, 4, 5A and 6 run in a **worker process** (this script, ``_worker``) that runs the
    local ``Runner`` on a fault-injecting warehouse; the parent **SIGKILLs** it at seeded
    progress points (so many partitions finished) and starts it again — the next worker
    releases the dead process's leases;
  - phases 3 and 5B go through the **cloud message path**: ``services.protocol.plan_phase`` →
    ``WorkMessage`` → ``process_message`` over the embedded adapters, delivered by a seeded
    in-memory queue that **duplicates** deliveries (a copy runs concurrently), **loses acks**
    (the message comes back), redelivers on transient errors (dead letter after 5 deliveries),
    and whose worker threads **die mid-unit** (leases left running until they expire: the soak
    moves the clock past the lease TTL and plans again, as a rerun of the workflow would);
  - every warehouse write may hit a **transient error** or a **hung query** (a genuinely slow
    query the DuckDB adapter interrupts at its timeout: a real ``WarehouseTimeout``).

  After a phase, its gate decides; a BLOCK stops the round (as the workflow does). Rounds repeat
  until every expected partition is done, with ``retry-failed`` semantics for dates that failed
  after 3 attempts; from round 3 on the fault rate halves every round; after ``--rounds`` it
  gives up.

Then every registry table is compared between the homes, key and values (no column is
volatile: re-runs are byte-identical, see ``VOLATILE``), and the soak prints one line:

    soak seed=… faults=N (kill=… transient=… hung=… duplicate=… lost_ack=…) retried=…
    lost=… duplicates=… differing_rows=… rounds=… wall=…s

``lost``: partitions the clean run completed that the soak did not (or dates whose rows it
lacks); ``duplicates``: natural keys present more than once; ``differing_rows``: rows present
in one home and not the other. Exit status 1 when any of them is above 0 (or the soak gave up).
Faults are decided by hashing (seed, fault site, occurrence), so a seed replays the same
decisions at the same sites; kill moments are progress counts, not clock times (which unit a
kill lands in still depends on timing, so a replay is close, not identical). Timings are
printed, never asserted.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import logging
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter, deque
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from backcourt.adapters.local.bucket import FolderBucket
from backcourt.adapters.local.duckdb_warehouse import DuckDBWarehouse
from backcourt.adapters.local.sqlite_status import SqliteStatusStore
from backcourt.bootstrap import OffsetClock, build
from backcourt.config import load_settings
from backcourt.domain import registry
from backcourt.domain.errors import TransientError
from backcourt.domain.messages import WorkMessage, parse_message
from backcourt.domain.registry import Phase
from backcourt.domain.schema import Table
from backcourt.domain.status import DONE, State, Verdict
from backcourt.ports import RowsSource, Services, SqlSource, Warehouse, WriteResult

DEFAULT_SEED = 20261129
DEFAULT_RATE = 0.12
CHUNK_DAYS = "7"  # the soak's units are a week: more units, more fault sites (clean: default)
MAX_DELIVERIES = 5  # Pub/Sub dead-letter policy of the work subscription
HUNG_TIMEOUT_S = 0.5  # deadline of the hung query (the adapter interrupts it)
SLOW_SQL = ("SELECT COUNT(*) AS n FROM UNNEST(GENERATE_ARRAY(1, 200000)) AS a "
            "CROSS JOIN UNNEST(GENERATE_ARRAY(1, 200000)) AS b WHERE MOD(a * b, 7919) = 13")
VOLATILE: Mapping[str, frozenset[str]] = {}
"""Columns left out of the comparison, per table. None: no table stores a run id, a timestamp
of processing or anything else that differs between two runs of the same data (checked by
running the soak with ``--faults-rate 0``: 0 differing rows)."""
CLOUD = (Phase.ANALYTICS, Phase.GRADING)
"""Phases driven through the cloud message path; the others run in killable workers."""
KINDS = ("kill", "transient", "hung", "duplicate", "lost_ack")


def log(text: str) -> None:
    """One progress line."""
    print(text, flush=True)


# -- seeded fault decisions --------------------------------------------------------------------


class Dice:
    """Seeded decisions: the n-th roll at a site is a hash of (seed, site, n), so the same seed
    takes the same decisions whatever the thread interleaving."""

    def __init__(self, seed: int, rate: float) -> None:
        self.seed = seed
        self.rate = rate
        self._seen: Counter[str] = Counter()
        self._lock = threading.Lock()

    def roll(self, site: str) -> float:
        """A number in [0, 1) for the next occurrence of ``site``."""
        with self._lock:
            n = self._seen[site]
            self._seen[site] += 1
        digest = hashlib.sha256(f"{self.seed}|{site}|{n}".encode()).digest()
        return int.from_bytes(digest[:8], "big") / 2**64

    def hit(self, site: str, scale: float = 1.0) -> bool:
        """Whether a fault happens at this occurrence of ``site`` (probability rate × scale)."""
        return self.roll(site) < self.rate * scale


class FaultLog:
    """Counts faults by kind; a worker process appends them to a file (one JSON line each, so a
    SIGKILL loses none that happened)."""

    def __init__(self, path: Path | None = None) -> None:
        self.path = path
        self.counts: Counter[str] = Counter()
        self._lock = threading.Lock()

    def add(self, kind: str, where: str) -> None:
        """Record one fault."""
        with self._lock:
            self.counts[kind] += 1
            if self.path is not None:
                with self.path.open("a") as out:
                    out.write(json.dumps({"kind": kind, "where": where}) + "\n")
                    out.flush()

    @staticmethod
    def read(path: Path) -> Counter[str]:
        """The counts a worker wrote (a line cut by a kill is ignored)."""
        got: Counter[str] = Counter()
        if path.exists():
            for line in path.read_text().splitlines():
                try:
                    got[json.loads(line)["kind"]] += 1
                except (ValueError, KeyError):
                    continue
        return got


class WorkerDied(BaseException):
    """A worker thread dying mid-unit: nothing in the runner catches it, the lease stays."""


class FaultyWarehouse:
    """The real DuckDB warehouse; every write may first fail transiently, hang (a real slow
    query interrupted by the adapter's timeout) or kill its worker thread (cloud path)."""

    dialect = "duckdb"
    supports_transactions = True

    def __init__(self, inner: Warehouse, dice: Dice, faults: FaultLog, *,
                 deaths: bool) -> None:
        self.inner = inner
        self.dice = dice
        self.faults = faults
        self.deaths = deaths
        self.enabled = True

    def ensure_tables(self, tables: Sequence[Table]) -> None:
        self.inner.ensure_tables(tables)

    def replace(self, table: Table, days: Sequence[date], source: SqlSource | RowsSource, *,
                max_shrink: float, force: bool = False, job_key: str | None = None) -> WriteResult:
        if self.enabled and days:
            self._maybe_fault(f"{table.name}:{min(days)}:{max(days)}")
        return self.inner.replace(table, days, source, max_shrink=max_shrink, force=force,
                                  job_key=job_key)

    def _maybe_fault(self, site: str) -> None:
        if not self.dice.hit(site):
            return
        kind = self.dice.roll(f"kind:{site}")
        if self.deaths and kind < 0.15:
            self.faults.add("kill", site)
            raise WorkerDied(site)
        if kind < 0.45:
            self.faults.add("hung", site)
            self.inner.query(SLOW_SQL, timeout_s=HUNG_TIMEOUT_S)  # raises WarehouseTimeout
            raise AssertionError("the slow query finished before its timeout")
        self.faults.add("transient", site)
        raise TransientError(f"injected: 503 backend error writing {site}")

    def query(self, sql: str, params: Mapping[str, Any] | None = None, *,
              timeout_s: float | None = None) -> list[dict[str, Any]]:
        return self.inner.query(sql, params, timeout_s=timeout_s)

    def close(self) -> None:
        self.inner.close()


def _env() -> dict[str, str]:
    return {"BACKCOURT_CHUNK_DAYS": CHUNK_DAYS}


def soak_services(home: Path, dice: Dice, faults: FaultLog, *, deaths: bool,
                  clock: OffsetClock | None = None) -> tuple[Services, FaultyWarehouse]:
    """Adapters on ``home`` with the fault-injecting warehouse."""
    settings = load_settings(home, env=_env())
    cfg = settings.local
    wh = FaultyWarehouse(DuckDBWarehouse(cfg.warehouse_path,
                                         query_timeout_s=settings.query_timeout_s),
                         dice, faults, deaths=deaths)
    services = Services(settings, warehouse=wh, status=SqliteStatusStore(cfg.status_path),
                        bucket=FolderBucket(cfg.bucket_path),
                        clock=clock or OffsetClock())
    return services, wh


# -- the killable worker (phases 2, 4, 5A, 6) --------------------------------------------------


def worker_main(argv: Sequence[str]) -> int:
    """``soak.py _worker HOME SEASON PHASE SEED RATE FAULTLOG``: one Runner backfill of a phase."""
    from backcourt.services.backfill import Runner

    home, season, phase, seed, rate, fault_log = argv[:6]
    dice = Dice(int(seed), float(rate))
    services, _ = soak_services(Path(home), dice, FaultLog(Path(fault_log)), deaths=False)
    try:
        from backcourt.services.plan import Window

        Runner(services).backfill([season], [registry.parse_phase(phase)], Window())
    finally:
        services.close()
    return 0


def _finished(status_file: Path, names: Sequence[str]) -> int:
    """Expected partitions of these processors that are finished (read-only, while a worker
    writes)."""
    import sqlite3

    marks = ", ".join("?" for _ in names)
    try:
        con = sqlite3.connect(f"file:{status_file}?mode=ro", uri=True, timeout=1)
        try:
            got = con.execute(f"SELECT COUNT(*) FROM partitions WHERE processor IN ({marks}) "
                              "AND state NOT IN ('pending', 'running', 'not_expected')",
                              list(names)).fetchone()
        finally:
            con.close()
    except sqlite3.Error:
        return 0
    return int(got[0])


@dataclass
class Soak:
    """The soak's state and figures."""

    seed: int
    season: str
    rate: float
    home: Path
    faults: Counter[str] = field(default_factory=Counter)
    retried: int = 0
    rounds: int = 0
    expected: dict[Phase, int] = field(default_factory=dict)
    clock: OffsetClock = field(default_factory=lambda: OffsetClock())
    """Time of the cloud path: it only moves forward (past lease TTLs) during the soak."""

    def rate_of(self, rnd: int) -> float:
        """The fault rate of a round: full in rounds 1 and 2 (round 1 often stops at the first
        gate that blocks), then halved every round so the soak converges."""
        return self.rate / 2 ** max(0, rnd - 2)

    def dice(self, rnd: int) -> Dice:
        """This round's dice."""
        return Dice(self.seed * 1000 + rnd, self.rate_of(rnd))

    # -- runner phases --------------------------------------------------------------------

    def run_worker_phase(self, phase: Phase, rnd: int) -> None:
        """Run the phase in worker processes, SIGKILLing them at seeded progress points."""
        names = [p.name for p in registry.of_phase(phase)]
        rng = random.Random(f"{self.seed}:{phase.value}:{rnd}:kills")
        total = self.expected.get(phase, 0)
        base = _finished(self.home / "status.sqlite", names)
        n = (rng.choice((1, 2, 2, 3)) if rnd == 1 else rng.choice((0, 1))) if self.rate else 0
        marks = sorted(base + int(rng.uniform(0.05, 0.9) * max(1, total - base))
                       for _ in range(n))
        fault_log = self.home / f"faults-{phase.value}-{rnd}.jsonl"
        starts = 0
        while True:
            starts += 1
            with (self.home / "worker.log").open("ab") as errors:
                proc = subprocess.Popen(
                    [sys.executable, __file__, "_worker", str(self.home), self.season,
                     phase.value, str(self.seed * 1000 + rnd * 10 + starts),
                     str(self.rate_of(rnd)), str(fault_log)],
                    stdout=subprocess.DEVNULL, stderr=errors, env={**os.environ, **_env()})
            now = _finished(self.home / "status.sqlite", names)
            while marks and marks[0] <= now:  # already past it: the next one
                marks.pop(0)
            target = marks.pop(0) if marks else None
            killed = False
            while proc.poll() is None:
                if target is not None and _finished(self.home / "status.sqlite", names) >= target:
                    os.kill(proc.pid, signal.SIGKILL)
                    killed = True
                    break
                time.sleep(0.02)
            proc.wait()
            if killed:
                self.faults["kill"] += 1
                done = _finished(self.home / "status.sqlite", names)
                log(f"  phase {phase.value}: worker {proc.pid} SIGKILLed at {done}/{total} "
                    "finished partitions")
                continue
            if proc.returncode != 0:
                raise SystemExit(f"soak: worker for phase {phase.value} exited "
                                 f"{proc.returncode}; see {self.home / 'worker.log'}")
            break
        got = FaultLog.read(fault_log)
        self.faults.update(got)
        log(f"  phase {phase.value}: runner done after {starts} start(s); faults "
            + " ".join(f"{k}={got[k]}" for k in KINDS if got[k]))

    # -- cloud phases ---------------------------------------------------------------------

    def run_cloud_phase(self, phase: Phase, rnd: int) -> None:
        """Plan → publish → deliver through the lossy queue until progress is finished."""
        from backcourt.domain.ids import season_bounds
        from backcourt.services import protocol

        dice = self.dice(rnd)
        faults = FaultLog()
        clock = self.clock
        services, _ = soak_services(self.home, dice, faults, deaths=True, clock=clock)
        queue = LossyQueue(dice, faults)
        start, end = season_bounds(self.season)
        try:
            for attempt in range(8):
                plan = protocol.plan_phase(services, phase, seasons=[self.season],
                                        run_id=f"soak-{rnd}-{phase.value}-{attempt}")
                for wave in plan["waves"]:
                    for unit in wave:
                        queue.publish(json.dumps(unit).encode())
                queue.dead_letters += queue.drain(services)
                left = protocol.progress(services, phase, start, end)
                if left["finished"] and not plan["replan"]:
                    break
                if left["by_state"].get(State.RUNNING.value):
                    # leases of dead worker threads: time passes until they expire
                    clock.offset += timedelta(seconds=services.settings.lease_ttl_s + 1)
            gate = protocol.validate(services, phase, start, end, run_id=f"soak-{rnd}")
        finally:
            services.close()
        self.faults.update(faults.counts)
        log(f"  phase {phase.value}: {queue.deliveries} deliveries of {queue.published} "
            f"messages ({queue.dead_letters} dead-lettered, planned again); gate "
            f"{gate['verdict']} {gate['counts']}; faults "
            + " ".join(f"{k}={faults.counts[k]}" for k in KINDS if faults.counts[k]))

    # -- rounds ---------------------------------------------------------------------------

    def round(self, rnd: int) -> bool:
        """One pass over the phases; False when a phase's gate blocked (the round stops)."""
        for phase in registry.phases_present():
            if phase in CLOUD:
                self.run_cloud_phase(phase, rnd)
            else:
                self.run_worker_phase(phase, rnd)
            blocked = self.blocked(phase)
            if blocked:
                log(f"  phase {phase.value}: gate BLOCK on {blocked} date(s): round {rnd} "
                    "stops here")
                return False
        return True

    def blocked(self, phase: Phase) -> int:
        """Dates whose latest verdict for the phase is BLOCK."""
        with opened(self.home) as s:
            from backcourt.domain.ids import season_bounds

            start, end = season_bounds(self.season)
            latest = {v.game_date: v.verdict for v in s.status.verdicts(phase.value, start, end)}
        return sum(1 for v in latest.values() if v is Verdict.BLOCK)

    def remaining(self) -> Counter[str]:
        """Expected partitions not done, by state (empty: the plan is empty)."""
        from backcourt.services.calendar import season_calendar

        left: Counter[str] = Counter()
        with opened(self.home) as s:
            cal = season_calendar(s.warehouse, self.season)
            for proc in registry.PROCESSORS:
                docs = {d.game_date: d for d in s.status.list([proc.name], cal.start, cal.end)}
                for day in cal.expected_dates(proc):
                    doc = docs.get(day)
                    state = doc.state if doc else State.PENDING
                    if state not in DONE:
                        left[state.value] += 1
        return left

    def retry_failed(self) -> int:
        """``backcourt retry-failed`` on every phase; the attempts it wipes count as retries."""
        from backcourt.services.ops import retry_failed

        with opened(self.home) as s:
            failed = [d for d in s.status.list(None, *_bounds(self.season))
                      if d.state is State.FAILED]
            self.retried += sum(d.attempts for d in failed)
            return retry_failed(s, [self.season], None, None)

    def count_retries(self) -> None:
        """Attempts beyond the first, over every partition."""
        with opened(self.home) as s:
            self.retried += sum(max(0, d.attempts - 1)
                                for d in s.status.list(None, *_bounds(self.season)))


def _bounds(season: str) -> tuple[date, date]:
    from backcourt.domain.ids import season_bounds

    return season_bounds(season)


class opened:  # noqa: N801 - used as a context manager, like open()
    """Plain adapters on a home for reading (closed on exit)."""

    def __init__(self, home: Path) -> None:
        self.services = build(load_settings(home, env=_env()))

    def __enter__(self) -> Services:
        return self.services

    def __exit__(self, *exc: object) -> None:
        self.services.close()


# -- the lossy queue (Pub/Sub, as the process function sees it) -------------------------------


@dataclass
class Delivery:
    """One message in the queue and how often it was delivered."""

    body: bytes
    number: int = 0


class LossyQueue:
    """At-least-once delivery with seeded faults: a duplicate copy delivered concurrently, an
    ack lost (the message comes back), redelivery after a transient error or a worker death,
    and the dead-letter topic after ``MAX_DELIVERIES``."""

    def __init__(self, dice: Dice, faults: FaultLog) -> None:
        self.dice = dice
        self.faults = faults
        self.items: deque[Delivery] = deque()
        self.published = 0
        self.deliveries = 0
        self.dead_letters = 0

    def publish(self, body: bytes) -> None:
        """Publish one message."""
        self.items.append(Delivery(body))
        self.published += 1

    def drain(self, services: Services) -> int:
        """Deliver until the queue is empty; returns how many messages were dead-lettered."""
        dead = 0
        with ThreadPoolExecutor(max_workers=2) as pool:
            while self.items:
                item = self.items.popleft()
                item.number += 1
                site = f"msg:{hashlib.sha256(item.body).hexdigest()[:16]}"
                copies = 1
                if self.dice.hit(f"dup:{site}", 2.0):
                    self.faults.add("duplicate", site)
                    copies = 2
                msg = parse_message(item.body)
                futures = [pool.submit(self._deliver, services, msg, item, n)
                           for n in range(copies)]
                outcomes = [f.result() for f in futures]
                self.deliveries += copies
                acked = outcomes[0] == "ok"
                if acked and self.dice.hit(f"ack:{site}", 1.5):
                    self.faults.add("lost_ack", site)
                    acked = False
                if acked:
                    continue
                if item.number >= MAX_DELIVERIES:
                    dead += 1  # the dead-letter topic; the next plan picks the dates up again
                    continue
                self.items.append(item)
        return dead

    @staticmethod
    def _deliver(services: Services, msg: WorkMessage, item: Delivery, copy: int) -> str:
        from backcourt.services import protocol

        execution = f"{hashlib.sha256(item.body).hexdigest()[:8]}-{item.number}-{copy}"
        try:
            protocol.process_message(services, msg, execution_id=execution)
        except TransientError:
            return "nack"
        except WorkerDied:
            return "died"
        return "ok"


# -- the comparison -------------------------------------------------------------------------


def _normal(row: Mapping[str, Any], skip: frozenset[str]) -> tuple[Any, ...]:
    return tuple((k, round(v, 6) if isinstance(v, float) else v)
                 for k, v in sorted(row.items()) if k not in skip)


def compare(clean: Services, soak: Services, season: str) -> tuple[int, int, int, list[str]]:
    """(lost, duplicates, differing rows, notes) of the soak home against the clean one."""
    start, end = _bounds(season)
    notes: list[str] = []
    differing = duplicates = 0
    lost_cells: set[tuple[str, date]] = set()
    done_clean = {(d.processor, d.game_date) for d in clean.status.list(None, start, end)
                  if d.state in DONE}
    done_soak = {(d.processor, d.game_date) for d in soak.status.list(None, start, end)
                 if d.state in DONE}
    lost_cells |= done_clean - done_soak
    for proc in registry.PROCESSORS:
        t = proc.table
        sql = f"SELECT * FROM {t.fqn} WHERE game_date BETWEEN @s AND @e"
        skip = VOLATILE.get(t.name, frozenset())
        want = Counter(_normal(r, skip) for r in clean.warehouse.query(sql, {"s": start,
                                                                             "e": end}))
        got_rows = soak.warehouse.query(sql, {"s": start, "e": end})
        got = Counter(_normal(r, skip) for r in got_rows)
        diff = sum(((want - got) + (got - want)).values())
        differing += diff
        keys = Counter(tuple(r[k] for k in dict.fromkeys(("game_date", *t.key)))
                       for r in got_rows)
        dups = sum(n - 1 for n in keys.values() if n > 1)
        duplicates += dups
        have = {dict(k)["game_date"] for k in got}
        lost_cells |= {(proc.name, dict(k)["game_date"]) for k in want
                       if dict(k)["game_date"] not in have}
        if diff or dups:
            notes.append(f"{t.fqn}: {diff} differing row(s), {dups} duplicate key(s) "
                         f"(clean {sum(want.values())} rows, soak {len(got_rows)})")
    return len(lost_cells), duplicates, differing, notes


# -- main -------------------------------------------------------------------------------------


def clean_main(argv: Sequence[str]) -> int:
    """``soak.py _clean HOME SEASON``: the sample season and a plain backfill of every phase."""
    from backcourt.sample import generate_season
    from backcourt.services.backfill import Runner
    from backcourt.services.plan import Window

    home, season = Path(argv[0]), argv[1]
    services = build(load_settings(home, env={}))
    try:
        generate_season(services.bucket, season)
        Runner(services).backfill([season], list(registry.phases_present()), Window())
    finally:
        services.close()
    return 0


def _expected(home: Path, season: str) -> dict[Phase, int]:
    """Expected partitions per phase, from the schedule file in the bucket (before phase 2)."""
    from backcourt.domain.calendar import build_calendar
    from backcourt.sources import nbacom_schedule
    from backcourt.sources.layout import schedule_path
    from backcourt.sources.parsing import decode

    bucket = FolderBucket(load_settings(home, env={}).local.bucket_path)
    path = schedule_path(season)
    rows = nbacom_schedule.parse(decode(bucket.read(path), path), path)
    cal = build_calendar(season, [nbacom_schedule.scheduled_game(r) for r in rows])
    start, end = _bounds(season)
    out: Counter[Phase] = Counter()
    for proc in registry.PROCESSORS:
        n = (end - start).days + 1 if proc.name == "schedule" else len(cal.expected_dates(proc))
        out[proc.phase] += n
    return dict(out)


def parse_args(argv: Sequence[str]) -> argparse.Namespace:
    """Command-line options."""
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--seed", type=int, default=DEFAULT_SEED, help="fault seed (replayable)")
    p.add_argument("--season", default="2024-25", help="sample season")
    p.add_argument("--home", type=Path, default=None,
                   help="folder for the clean/ and soak/ homes (default: a temporary folder)")
    p.add_argument("--faults-rate", type=float, default=DEFAULT_RATE,
                   help="probability that a fault site (a write, a delivery) is hit")
    p.add_argument("--rounds", type=int, default=6, help="give up after this many rounds")
    return p.parse_args(argv)


def main(argv: Sequence[str]) -> int:
    """Run the soak; 0 when nothing was lost, duplicated or different."""
    args = parse_args(argv)
    started = time.monotonic()
    logging.basicConfig(level=logging.ERROR)  # the soak prints its own progress lines
    root = args.home or Path(tempfile.mkdtemp(prefix="backcourt-soak-"))
    clean_home, soak_home = root / "clean", root / "soak"
    for home in (clean_home, soak_home):
        if home.exists():
            shutil.rmtree(home)
        home.mkdir(parents=True)
    log(f"soak seed={args.seed} season={args.season} faults-rate={args.faults_rate} "
        f"home={root}")
    log(f"  replay: make soak SOAK_ARGS=\"--seed {args.seed} --faults-rate {args.faults_rate}\"")
    with (root / "clean.log").open("wb") as clean_log:
        clean = subprocess.Popen([sys.executable, __file__, "_clean", str(clean_home),
                                  args.season], stdout=subprocess.DEVNULL, stderr=clean_log)
    try:
        code = _soak(args, soak_home, clean, clean_home, started)
    finally:
        if clean.poll() is None:
            clean.kill()
            clean.wait()
        if args.home is None:
            shutil.rmtree(root, ignore_errors=True)
    return code


def _soak(args: argparse.Namespace, home: Path, clean: subprocess.Popen[bytes],
          clean_home: Path, started: float) -> int:
    from backcourt.sample import generate_season

    generate_season(FolderBucket(load_settings(home, env={}).local.bucket_path), args.season)
    soak = Soak(args.seed, args.season, args.faults_rate, home)
    soak.expected = _expected(home, args.season)
    gave_up = True
    for rnd in range(1, args.rounds + 1):
        soak.rounds = rnd
        if rnd > 1:
            rearmed = soak.retry_failed()
            log(f"round {rnd}: retry-failed re-armed {rearmed} date(s)")
        log(f"round {rnd}: fault rate {soak.rate_of(rnd):.3f}")
        soak.round(rnd)
        left = soak.remaining()
        log(f"round {rnd}: {sum(left.values())} expected partition(s) not done {dict(left)} "
            f"({time.monotonic() - started:.0f}s)")
        if not left:
            gave_up = False
            break
    soak.count_retries()
    if gave_up:
        log(f"soak: gave up after {args.rounds} rounds with work left (see above)")
    log("waiting for the clean run …")
    if clean.wait() != 0:
        log(f"soak: the clean run failed (exit {clean.returncode}); see clean.log")
        return 1
    with opened(clean_home) as c, opened(home) as s:
        lost, duplicates, differing, notes = compare(c, s, args.season)
    for note in notes[:20]:
        log("  " + note)
    faults = soak.faults
    total = sum(faults[k] for k in KINDS)
    log(f"soak seed={args.seed} faults={total} ("
        + " ".join(f"{k}={faults[k]}" for k in KINDS) + f") retried={soak.retried} "
        f"lost={lost} duplicates={duplicates} differing_rows={differing} rounds={soak.rounds} "
        f"wall={time.monotonic() - started:.0f}s")
    return 1 if gave_up or lost or duplicates or differing else 0


def _dispatch(argv: list[str]) -> int:
    if argv[:1] == ["_worker"]:
        return worker_main(argv[1:])
    if argv[:1] == ["_clean"]:
        return clean_main(argv[1:])
    return main(argv)


if __name__ == "__main__":
    sys.exit(_dispatch(sys.argv[1:]))

