"""Phase-2 parsing in worker processes (``backcourt.services.cpu_pool``): a local backfill
with the pool gives exactly the rows and status of one without it, a malformed raw file is
still quarantined, and the workers die with the process that started them."""

from __future__ import annotations

import multiprocessing
import os
import pickle
import selectors
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from backcourt.bootstrap import build
from backcourt.config import load_settings
from backcourt.domain import registry
from backcourt.domain.dates import date_range
from backcourt.domain.errors import BadInput, MalformedRawFile, TerminalError
from backcourt.domain.registry import Phase
from backcourt.domain.status import State
from backcourt.ports import Services
from backcourt.services import backfill, cpu_pool
from backcourt.services.backfill import BackfillResult, Runner
from backcourt.services.calendar import games_between
from backcourt.services.cpu_pool import MIN_DATES, pooled
from backcourt.services.plan import Window
from backcourt.sources.layout import RAW, SOURCES, quarantine_path
from backcourt.sources.loaders import LoadContext
from sample_cache import cached_season

pytestmark = [pytest.mark.local, pytest.mark.slow]

REPO = Path(__file__).resolve().parents[2]
SEASON = "2024-25"
START, END = date(2025, 1, 6), date(2025, 1, 19)  # two weeks: 14 dates x 6 level-1 processors
WINDOW = Window(START, END)
DAYS = list(date_range(START, END))
BAD_DAY = date(2025, 1, 15)
RAW_PROCS = [p for p in registry.PROCESSORS if p.phase is Phase.RAW]
# Columns of the status documents that must match (leases, times and run ids differ by run).
STATUS_FIELDS = ("processor", "game_date", "state", "attempts", "rows_written", "expected_rows",
                 "error_kind", "error", "reason", "verdict")


@dataclass
class Run:
    """One phase-2 backfill of the window in its own home."""

    services: Services
    result: BackfillResult
    pools: list[tuple[int, bool, int]]
    """Per ``pooled`` call of the run: processor-dates, whether a pool was set, its workers."""
    bad_path: str


@pytest.fixture(scope="module")
def sample_bucket(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The 2024-25 sample season, generated once per test run (a bucket folder, read only)."""
    return cached_season(tmp_path_factory, SEASON)


def _home(sample: Path, root: Path) -> tuple[Path, str]:
    """A home with the schedule and the window's raw files, one player-props file of BAD_DAY
    cut in half; returns the home and the bad file's bucket path. (Only ``player_props`` reads
    that source: a bad box score, read by two processors at once, is quarantined by whichever
    comes first and the other one then loads the date without it.)"""
    bucket = load_settings(root, env={}).local.bucket_path
    shutil.copytree(sample / RAW / "nbacom_schedule", bucket / RAW / "nbacom_schedule")
    for source in SOURCES:
        for day in DAYS:
            folder = sample / RAW / source / day.isoformat()
            if folder.is_dir():
                shutil.copytree(folder, bucket / RAW / source / day.isoformat())
    bad = sorted((bucket / RAW / "oddsapi_player_props" / BAD_DAY.isoformat()).glob("*"))[0]
    bad.write_bytes(bad.read_bytes()[: bad.stat().st_size // 2])
    return root, bad.relative_to(bucket).as_posix()


def _run(sample: Path, root: Path, processes: str, monkeypatch: pytest.MonkeyPatch) -> Run:
    """Backfill phase 2 of the window with BACKCOURT_CPU_PROCESSES=``processes``, recording
    every ``pooled`` call (the real one runs: this only watches what it yields)."""
    home, bad = _home(sample, root)
    s = build(load_settings(home, env={"BACKCOURT_CPU_PROCESSES": processes,
                                       "BACKCOURT_CHUNK_DAYS": "5"}))
    seen: list[tuple[int, bool, int]] = []
    real = pooled

    @contextmanager
    def spy(services: Services, dates: int) -> Iterator[Services]:
        with real(services, dates) as got:
            yield got
            workers = len(getattr(got.cpu_pool, "_processes", None) or {})
            seen.append((dates, got.cpu_pool is not None, workers))

    with monkeypatch.context() as m:
        m.setattr(backfill, "pooled", spy)
        result = Runner(s).backfill([SEASON], [Phase.RAW], WINDOW)
    return Run(s, result, seen, bad)


@pytest.fixture(scope="module")
def runs(sample_bucket: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[
        tuple[Run, Run]]:
    """The same phase-2 backfill with a pool of 2 workers and without a pool."""
    with pytest.MonkeyPatch.context() as monkeypatch:
        pooled = _run(sample_bucket, tmp_path_factory.mktemp("pooled"), "2", monkeypatch)
        plain = _run(sample_bucket, tmp_path_factory.mktemp("plain"), "0", monkeypatch)
    yield pooled, plain
    pooled.services.close()
    plain.services.close()


def _table(s: Services, fqn: str) -> list[str]:
    """Every row of a table, as sorted reprs (NaN-safe, order-free)."""
    return sorted(repr(sorted(r.items())) for r in s.warehouse.query(f"SELECT * FROM {fqn}"))


def _status(s: Services) -> list[tuple[Any, ...]]:
    docs = s.status.list([p.name for p in RAW_PROCS], START, END)
    return sorted(tuple(getattr(d, f) for f in STATUS_FIELDS) for d in docs)


def test_the_pool_was_used_for_the_large_level_only(runs: tuple[Run, Run]) -> None:
    pooled, plain = runs
    big = [(dates, pool, workers) for dates, pool, workers in pooled.pools if dates >= MIN_DATES]
    small = [(dates, pool) for dates, pool, _ in pooled.pools if dates < MIN_DATES]
    assert big and all(pool and workers >= 1 for _, pool, workers in big), pooled.pools
    assert small and not any(pool for _, pool in small)  # the schedule level: 14 dates
    assert plain.pools and not any(pool for _, pool, _ in plain.pools)


def test_pooled_and_plain_runs_write_the_same_rows(runs: tuple[Run, Run]) -> None:
    pooled, plain = runs
    for proc in RAW_PROCS:
        got = _table(pooled.services, proc.table.fqn)
        assert got == _table(plain.services, proc.table.fqn), proc.name
        if proc.name != "schedule":
            assert got, proc.name  # real rows were compared, not two empty tables


def test_pooled_and_plain_runs_record_the_same_status(runs: tuple[Run, Run]) -> None:
    pooled, plain = runs
    got = _status(pooled.services)
    assert got == _status(plain.services)
    assert len(got) >= 6 * len(DAYS)
    assert [(p.units_run, p.dates_processed) for p in pooled.result.phases] == [
        (p.units_run, p.dates_processed) for p in plain.result.phases]
    verdicts = [[(v.game_date, v.verdict, v.reasons) for v in r.services.status.verdicts(
        Phase.RAW.value, START, END)] for r in runs]
    assert verdicts[0] == verdicts[1] and verdicts[0]


def test_a_malformed_file_is_quarantined_and_failed_under_the_pool(runs: tuple[Run, Run]) -> None:
    pooled, _ = runs
    s = pooled.services
    assert not s.bucket.exists(pooled.bad_path)
    assert s.bucket.exists(quarantine_path(pooled.bad_path))
    doc = s.status.get("player_props", BAD_DAY)
    assert doc is not None and doc.state is State.FAILED, doc
    assert doc.reason == "malformed_raw_file" and doc.error_kind == "terminal"
    assert doc.error is not None and pooled.bad_path in doc.error
    assert " JSON: " in doc.error  # the decoder's own words, as without a pool
    others = [d for d in s.status.list(["player_props"], START, END) if d.game_date != BAD_DAY]
    assert len(others) == len(DAYS) - 1
    assert all(d.state is State.SUCCEEDED for d in others), others
    for proc in RAW_PROCS:  # the other processors loaded the bad date too
        if proc.name not in ("schedule", "player_props"):
            got = s.status.get(proc.name, BAD_DAY)
            assert got is not None and got.state is State.SUCCEEDED, got
    loaded = s.warehouse.query("SELECT DISTINCT game_date FROM nba_raw.player_props")
    assert {r["game_date"] for r in loaded} == set(DAYS) - {BAD_DAY}


class _Counting(ProcessPoolExecutor):
    """A real spawn pool that counts the tasks it is given (a spy, not a stand-in)."""

    def __init__(self) -> None:
        super().__init__(2, mp_context=multiprocessing.get_context("spawn"))
        self.tasks = 0

    def submit(self, fn: Any, /, *args: Any, **kwargs: Any) -> Any:
        self.tasks += 1
        return super().submit(fn, *args, **kwargs)


def test_a_large_unit_is_parsed_in_pieces_that_give_the_same_loads(
        runs: tuple[Run, Run], monkeypatch: pytest.MonkeyPatch) -> None:
    """``load_in`` splits a unit's dates into PIECE_DATES pieces parsed side by side; every
    loader but the season schedule gives the same per-date rows, bad files and file counts as
    one in-process call (the bad file is back in place for this)."""
    s = runs[1].services  # the plain run: its bucket still has every file but the bad one
    games = games_between(s.warehouse, START, END)
    monkeypatch.setattr(cpu_pool, "PIECE_DATES", 4)
    with _Counting() as pool:
        for proc in RAW_PROCS:
            if proc.name == "schedule":
                continue
            ctx = LoadContext(s.bucket, DAYS, games)
            before = pool.tasks
            split = cpu_pool.load_in(pool, proc.python or "", ctx)
            assert pool.tasks - before == 4, proc.name  # 14 dates in pieces of 4
            whole = cpu_pool.load(proc.python or "", ctx)
            assert sorted(split) == sorted(whole) == DAYS
            for day in DAYS:
                a, b = split[day], whole[day]
                assert (a.rows, a.files) == (b.rows, b.files), (proc.name, day)
                assert [(e.path, e.problem) for e in a.bad_files] == [
                    (e.path, e.problem) for e in b.bad_files]
        assert sum(len(d.rows) for d in split.values()) > 0
        schedule = next(p for p in RAW_PROCS if p.name == "schedule")
        before = pool.tasks
        cpu_pool.load_in(pool, schedule.python or "", LoadContext(s.bucket, DAYS, {}),
                         by_date=False)
        assert pool.tasks - before == 1  # season files are read once per call: never split


def test_a_malformed_file_error_survives_the_trip_back_from_a_worker() -> None:
    err = MalformedRawFile("raw/x/2025-01-15/a.json", "truncated JSON: Expecting value",
                           processor="player_props", game_date=BAD_DAY)
    back = pickle.loads(pickle.dumps(err))
    assert type(back) is MalformedRawFile and isinstance(back, TerminalError)
    assert (back.path, back.problem, back.processor, back.game_date, str(back)) == (
        err.path, err.problem, "player_props", BAD_DAY, str(err))


# -- settings and the no-pool cases ------------------------------------------------------------


def test_a_bad_cpu_processes_value_names_the_variable(tmp_path: Path) -> None:
    with pytest.raises(BadInput, match="BACKCOURT_CPU_PROCESSES"):
        load_settings(tmp_path, env={"BACKCOURT_CPU_PROCESSES": "abc"})


@pytest.mark.parametrize("value", ["0", "1", "-3"])
def test_zero_or_one_process_means_no_pool(value: str, tmp_path: Path) -> None:
    s = build(load_settings(tmp_path, env={"BACKCOURT_CPU_PROCESSES": value}))
    try:
        assert s.settings.cpu_processes in (0, 1)
        with pooled(s, 10 * MIN_DATES) as got:
            assert got is s and got.cpu_pool is None
    finally:
        s.close()


def test_pool_only_from_min_dates_and_only_on_the_local_backend(tmp_path: Path) -> None:
    s = build(load_settings(tmp_path, env={"BACKCOURT_CPU_PROCESSES": "2"}))
    try:
        assert s.settings.cpu_processes == 2
        with pooled(s, MIN_DATES - 1) as got:
            assert got.cpu_pool is None
        with pooled(s, MIN_DATES) as got:  # no task submitted: no worker is started
            assert got.cpu_pool is not None and s.cpu_pool is None
        cloud = replace(s, settings=replace(s.settings, backend="gcp"))
        with pooled(cloud, 10 * MIN_DATES) as got:
            assert got.cpu_pool is None
    finally:
        s.close()


# -- workers exit with their parent ------------------------------------------------------------

CHILD = """
import os, sys, time
from pathlib import Path
from backcourt.bootstrap import build
from backcourt.config import load_settings
from backcourt.services.cpu_pool import MIN_DATES, pooled

s = build(load_settings(Path(sys.argv[1]), env={"BACKCOURT_CPU_PROCESSES": "2"}))
with pooled(s, MIN_DATES) as services:
    pool = services.cpu_pool
    futures = [pool.submit(time.sleep, 0.3) for _ in range(4)]  # both workers start
    for f in futures:
        f.result()
    print(" ".join(str(pid) for pid in sorted(pool._processes)), flush=True)
    time.sleep(600)
"""


def _alive(pid: int) -> bool:
    """Whether ``pid`` is a live process (a zombie waiting to be reaped has exited)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError):
        return False
    return stat.rsplit(")", 1)[1].split()[0] not in ("Z", "X")


def _parent(pid: int) -> int:
    return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])


def _first_line(proc: subprocess.Popen[str], timeout_s: float) -> str:
    assert proc.stdout is not None
    with selectors.DefaultSelector() as sel:
        sel.register(proc.stdout, selectors.EVENT_READ)
        if not sel.select(timeout_s):
            return ""
    return proc.stdout.readline()


@pytest.mark.skipif(not Path("/proc").is_dir(), reason="reads /proc")
def test_workers_exit_when_their_parent_is_killed(tmp_path: Path) -> None:
    env = dict(os.environ)
    proc = subprocess.Popen([sys.executable, "-c", CHILD, str(tmp_path / "home")],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    pids: list[int] = []
    try:
        line = _first_line(proc, 120)
        assert line.strip(), proc.stderr.read() if proc.poll() is not None and proc.stderr else ""
        pids = [int(p) for p in line.split()]
        assert len(pids) == 2
        assert all(_alive(p) and _parent(p) == proc.pid for p in pids)  # its real workers
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)
        deadline = time.monotonic() + 10
        while any(_alive(p) for p in pids) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not [p for p in pids if _alive(p)]
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)
        for pid in pids:  # only if the test failed: never leave the workers behind
            if _alive(pid):
                os.kill(pid, signal.SIGKILL)
        if proc.stdout:
            proc.stdout.close()
        if proc.stderr:
            proc.stderr.close()
