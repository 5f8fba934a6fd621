"""Fault-injection soak: a whole sample season (phases 2–6) under random faults, then compared
with a clean run of the same data (LESSONS.md; issue 6 part 2; harsher in issue 14 #10).

    .venv/bin/python bench/soak.py [--seeds N ...] [--season 2024-25] [--home DIR]
                                   [--faults-rate F] [--rounds N]
    make soak                      (two seeds: 20261129 20261207; SOAK_ARGS="--seeds N" for one)

Under ``--home`` (default: a temporary folder, removed afterwards):

* ``clean/`` — the sample season and a plain ``Runner`` backfill of every phase, run in a
  separate process at the same time as the first soak, then checked: every expected
  (processor, date) done (``clean_coverage``) and every phase's latest verdicts PASS or WARN
  only (``clean_gate``);
* ``soak-SEED/`` — per seed, the same sample season, driven phase by phase while faults are
  injected into **every adapter** (each a wrapper around the real one):

  - warehouse (``FaultyWarehouse``, the real ``DuckDBWarehouse``): a ``transient`` error before
    a write; a write that ``hung`` **inside its transaction** — after the DELETE and INSERT of
    the replace, a slow statement runs on the same transaction until the adapter's timeout
    interrupts it (a real ``WarehouseTimeout`` and ROLLBACK); a ``commit_crash`` — the
    replace COMMITs and the worker dies before the status store hears of it (the retry must
    replace the rows, not add to them);
  - status store (``FaultyStatus``, the real SQLite store): ``status_error`` (a transient
    error) and ``status_slow`` on the calls a unit makes (acquire, renew, finish);
  - bucket (``FaultyBucket``, the real folder bucket; also the copies the process pool's
    loaders get): ``bucket_error`` and ``bucket_slow`` on every call;
  - phases 2, 4, 5A and 6 run in a **worker process** (``_worker``) that runs the local
    ``Runner``; the parent SIGKILLs it at seeded progress points (``kill``) and restarts it,
    as it does when it killed itself after a commit (the next worker releases the dead
    process's leases);
  - phases 3 and 5B go through the **cloud message path**: ``services.protocol.plan_phase`` →
    ``WorkMessage`` → ``process_message``, delivered by a seeded in-memory queue that loses
    messages outright at publish (``lost_message``: never delivered; only the next plan brings
    the dates back), delivers a ``duplicate`` copy concurrently, loses acks (``lost_ack``: the
    message comes back), redelivers on transient errors (dead letter after 5 deliveries), and
    whose worker threads die mid-unit (``kill``) or after a commit (``commit_crash``): their
    leases stay until they expire (the soak moves the clock past the lease TTL and plans
    again, as a rerun of the workflow would).

  After a phase, its gate decides; a BLOCK stops the round (as the workflow does). Rounds repeat
  until every expected partition is done, with ``retry-failed`` semantics for dates that failed
  after 3 attempts; from round 3 on the fault rate halves every round; after ``--rounds`` what
  is still not done counts as ``gave_up``.

Then every registry table is compared between the homes, key and values (no column is
volatile: re-runs are byte-identical, see ``VOLATILE``), every file under the two bucket
folders is hashed on disk and compared, and the soak prints one line per seed:

    soak seed=… faults=N (kill=… transient=… hung=… commit_crash=… status_error=…
    status_slow=… bucket_error=… bucket_slow=… duplicate=… lost_ack=… lost_message=…)
    retried=… lost=… duplicates=… differing_rows=… differing_objects=… gave_up=…
    clean_coverage=100% clean_gate=PASS/WARN stalls=… rounds=… wall=…s

``lost``: partitions the clean run completed that the soak did not (or dates whose rows it
lacks); ``duplicates``: natural keys present more than once; ``differing_rows``: rows present
in one home and not the other; ``differing_objects``: bucket files missing, extra or different
on disk; ``gave_up``: expected partitions still not done when the rounds ran out; ``stalls``:
workers killed because they wrote nothing for ``STALL_S``. Exit status 1 when any of lost,
duplicates, differing_rows, differing_objects, gave_up is above 0 or the clean run is
incomplete or BLOCKed. Faults are decided by hashing (seed, fault site, occurrence), so a seed
replays the same decisions at the same sites; kill moments are progress counts, not clock
times (which unit a kill lands in still depends on timing, so a replay is close, not
identical). Timings are printed, never asserted.
"""

from __future__ import annotations

import argparse
import hashlib
import itertools
import json
import logging
import os
import random
import re
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
from backcourt.adapters.local.duckdb_warehouse import DuckDBWarehouse, to_duckdb
from backcourt.adapters.local.sqlite_status import SqliteStatusStore
from backcourt.bootstrap import OffsetClock, build
from backcourt.config import load_settings
from backcourt.domain import registry
from backcourt.domain.errors import TransientError
from backcourt.domain.messages import WorkMessage, parse_message
from backcourt.domain.registry import Phase
from backcourt.domain.schema import Table
from backcourt.domain.status import DONE, State, Verdict
from backcourt.ports import RowsSource, Services, SqlSource, StatusStore, WriteResult
from fingerprint import object_bytes  # bench/: a model's run_id left out, every other byte kept

DEFAULT_SEED = 20261129
DEFAULT_RATE = 0.12
CHUNK_DAYS = "7"  # the soak's units are a week: more units, more fault sites (clean: default)
STALL_S = 90.0
"""A worker that writes nothing for this long is hung, not slow: killed and restarted, and
counted as ``stalls`` (found by this soak: a runner thread waiting in ``UnitQueue.take`` with
nothing ready and no backoff, every other runner thread gone — see the README)."""
PLANS = 12  # plans of a cloud phase per round (the workflow plans again until finished)
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
SLOW_S = 0.05  # a slow status-store or bucket call
KINDS = ("kill", "transient", "hung", "commit_crash", "status_error", "status_slow",
         "bucket_error", "bucket_slow", "duplicate", "lost_ack", "lost_message")


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

    def __getstate__(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items() if k != "_lock"}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
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

    def __getstate__(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items() if k != "_lock"}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
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


def crash(faults: FaultLog, site: str, *, deaths: bool) -> None:
    """Die right here: the worker thread (cloud path: its lease stays until it expires) or the
    whole worker process (SIGKILL of itself: no ``finally``, no status update)."""
    if deaths:
        raise WorkerDied(site)
    os.kill(os.getpid(), signal.SIGKILL)


class FaultyWarehouse(DuckDBWarehouse):
    """The real DuckDB warehouse with faults in its writes: a transient error before the
    write; a **hang inside the write transaction** (after the DELETE and INSERT, a genuinely
    slow statement on the same transaction, holding it until the adapter's timeout interrupts
    it: a real ``WarehouseTimeout`` and a ROLLBACK); a **crash after the COMMIT** and before
    the caller records the outcome (the rows landed, the status did not: the retry must replace
    them, not add to them); the death of a worker thread before the write (cloud path)."""

    def __init__(self, path: Path, *, query_timeout_s: float, dice: Dice, faults: FaultLog,
                 deaths: bool) -> None:
        super().__init__(path, query_timeout_s=query_timeout_s)
        self.dice = dice
        self.faults = faults
        self.deaths = deaths
        self.enabled = True
        self._fault = threading.local()

    def replace(self, table: Table, days: Sequence[date], source: SqlSource | RowsSource, *,
                max_shrink: float, force: bool = False, job_key: str | None = None) -> WriteResult:
        site = f"{table.name}:{min(days)}:{max(days)}" if days else ""
        kind = self._pick(site) if self.enabled and days else None
        if kind == "kill":
            self.faults.add("kill", site)
            raise WorkerDied(site)
        if kind == "transient":
            self.faults.add("transient", site)
            raise TransientError(f"injected: 503 backend error writing {site}")
        self._fault.hang = kind == "hung"
        try:
            result = super().replace(table, days, source, max_shrink=max_shrink, force=force,
                                     job_key=job_key)
        finally:
            self._fault.hang = False
        if kind == "commit_crash":
            self.faults.add("commit_crash", site)
            crash(self.faults, site, deaths=self.deaths)
        return result

    def _pick(self, site: str) -> str | None:
        if not self.dice.hit(site, 1.5):
            return None
        roll = self.dice.roll(f"kind:{site}")
        if self.deaths and roll < 0.1:
            return "kill"
        if roll < 0.4:
            return "hung"
        if roll < 0.7:
            return "commit_crash"
        return "transient"

    def _replace_in_tx(self, cur: Any, table: Table, days: list[date],
                       source: SqlSource | RowsSource, stage: str, max_shrink: float,
                       force: bool) -> WriteResult:
        result = super()._replace_in_tx(cur, table, days, source, stage, max_shrink, force)
        if getattr(self._fault, "hang", False):
            self.faults.add("hung", f"{table.name}:{days[0]}:{days[-1]}")
            # still inside BEGIN … COMMIT, the table's dates deleted and rewritten, not committed
            self._run_with_timeout(cur, to_duckdb(SLOW_SQL), {}, HUNG_TIMEOUT_S)
            raise AssertionError("the hung statement finished before its timeout")
        return result


class FaultyStatus:
    """The real SQLite status store; the calls a unit makes (acquire, renew, finish) may first
    fail transiently (Firestore's ABORTED / DEADLINE_EXCEEDED) or be slow.

    A unit makes one call per date (the season's schedule unit: 365), so after an error the
    processor's next ``COOLDOWN`` calls do not fail: its retry can get through."""

    FAULTED = frozenset({"acquire", "renew", "finish"})
    COOLDOWN = 400

    def __init__(self, inner: StatusStore, dice: Dice, faults: FaultLog) -> None:
        self.inner = inner
        self.dice = dice
        self.faults = faults
        self.enabled = True
        self._quiet: Counter[str] = Counter()
        self._lock = threading.Lock()

    def _error(self, site: str, processor: str) -> bool:
        with self._lock:
            if self._quiet[processor] > 0:
                self._quiet[processor] -= 1
                return False
        if not self.dice.hit(site, 0.15):
            return False
        with self._lock:
            self._quiet[processor] = self.COOLDOWN
        return True

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self.inner, name)
        if name not in self.FAULTED or not callable(attr):
            return attr

        def call(*args: Any, **kwargs: Any) -> Any:
            if self.enabled:
                site = f"status:{name}:{args[:2]}"
                if self._error(site, str(args[0]) if args else ""):
                    self.faults.add("status_error", site)
                    raise TransientError(f"injected: status store {name} aborted ({site})")
                if self.dice.hit(f"slow:{site}", 0.1):
                    self.faults.add("status_slow", site)
                    time.sleep(SLOW_S)
            return attr(*args, **kwargs)

        return call


class FaultyBucket:
    """The real folder bucket; every call may first fail transiently (GCS 503) or be slow.
    Picklable: the loaders run in the process pool with a copy (whose rolls are salted by the
    copy's number, so a retry does not replay the same decision)."""

    def __init__(self, inner: FolderBucket, dice: Dice, faults: FaultLog) -> None:
        self.inner = inner
        self.dice = dice
        self.faults = faults
        self.enabled = True
        self.salt = 0
        self._copies = itertools.count(1)

    def __getstate__(self) -> dict[str, Any]:
        state = {k: v for k, v in self.__dict__.items() if k != "_copies"}
        state["salt"] = next(self._copies) * 1_000_003 + os.getpid()
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._copies = itertools.count(1)

    def _maybe(self, op: str, path: str) -> None:
        if not self.enabled:
            return
        site = f"bucket:{op}:{path}:{self.salt}"
        if self.dice.hit(site, 0.1):
            self.faults.add("bucket_error", site)
            raise TransientError(f"injected: 503 from the bucket on {op} {path}")
        if self.dice.hit(f"slow:{site}", 0.05):
            self.faults.add("bucket_slow", site)
            time.sleep(SLOW_S)

    FAULTED = frozenset({"write", "read", "list", "exists", "move", "versions", "read_version"})
    """The Bucket port's calls, each rolled on its first argument (the path or prefix)."""

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_") or name == "inner":  # not set yet (unpickling): no recursion
            raise AttributeError(name)
        attr = getattr(self.inner, name)
        if name not in self.FAULTED:
            return attr

        def call(first: str, *args: Any, **kwargs: Any) -> Any:
            self._maybe(name, first)
            return attr(first, *args, **kwargs)

        return call


def _env() -> dict[str, str]:
    return {"BACKCOURT_CHUNK_DAYS": CHUNK_DAYS}


def soak_services(home: Path, dice: Dice, faults: FaultLog, *, deaths: bool,
                  clock: OffsetClock | None = None) -> tuple[Services, FaultyWarehouse]:
    """Adapters on ``home``, each wrapped by its fault injector."""
    settings = load_settings(home, env=_env())
    cfg = settings.local
    wh = FaultyWarehouse(cfg.warehouse_path, query_timeout_s=settings.query_timeout_s,
                         dice=dice, faults=faults, deaths=deaths)
    services = Services(settings, warehouse=wh,
                        status=FaultyStatus(SqliteStatusStore(cfg.status_path), dice, faults),
                        bucket=FaultyBucket(FolderBucket(cfg.bucket_path), dice, faults),
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


def _changed(home: Path) -> bool:
    """Whether the worker wrote anything lately (the status store's WAL or the warehouse)."""
    latest = max((p.stat().st_mtime for p in (home / "status.sqlite-wal",
                                                home / "warehouse.duckdb.wal",
                                                home / "warehouse.duckdb") if p.exists()),
                 default=0.0)
    return time.time() - latest < 1.0


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
    stalls: int = 0
    rounds: int = 0
    expected: dict[Phase, int] = field(default_factory=dict)
    clock: OffsetClock = field(default_factory=lambda: OffsetClock())
    """Time of the cloud path: it only moves forward (past lease TTLs) during the soak."""

    def rate_of(self, rnd: int) -> float:
        """The fault rate of a round: full in rounds 1 and 2 (round 1 often stops at the first
        gate that blocks), then halved every round so the soak converges."""
        return float(self.rate / 2 ** max(0, rnd - 2))

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
        starts = crashes = 0
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
            killed = stalled = False
            seen, since = -1, time.monotonic()
            while proc.poll() is None:
                now_done = _finished(self.home / "status.sqlite", names)
                if target is not None and now_done >= target:
                    os.kill(proc.pid, signal.SIGKILL)
                    killed = True
                    break
                if now_done != seen or _changed(self.home):
                    seen, since = now_done, time.monotonic()
                elif time.monotonic() - since > STALL_S:
                    os.kill(proc.pid, signal.SIGKILL)  # the runner hangs: see STALL_S
                    stalled = True
                    break
                time.sleep(0.05)
            proc.wait()
            if stalled:
                self.stalls += 1
                log(f"  phase {phase.value}: worker {proc.pid} STALLED (no progress for "
                    f"{STALL_S:.0f} s): killed and restarted")
                continue
            if not killed and proc.returncode == -signal.SIGKILL:
                crashes += 1  # it killed itself after a commit (``commit_crash``): restart
                if FaultLog.read(fault_log)["commit_crash"] < crashes:
                    log(f"  phase {phase.value}: worker {proc.pid} SIGKILLed from outside "
                        "the soak (not counted as a fault); restarting it")
                continue
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
        log(f"  phase {phase.value}: runner done after {starts} start(s) ({crashes} crashed "
            "after a commit); faults "
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
        # the message path keeps the full rate in every round: its faults cost redeliveries
        # and plans, never attempts, so they do not keep the soak from converging
        queue = LossyQueue(Dice(self.seed * 1000 + 500 + rnd, self.rate), faults)
        start, end = season_bounds(self.season)
        plans = 0
        try:
            for attempt in range(PLANS):
                plans = attempt + 1
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
            f"messages ({queue.lost} lost and {queue.dead_letters} dead-lettered, planned "
            f"again; {plans} plan(s)); gate "
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
        self.lost = 0
        self.deliveries = 0
        self.dead_letters = 0

    def publish(self, body: bytes) -> None:
        """Publish one message; it may be lost outright (never delivered: the publish's
        answer was lost and nobody retried it): only the next plan brings its dates back."""
        self.published += 1
        site = f"msg:{hashlib.sha256(body).hexdigest()[:16]}"
        if self.dice.hit(f"lose:{site}"):
            self.faults.add("lost_message", site)
            self.lost += 1
            return
        self.items.append(Delivery(body))

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


_GENERATION = re.compile(r"#\d+$")
"""The object generation a schedule row's ``source_file`` ends with (``<path>#<generation>``:
the version it was loaded from, a write time, so different in every home; the path must match)."""


def _normal(row: Mapping[str, Any], skip: frozenset[str]) -> tuple[Any, ...]:
    def value(k: str, v: Any) -> Any:
        if isinstance(v, float):
            return round(v, 6)
        if k == "source_file" and isinstance(v, str):
            return _GENERATION.sub("", v)
        return v

    return tuple((k, value(k, v)) for k, v in sorted(row.items()) if k not in skip)


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


def coverage(home: Path, season: str) -> tuple[int, int, Counter[str]]:
    """(expected partitions done, expected partitions, latest gate verdicts by kind) of a home:
    every (processor, date) the calendar expects, and every phase's newest verdict per date."""
    from backcourt.services.calendar import season_calendar

    done = expected = 0
    verdicts: Counter[str] = Counter()
    with opened(home) as s:
        cal = season_calendar(s.warehouse, season)
        for proc in registry.PROCESSORS:
            docs = {d.game_date: d for d in s.status.list([proc.name], cal.start, cal.end)}
            for day in cal.expected_dates(proc):
                expected += 1
                doc = docs.get(day)
                done += doc is not None and doc.state in DONE
        for phase in registry.phases_present():
            latest = {v.game_date: v.verdict
                      for v in s.status.verdicts(phase.value, cal.start, cal.end)}
            verdicts.update(v.value for v in latest.values())
    return done, expected, verdicts


def bucket_hashes(home: Path) -> dict[str, str]:
    """sha256 of every file under a home's bucket folder, read from disk (relative path →
    digest); temporary files of an interrupted write (``.name.pid.tmp``) included: a crash must
    not leave any behind."""
    root = load_settings(home, env={}).local.bucket_path
    return {p.relative_to(root).as_posix(): hashlib.sha256(object_bytes(p)).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file()}


def compare_buckets(clean: Path, soak: Path) -> tuple[int, list[str]]:
    """(objects missing, extra or different on disk, notes) of the soak bucket vs the clean."""
    want, got = bucket_hashes(clean), bucket_hashes(soak)
    bad = sorted(k for k in want.keys() | got.keys() if want.get(k) != got.get(k))
    notes = [f"bucket {k}: clean {want.get(k, 'absent')[:12]}, soak {got.get(k, 'absent')[:12]}"
             for k in bad[:10]]
    return len(bad), notes


def parse_args(argv: Sequence[str]) -> argparse.Namespace:
    """Command-line options."""
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--seeds", type=int, nargs="+", default=[DEFAULT_SEED],
                   help="fault seeds (replayable), one soak each against one clean run")
    p.add_argument("--seed", type=int, dest="seeds", action="append",
                   help="one fault seed (repeatable; same as --seeds)")
    p.add_argument("--season", default="2024-25", help="sample season")
    p.add_argument("--home", type=Path, default=None,
                   help="folder for the clean/ and soak-SEED/ homes (default: a temporary "
                        "folder)")
    p.add_argument("--faults-rate", type=float, default=DEFAULT_RATE,
                   help="probability that a fault site (a write, a delivery) is hit")
    p.add_argument("--rounds", type=int, default=6, help="give up after this many rounds")
    args = p.parse_args(argv)
    if args.seeds and args.seeds[0] == DEFAULT_SEED and len(args.seeds) > 1 \
            and "--seeds" not in argv:
        args.seeds = args.seeds[1:]  # --seed N given: not the default as well
    return args


@dataclass
class Clean:
    """The clean run: a subprocess, then its coverage and gate (checked once)."""

    home: Path
    season: str
    proc: subprocess.Popen[bytes]
    line: str | None = None
    ok: bool = False

    def check(self) -> tuple[bool, str]:
        """Wait for it; (complete with gate PASS/WARN only, the summary fields)."""
        if self.line is None:
            if self.proc.wait() != 0:
                self.line = f"clean_coverage=? (the clean run failed: exit {self.proc.returncode})"
                return False, self.line
            done, expected, verdicts = coverage(self.home, self.season)
            bad = {k: n for k, n in verdicts.items() if k not in ("PASS", "WARN")}
            pct = 100 * done / expected if expected else 0.0
            self.ok = bool(expected) and done == expected and not bad
            self.line = (f"clean_coverage={pct:.0f}%"
                         + ("" if done == expected else f" ({done}/{expected})")
                         + " clean_gate=" + ("/".join(sorted(verdicts)) or "none"))
        return self.ok, self.line


def main(argv: Sequence[str]) -> int:
    """Run the soak for every seed; 0 when nothing was lost, duplicated, different or given up
    and the clean run is complete with gate PASS/WARN."""
    args = parse_args(argv)
    logging.basicConfig(level=logging.ERROR)  # the soak prints its own progress lines
    root = args.home or Path(tempfile.mkdtemp(prefix="backcourt-soak-"))
    clean_home = root / "clean"
    if clean_home.exists():
        shutil.rmtree(clean_home)
    clean_home.mkdir(parents=True)
    log(f"soak seeds={' '.join(map(str, args.seeds))} season={args.season} "
        f"faults-rate={args.faults_rate} home={root}")
    with (root / "clean.log").open("wb") as clean_log:
        proc = subprocess.Popen([sys.executable, __file__, "_clean", str(clean_home),
                                 args.season], stdout=subprocess.DEVNULL, stderr=clean_log)
    clean = Clean(clean_home, args.season, proc)
    lines: list[str] = []
    code = 0
    try:
        for seed in args.seeds:
            home = root / f"soak-{seed}"
            if home.exists():
                shutil.rmtree(home)
            home.mkdir(parents=True)
            log(f"soak seed={seed}: replay with make soak SOAK_ARGS=\"--seeds {seed} "
                f"--faults-rate {args.faults_rate}\"")
            failed, line = _soak(args, seed, home, clean)
            lines.append(line)
            code |= failed
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        if args.home is None:
            shutil.rmtree(root, ignore_errors=True)
    if len(lines) > 1:
        log("summary:")
        for line in lines:
            log("  " + line)
    return code


def _soak(args: argparse.Namespace, seed: int, home: Path, clean: Clean) -> tuple[int, str]:
    """One seed's soak; (1 when it failed, else 0; its summary line)."""
    from backcourt.sample import generate_season

    started = time.monotonic()
    generate_season(FolderBucket(load_settings(home, env={}).local.bucket_path), args.season)
    soak = Soak(seed, args.season, args.faults_rate, home)
    soak.expected = _expected(home, args.season)
    left: Counter[str] = Counter()
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
            break
    soak.count_retries()
    gave_up = sum(left.values())
    if gave_up:
        log(f"soak: gave up after {args.rounds} rounds: {gave_up} expected partition(s) "
            f"never done {dict(left)}")
    log("waiting for the clean run …")
    clean_ok, clean_fields = clean.check()
    with opened(clean.home) as c, opened(home) as s:
        lost, duplicates, differing, notes = compare(c, s, args.season)
    objects, bucket_notes = compare_buckets(clean.home, home)
    for note in [*notes[:20], *bucket_notes]:
        log("  " + note)
    faults = soak.faults
    total = sum(faults[k] for k in KINDS)
    line = (f"soak seed={seed} faults={total} ("
            + " ".join(f"{k}={faults[k]}" for k in KINDS) + f") retried={soak.retried} "
            f"lost={lost} duplicates={duplicates} differing_rows={differing} "
            f"differing_objects={objects} gave_up={gave_up} {clean_fields} "
            f"stalls={soak.stalls} "
            f"rounds={soak.rounds} wall={time.monotonic() - started:.0f}s")
    log(line)
    failed = bool(gave_up or lost or duplicates or differing or objects or not clean_ok)
    return int(failed), line


def _dispatch(argv: list[str]) -> int:
    if argv[:1] == ["_worker"]:
        return worker_main(argv[1:])
    if argv[:1] == ["_clean"]:
        return clean_main(argv[1:])
    return main(argv)


if __name__ == "__main__":
    sys.exit(_dispatch(sys.argv[1:]))

