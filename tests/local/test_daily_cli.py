"""``backcourt daily [--at TIMESTAMP]``: the daily run on the embedded default, over a few dates
of the 2024-25 sample season.

The dates are resolved once, in America/New_York, by ``protocol.resolve_daily`` (its DST and
23:00–05:00 edges are covered by tests/incidents/test_daily_trigger_dates.py; here: that the CLI
hands it the instant ``--at`` names). Each chain of ``DAILY_CHAINS`` runs as a forced backfill of
its one date, recorded as its own run (``daily-post_game``, ``daily-pre_game``); the pre-game
chain runs even when the post-game chain blocked; the exit code is the worst of the two.
"""

from __future__ import annotations

import shutil
import sys
from collections.abc import Sequence
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from test_cli import _flat, run_main

from backcourt.bootstrap import build
from backcourt.commands import daily
from backcourt.config import load_settings
from backcourt.domain.daily import DAILY_CHAINS, Chain
from backcourt.domain.errors import TerminalError
from backcourt.domain.registry import Phase, of_phase
from backcourt.domain.status import DONE, PartitionStatus, RunRecord, State
from backcourt.services.backfill import BackfillResult, Runner, ScopeOutcome
from backcourt.services.plan import Window
from sample_cache import cached_season

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "incidents"))  # faults.new_home
from faults import new_home  # noqa: E402

pytestmark = pytest.mark.local

SEASON = "2024-25"
OPENING, POST, PRE = date(2024, 10, 22), date(2024, 10, 23), date(2024, 10, 24)
AT = "2024-10-24T04:00:00-04:00"  # 04:00 EDT on Oct 24: post-game Oct 23, pre-game Oct 24
POST_CHAIN, PRE_CHAIN = DAILY_CHAINS
SEASON_START = date(2024, 7, 1)  # a date of the season with no games: phase 2 loads only the
                                 # schedule there (the schedule processor loads the whole season)


@pytest.fixture(autouse=True)
def _plain_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """The CLI reads the environment: no backend, chunking or worker settings from outside."""
    for name in ("BACKCOURT_CHUNK_DAYS", "BACKCOURT_WORKERS", "BACKCOURT_BACKEND",
                 "BACKCOURT_HOME"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture(scope="module")
def sample(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The 2024-25 sample season, generated once per test run (a bucket folder, read only)."""
    return cached_season(tmp_path_factory, SEASON)


def _prepared(root: Path, sample: Path, runs: Sequence[tuple[list[Phase], Window]]) -> Path:
    """A home with the schedule and the raw files of Oct 22–24, after ``runs`` (backfills)."""
    home = new_home(sample, root, [OPENING, POST, PRE])
    s = build(load_settings(home, env={}))
    try:
        for phases, window in runs:
            Runner(s).backfill([SEASON], phases, window)
    finally:
        s.close()
    return home


@pytest.fixture(scope="module")
def schedule_only(sample: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The schedule loaded and nothing else computed."""
    return _prepared(tmp_path_factory.mktemp("daily-schedule") / "home", sample,
                     [([Phase.RAW], Window(SEASON_START, SEASON_START))])


@pytest.fixture(scope="module")
def with_history(sample: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """What the earlier days leave: every phase done on Oct 22–23 and Oct 24's raw data loaded
    (the pre-game chain has no phase 2)."""
    return _prepared(tmp_path_factory.mktemp("daily-history") / "home", sample,
                     [(list(Phase), Window(OPENING, POST)), ([Phase.RAW], Window(PRE, PRE))])


def _copy(home: Path, tmp_path: Path) -> Path:
    """A fresh copy of a prepared home (each test changes its own)."""
    return Path(shutil.copytree(home, tmp_path / "home"))


def _store(home: Path) -> tuple[dict[str, RunRecord], list[PartitionStatus]]:
    """The daily runs' records by command, and every status document of the season."""
    s = build(load_settings(home, env={}))
    try:
        runs = {r.command: r for r in s.status.runs() if r.command.startswith("daily-")}
        docs = s.status.list(None, SEASON_START, date(2025, 6, 30))
        return runs, docs
    finally:
        s.close()


def _of_run(docs: Sequence[PartitionStatus], run: RunRecord) -> dict[tuple[str, date], State]:
    return {(d.processor, d.game_date): d.state for d in docs if d.run_id == run.run_id}


def _chain_cells(chain: Chain, day: date) -> set[tuple[str, date]]:
    return {(p.name, day) for ph in chain.phases for p in of_phase(ph)
            if chain.processors is None or p.name in chain.processors}


def test_daily_runs_both_chains_on_their_dates(
        with_history: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    home = _copy(with_history, tmp_path)
    code, out, err = run_main(["--home", str(home), "daily", "--at", AT], monkeypatch, capsys)
    runs, docs = _store(home)
    post, pre = runs["daily-post_game"], runs["daily-pre_game"]
    assert _flat(out).startswith("daily run at 2024-10-24T04:00:00-04:00 (2024-10-24 04:00 EDT "
                                 "in New York): post_game 2024-10-23, pre_game 2024-10-24")
    assert post.scope == "seasons=2024-25 phases=2,3,5B,6 window=2024-10-23..2024-10-23"
    assert pre.scope == ("seasons=2024-25 phases=3,4,5A window=2024-10-24..2024-10-24 "
                         f"processors={','.join(sorted(PRE_CHAIN.processors or ()))}")
    assert post.started_at < pre.started_at
    for run in (post, pre):
        assert f"run {run.run_id} (stop it with `backcourt cancel {run.run_id}`)" in _flat(err)

    # post-game: every processor of phases 2, 3, 5B and 6 recomputed on Oct 23 (forced; the
    # schedule processor reloads the whole season), nothing else
    by_post = _of_run(docs, post)
    assert {c for c in by_post if c[1] == POST} == _chain_cells(POST_CHAIN, POST)
    assert {p for p, d in by_post if d != POST} == {"schedule"}
    assert {s for (p, d), s in by_post.items() if p != "schedule"} <= DONE
    assert post.state == "succeeded"

    # pre-game: the upcoming contexts of phase 3, phases 4 and 5A on Oct 24 — all computed;
    # nothing that reads Oct 24's results (its box scores, its grading, its exports) runs
    by_pre = _of_run(docs, pre)
    cells = _chain_cells(PRE_CHAIN, PRE)
    assert {c for c, s in by_pre.items() if s in DONE} == cells
    assert not {(n, PRE) for n in ("player_game_summary", "team_offense_game_summary",
                                   "exports")} & set(by_pre)
    assert pre.state == "succeeded"

    # what neither chain covers is left alone: phase 4 of Oct 23, phase 2 of Oct 24
    untouched = {(p.name, POST) for p in of_phase(Phase.PRECOMPUTE)} | {
        (p.name, PRE) for p in of_phase(Phase.RAW) if p.name != "schedule"}
    assert not untouched & (set(by_post) | set(by_pre))

    # both chains are done: exit 0
    assert code == 0, (out, err)
    assert "daily: post_game 2024-10-23 done; pre_game 2024-10-24 done (exit 0)" in _flat(out)


def test_pre_game_chain_runs_after_a_blocked_post_game_chain(
        schedule_only: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    """Oct 23 has no predictions to grade (nothing ran before): the post-game chain blocks at
    phase 5B, and the pre-game chain of Oct 24 still runs."""
    home = _copy(schedule_only, tmp_path)
    code, out, err = run_main(["--home", str(home), "daily", "--at", AT], monkeypatch, capsys)
    runs, docs = _store(home)
    post, pre = runs["daily-post_game"], runs["daily-pre_game"]
    assert (post.state, pre.state) == ("blocked", "blocked")
    grading = next(d for d in docs if (d.processor, d.game_date) == ("prediction_accuracy", POST))
    assert grading.state is State.BLOCKED
    assert "player_prop_predictions 2024-10-23" in (grading.reason or "")
    computed = {c for c, s in _of_run(docs, post).items() if s in DONE and c[1] == POST}
    history = ("upcoming_player_game_context", POST)  # reads Oct 22, never computed here
    assert _chain_cells(Chain("raw+analytics", "post_game_date", (Phase.RAW, Phase.ANALYTICS)),
                        POST) - {history} <= computed
    upcoming = next(d for d in docs if (d.processor, d.game_date) == history)
    assert upcoming.state is State.BLOCKED and "lookback_incomplete" in (upcoming.reason or "")
    planned = {(d.processor, d.game_date) for d in docs if d.game_date == PRE}
    assert _chain_cells(PRE_CHAIN, PRE) <= planned  # the pre-game chain planned them
    assert pre.summary["outcome"]["expected"] == len(_chain_cells(PRE_CHAIN, PRE))
    assert code == 1, (out, err)
    assert ("daily: post_game 2024-10-23 not complete; pre_game 2024-10-24 not complete "
            "(exit 1)") in _flat(err)


def test_a_day_without_games_is_done_with_nothing_to_compute(
        schedule_only: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    home = _copy(schedule_only, tmp_path)
    code, out, err = run_main(["--home", str(home), "daily", "--at", "2024-08-02T04:00:00-04:00"],
                              monkeypatch, capsys)
    text = _flat(out)
    assert code == 0, (out, err)
    for chain, day in ((POST_CHAIN, "2024-08-01"), (PRE_CHAIN, "2024-08-02")):
        assert (f"{chain.name} {day}: nothing expected on this date (no_games): no processor of "
                f"phases {', '.join(p.value for p in chain.phases)} applies") in text
    assert "daily: post_game 2024-08-01 done; pre_game 2024-08-02 done (exit 0)" in text


def test_a_date_in_a_season_without_a_schedule_runs_nothing(
        schedule_only: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    home = _copy(schedule_only, tmp_path)
    at = "2030-01-16T04:00:00-05:00"
    code, out, err = run_main(["--home", str(home), "daily", "--at", at], monkeypatch, capsys)
    message = _flat(err)
    assert code == 2, (out, err)
    assert "no schedule loaded for 2029-30" in message
    assert f"post_game date 2030-01-15; pre_game date 2030-01-16, resolved from --at {at}" in (
        message)
    assert "backcourt backfill --season 2029-30 --phase 2" in message
    assert "Traceback" not in err
    runs, _ = _store(home)
    assert runs == {}


# (--at, post-game date, pre-game date): the instant --at names, in New York
AT_DATES = [
    (AT, "2024-10-23", "2024-10-24"),
    ("2024-10-24T08:00:00Z", "2024-10-23", "2024-10-24"),  # the same instant in UTC
    ("2024-10-24T08:00:00+00:00", "2024-10-23", "2024-10-24"),
    ("2024-10-23T23:30:00-04:00", "2024-10-22", "2024-10-23"),  # before midnight in New York
    ("2024-10-24T00:30:00-04:00", "2024-10-23", "2024-10-24"),  # after
    ("2024-10-24T03:30:00Z", "2024-10-22", "2024-10-23"),  # 23:30 EDT on Oct 23, given in UTC
]


@pytest.mark.parametrize(("at", "post", "pre"), AT_DATES, ids=[a[0] for a in AT_DATES])
def test_at_is_resolved_once_in_new_york(
        at: str, post: str, pre: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    """The resolved dates are printed before anything runs (here an empty home: no schedule,
    so nothing does, exit 2)."""
    code, out, err = run_main(["--home", str(tmp_path / "home"), "daily", "--at", at],
                              monkeypatch, capsys)
    assert f"post_game {post}, pre_game {pre}" in _flat(out)
    assert code == 2 and "no schedule loaded for 2024-25" in _flat(err)


@pytest.mark.parametrize(("at", "needles"), [
    ("2024-10-24T04:00:00", ["bad --at '2024-10-24T04:00:00'", "no time zone"]),
    ("2024-10-24", ["bad --at '2024-10-24'", "no time zone"]),
    ("yesterday", ["bad --at 'yesterday'"]),
    ("2024-10-24T25:00:00Z", ["bad --at '2024-10-24T25:00:00Z'"]),
])
def test_a_naive_or_garbage_at_exits_2_naming_the_option(
        at: str, needles: list[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run_main(["--home", str(tmp_path / "home"), "daily", "--at", at],
                              monkeypatch, capsys)
    message = _flat(err)
    assert code == 2, (out, err)
    for needle in [*needles, "expected an ISO-8601 timestamp with a time zone",
                   "2025-01-16T04:00:00-05:00", "2025-01-16T09:00:00Z"]:
        assert needle in message, message
    assert "Traceback" not in err
    assert not (tmp_path / "home").exists()  # refused before opening anything


DONE_ = ScopeOutcome(14, 14, {}, {}, ())
BLOCKED = ScopeOutcome(14, 12, {"blocked": 2}, {"5B": 1}, ("prediction_accuracy …",))
CANCELLED, FAILED = "cancelled", "failed"


@pytest.mark.parametrize(("post", "pre", "code", "ran"), [
    (DONE_, DONE_, 0, ["post_game", "pre_game"]),
    (BLOCKED, DONE_, 1, ["post_game", "pre_game"]),
    (DONE_, BLOCKED, 1, ["post_game", "pre_game"]),
    (BLOCKED, CANCELLED, 3, ["post_game", "pre_game"]),
    (CANCELLED, DONE_, 3, ["post_game"]),  # a cancel stops the daily run
    (FAILED, DONE_, 1, ["post_game", "pre_game"]),  # an error does not
], ids=["both-done", "post-blocked", "pre-blocked", "pre-cancelled", "post-cancelled",
        "post-failed"])
def test_the_exit_code_is_the_worst_chains(
        post: Any, pre: Any, code: int, ran: list[str], tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    outcomes = {"post_game": post, "pre_game": pre}
    calls: list[tuple[str, list[Phase], Window, bool]] = []

    def fake_run(services: Any, seasons: Sequence[str], phases: Sequence[Phase],
                 window: Window, *, force: bool, command: str,
                 processors: Sequence[str] | None) -> BackfillResult:
        name = command.removeprefix("daily-")
        calls.append((name, list(phases), window, force))
        if outcomes[name] == CANCELLED:
            return BackfillResult(f"run-{name}", cancelled_by="someone", cancelled_units=2)
        if outcomes[name] == FAILED:
            raise TerminalError("injected: column not found")
        return BackfillResult(f"run-{name}", outcome=outcomes[name])

    monkeypatch.setattr(daily, "run_phases", fake_run)
    monkeypatch.setattr(daily, "_check_schedules", lambda *_: None)
    got, out, err = run_main(["--home", str(tmp_path / "home"), "daily", "--at", AT],
                             monkeypatch, capsys)
    assert got == code, (out, err)
    assert [c[0] for c in calls] == ran
    expected = [(POST_CHAIN.name, list(POST_CHAIN.phases), Window(POST, POST), True),
                (PRE_CHAIN.name, list(PRE_CHAIN.phases), Window(PRE, PRE), True)]
    assert calls == expected[:len(ran)]
    if "pre_game" not in ran:
        assert "pre_game 2024-10-24 not started" in _flat(err)
    if post == FAILED:
        assert "post_game 2024-10-23 failed: injected: column not found" in _flat(err)
        assert "daily: post_game 2024-10-23 failed; pre_game 2024-10-24 done" in _flat(err)
    assert f"(exit {code})" in _flat(out if code == 0 else err)

