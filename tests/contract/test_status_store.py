"""The StatusStore contract: one suite, run on SQLite (tmp file) and Firestore (the emulator).

Every adapter must give the same answers: the state machine, leases under a real race, seeding,
resets, annotations, range queries, verdict and run history. The Firestore parameter starts the
emulator (``tests/emulator_fixtures.py``) and uses a fresh collection prefix per test.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from backcourt.adapters.local.sqlite_status import SqliteStatusStore
from backcourt.domain.errors import BadInput, TerminalError, TransientError
from backcourt.domain.status import GateVerdict, Outcome, PartitionStatus, RunRecord, State, Verdict
from backcourt.ports import StatusStore

P = "player_game_summary"
TEAM = "team_offense_game_summary"
D = date(2025, 1, 15)
T0 = datetime(2025, 1, 16, 4, 0, tzinfo=UTC)
TTL = timedelta(minutes=10)
OK = Outcome(State.SUCCEEDED, rows_written=250, expected_rows=250)
FLAKY = Outcome(State.FAILED, error_kind="transient", error="503 backend error")
BROKEN = Outcome(State.FAILED, error_kind="terminal", error="column not found")
R, PE, F = State.RUNNING, State.PENDING, State.FAILED
PROJECT = "backcourt-contract"


def firestore_store(prefix: str) -> StatusStore:
    """A Firestore store on the emulator (``FIRESTORE_EMULATOR_HOST`` set by the fixture)."""
    from backcourt.adapters.gcp.firestore_status import FirestoreStatusStore

    return FirestoreStatusStore(PROJECT, collection_prefix=prefix)


@pytest.fixture(params=[pytest.param("sqlite", marks=pytest.mark.local),
                        pytest.param("firestore", marks=pytest.mark.emulator)])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[StatusStore]:
    if request.param == "sqlite":
        s: StatusStore = SqliteStatusStore(tmp_path / "status.sqlite")
    else:
        request.getfixturevalue("firestore_emulator")
        s = firestore_store(f"t{uuid.uuid4().hex[:12]}")
    yield s
    s.close()


def at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


def days(n: int, first: date = D) -> list[date]:
    return [first + timedelta(days=i) for i in range(n)]


# -- the state machine, table-driven ---------------------------------------------------------


@dataclass(frozen=True)
class Step:
    """One call on (P, D) at minute ``at``; ``ok`` is its expected answer (granted / renewed /
    finished without "lease lost" / released); ``state``/``attempts`` describe the document
    afterwards."""

    op: str
    owner: str
    at: float
    ok: bool
    state: State
    attempts: int
    outcome: Outcome = OK
    last: bool = False
    """acquire on the message's last delivery."""


def acq(owner: str, t: float, ok: bool, state: State, attempts: int) -> Step:
    return Step("acquire", owner, t, ok, state, attempts)


def fin(owner: str, t: float, outcome: Outcome, ok: bool, state: State, attempts: int) -> Step:
    return Step("finish", owner, t, ok, state, attempts, outcome)


SCENARIOS: dict[str, list[Step]] = {
    "pending→running→succeeded, then never taken again": [
        acq("a", 0, True, R, 1), fin("a", 3, OK, True, State.SUCCEEDED, 1),
        acq("b", 60, False, State.SUCCEEDED, 1),
    ],
    "transient, transient, transient → failed": [
        acq("a", 0, True, R, 1), fin("a", 1, FLAKY, True, PE, 1),
        acq("b", 2, True, R, 2), fin("b", 3, FLAKY, True, PE, 2),
        acq("c", 4, True, R, 3), fin("c", 5, FLAKY, True, F, 3),
        acq("d", 6, False, F, 3),
    ],
    "terminal → failed at once": [
        acq("a", 0, True, R, 1), fin("a", 1, BROKEN, True, F, 1), acq("b", 2, False, F, 1),
    ],
    "live lease kept; expired lease taken over; old owner's finish is lease lost": [
        acq("a", 0, True, R, 1), acq("b", 5, False, R, 1), acq("b", 10, True, R, 2),
        fin("a", 11, OK, False, R, 2), fin("b", 12, OK, True, State.SUCCEEDED, 2),
    ],
    "third lease expiring → failed on the next acquire": [
        acq("a", 0, True, R, 1), acq("b", 10, True, R, 2), acq("c", 20, True, R, 3),
        acq("d", 30, False, F, 3),
    ],
    "renewal keeps the lease; only the holder renews": [
        acq("a", 0, True, R, 1), Step("renew", "a", 8, True, R, 1), acq("b", 12, False, R, 1),
        Step("renew", "b", 13, False, R, 1), acq("b", 18, True, R, 2),
        Step("renew", "a", 19, False, R, 2),
    ],
    "sweeper returns an expired lease to pending": [
        acq("a", 0, True, R, 1), Step("release", "-", 5, False, R, 1),
        Step("release", "-", 10, True, PE, 1), fin("a", 11, OK, False, PE, 1),
        acq("b", 12, True, R, 2),
    ],
    "degraded is final": [
        acq("a", 0, True, R, 1),
        fin("a", 1, Outcome(State.DEGRADED, reason="shrink_refused"), True, State.DEGRADED, 1),
        acq("b", 20, False, State.DEGRADED, 1),
    ],
    # issue 13, finding 3: one owner per Pub/Sub message, so a redelivery is the same owner
    "a redelivery reclaims its own live lease; another owner still waits": [
        acq("m", 0, True, R, 1), acq("m", 2, True, R, 2), acq("b", 3, False, R, 2),
        fin("m", 4, OK, True, State.SUCCEEDED, 2),
    ],
    "a message that kills every delivery: reclaimed until MAX_ATTEMPTS, then failed": [
        acq("m", 0, True, R, 1), acq("m", 1, True, R, 2), acq("m", 2, True, R, 3),
        acq("m", 3, False, F, 3),
    ],
    "the last delivery's transient failure is final": [
        acq("a", 0, True, R, 1), fin("a", 1, FLAKY, True, PE, 1),
        Step("acquire", "a", 2, True, R, 2, last=True), fin("a", 3, FLAKY, True, F, 2),
    ],
    "the last delivery died: its lease is released to failed, not pending": [
        Step("acquire", "a", 0, True, R, 1, last=True), Step("release", "-", 10, True, F, 1),
        acq("b", 11, False, F, 1),
    ],
    "blocked is not taken again by acquire": [
        acq("a", 0, True, R, 1),
        fin("a", 1, Outcome(State.BLOCKED, reason="lookback_incomplete"), True, State.BLOCKED, 1),
        acq("b", 20, False, State.BLOCKED, 1),
    ],
}


def run_step(store: StatusStore, step: Step) -> None:
    now = at(step.at)
    if step.op == "acquire":
        last = {"last": True} if step.last else {}  # the keyword only where a step uses it
        got = store.acquire(P, D, owner=step.owner, run_id=f"run-{step.owner}", ttl=TTL, now=now,
                            **last)
        assert (got is not None) is step.ok
        if got is not None:
            assert got == store.get(P, D)
            assert (got.lease_owner, got.lease_expires_at) == (step.owner, now + TTL)
    elif step.op == "finish" and step.ok:
        assert store.finish(P, D, step.owner, step.outcome, now) == store.get(P, D)
    elif step.op == "finish":
        with pytest.raises(TransientError, match="lease lost"):
            store.finish(P, D, step.owner, step.outcome, now)
    elif step.op == "renew":
        assert store.renew(P, D, step.owner, TTL, now) is step.ok
    else:
        assert store.release_expired(now) == int(step.ok)


@pytest.mark.parametrize("steps", list(SCENARIOS.values()), ids=list(SCENARIOS))
def test_state_machine(store: StatusStore, steps: list[Step]) -> None:
    store.seed(P, [D], [])
    for i, step in enumerate(steps):
        run_step(store, step)
        doc = store.get(P, D)
        assert doc is not None
        assert (doc.state, doc.attempts) == (step.state, step.attempts), f"after step {i}: {step}"


def test_reclaim_and_dead_letter_are_recorded(store: StatusStore) -> None:
    """What a reclaim and a dead-lettered date leave in the document (``why`` reads it)."""
    from backcourt.domain import transitions as tr

    store.seed(P, days(2), [])
    assert store.acquire(P, D, owner="svc:m1", run_id="r", ttl=TTL, now=T0)
    again = store.acquire(P, D, owner="svc:m1", run_id="r", ttl=TTL, now=at(1))
    assert again is not None and tr.was_reclaimed(again) and again == store.get(P, D)
    other = days(2)[1]
    assert store.acquire(P, other, owner="svc:m1", run_id="r", ttl=TTL, now=T0, last=True)
    assert store.release_expired(at(10.5)) == 1  # only the last delivery's lease ran out
    gone = store.get(P, other)
    assert gone is not None and (gone.state, gone.reason) == (F, tr.DEAD_LETTERED)
    assert "last delivery" in (gone.error or "")


def test_not_expected_and_absent_are_never_acquired(store: StatusStore) -> None:
    store.seed(P, [], [D])
    assert store.acquire(P, D, owner="a", run_id="r", ttl=TTL, now=T0) is None
    assert store.get(P, D) == PartitionStatus(P, D, State.NOT_EXPECTED, reason="no_games")
    other = date(2025, 1, 20)
    assert store.acquire(P, other, owner="a", run_id="r", ttl=TTL, now=T0) is None
    assert store.get(P, other) is None  # acquire does not create documents


def test_finish_records_the_outcome_and_keeps_the_error_for_why(store: StatusStore) -> None:
    store.seed(P, [D], [])
    taken = store.acquire(P, D, owner="a", run_id="r1", ttl=TTL, now=T0)
    assert taken is not None and taken.started_at == T0
    back = store.finish(P, D, "a", FLAKY, at(2))
    assert (back.state, back.error_kind, back.error) == (PE, "transient", "503 backend error")
    assert store.get(P, D) == back
    assert store.acquire(P, D, owner="b", run_id="r2", ttl=TTL, now=at(3)) is not None
    outcome = Outcome(State.DEGRADED, rows_written=12, expected_rows=30, reason="shrink_refused")
    store.finish(P, D, "b", outcome, at(4))
    assert store.get(P, D) == PartitionStatus(
        P, D, State.DEGRADED, attempts=2, run_id="r2", started_at=at(3), finished_at=at(4),
        rows_written=12, expected_rows=30, reason="shrink_refused")


def test_times_round_trip_as_aware_instants(store: StatusStore) -> None:
    store.seed(P, [D], [])
    eastern = datetime(2025, 1, 15, 23, 0, 0, 123456, tzinfo=ZoneInfo("America/New_York"))
    assert store.acquire(P, D, owner="a", run_id="r", ttl=TTL, now=eastern)
    got = store.get(P, D)
    assert got is not None and got.started_at is not None and got.lease_expires_at is not None
    assert got.started_at == datetime(2025, 1, 16, 4, 0, 0, 123456, tzinfo=UTC)
    assert got.started_at.utcoffset() == timedelta(0)
    assert got.lease_expires_at - got.started_at == TTL


def test_release_expired_and_dead_owners(store: StatusStore) -> None:
    ds = days(5)
    store.seed(P, ds, [])
    store.seed(TEAM, [D], [])
    for d in ds[:4]:
        assert store.acquire(P, d, owner=f"w{d.day}", run_id="r", ttl=TTL, now=T0)
    for n in (1, 2):  # ds[3] expires twice more, so it has used all three attempts
        assert store.acquire(P, ds[3], owner="x", run_id="r", ttl=TTL, now=at(10 * n))
    assert store.acquire(P, ds[1], owner="live", run_id="r", ttl=TTL * 6, now=at(10))
    assert store.acquire(TEAM, D, owner="dead", run_id="r", ttl=TTL * 6, now=at(1))
    # at minute 35: ds[0], ds[2] expired (attempt 1); ds[3] expired on attempt 3;
    # ds[1] live (owner alive); the team row is live but its owner is dead; ds[4] pending.
    assert store.release_expired(at(35), dead_owners=["dead", "nobody"]) == 4
    states = {(d.processor, d.game_date): (d.state, d.attempts, d.lease_owner)
              for d in store.list(None, D, ds[-1])}
    assert states == {
        (P, ds[0]): (PE, 1, None), (P, ds[1]): (R, 2, "live"), (P, ds[2]): (PE, 1, None),
        (P, ds[3]): (F, 3, None), (P, ds[4]): (PE, 0, None), (TEAM, D): (PE, 1, None),
    }
    failed = store.get(P, ds[3])
    assert failed is not None and failed.error == "lease expired after 3 attempts"
    released = store.get(TEAM, D)
    assert released is not None and released.error == "lease owner 'dead' gone"
    assert store.release_expired(at(35)) == 0


def test_reset_re_arms_only_the_given_states(store: StatusStore) -> None:
    ds = days(3)
    store.seed(P, ds, [])
    for d, outcome in zip(ds, (BROKEN, OK, Outcome(State.BLOCKED)), strict=True):
        assert store.acquire(P, d, owner="a", run_id="r", ttl=TTL, now=T0)
        store.finish(P, d, "a", outcome, at(1))
    assert store.reset(P, ds + [date(2025, 3, 1)], [State.FAILED]) == 1
    re_armed = store.get(P, ds[0])
    assert re_armed is not None
    assert (re_armed.state, re_armed.attempts, re_armed.error, re_armed.error_kind) == (
        PE, 0, None, None)
    assert [d.state for d in store.list([P], ds[0], ds[-1])] == [PE, State.SUCCEEDED,
                                                                 State.BLOCKED]
    assert store.get(P, date(2025, 3, 1)) is None  # reset creates nothing
    assert store.reset(TEAM, ds, [State.FAILED]) == 0
    got = store.acquire(P, ds[0], owner="b", run_id="r2", ttl=TTL, now=at(2))
    assert got is not None and got.attempts == 1


def test_mark_stale(store: StatusStore) -> None:
    ds = days(7)
    store.seed(P, ds[:6], [ds[6]])
    finals = (OK, Outcome(State.DEGRADED), Outcome(State.BLOCKED), BROKEN)
    for d, outcome in zip(ds, finals, strict=False):
        assert store.acquire(P, d, owner="a", run_id="r", ttl=TTL, now=T0)
        store.finish(P, d, "a", outcome, at(1))
    assert store.acquire(P, ds[4], owner="a", run_id="r", ttl=TTL, now=T0)  # stays running
    assert store.mark_stale(P, ds + [date(2025, 3, 1)]) == 4
    got = [(d.state, d.attempts) for d in store.list([P], ds[0], ds[-1])]
    assert got == [(PE, 0)] * 4 + [(R, 1), (PE, 0), (State.NOT_EXPECTED, 0)]
    assert {d.reason for d in store.list([P], ds[0], ds[3])} == {"stale"}


def test_cancel_only_pending_then_stale_and_plan_re_arm_it(store: StatusStore) -> None:
    ds = days(5)
    store.seed(P, ds[:4], [ds[4]])
    assert store.acquire(P, ds[0], owner="a", run_id="r", ttl=TTL, now=T0)
    store.finish(P, ds[0], "a", OK, at(1))
    assert store.acquire(P, ds[1], owner="a", run_id="r", ttl=TTL, now=T0)  # in flight
    why = "cancelled by ops@host (run r)"
    assert store.cancel(P, ds + [date(2025, 3, 1)], why) == 2  # ds[2], ds[3]
    got = {d.game_date: (d.state, d.reason) for d in store.list([P], ds[0], ds[-1])}
    assert got == {ds[0]: (State.SUCCEEDED, None), ds[1]: (R, None),
                   ds[2]: (State.CANCELLED, why), ds[3]: (State.CANCELLED, why),
                   ds[4]: (State.NOT_EXPECTED, "no_games")}
    assert store.get(P, date(2025, 3, 1)) is None  # cancel creates nothing
    assert store.acquire(P, ds[2], owner="b", run_id="r2", ttl=TTL, now=at(2)) is None
    assert store.counts([P], ds[2], ds[3]) == {(P, State.CANCELLED): 2}
    store.seed(P, ds[:4], [ds[4]])  # seeding leaves a cancelled document alone
    assert store.reset(P, [ds[2]], [State.CANCELLED]) == 1  # the planner's re-arm
    assert store.mark_stale(P, [ds[3]]) == 1  # invalidate / --force re-arm it too
    assert [d.state for d in store.list([P], ds[2], ds[3])] == [PE, PE]
    got_lease = store.acquire(P, ds[3], owner="b", run_id="r2", ttl=TTL, now=at(3))
    assert got_lease is not None and got_lease.attempts == 1
    with pytest.raises(BadInput, match="reason"):
        store.cancel(P, ds, "")


def test_seed_semantics(store: StatusStore) -> None:
    d1, d2, d3, d4, d5 = days(5)
    store.seed(P, [d1, d2, d4], [d5])
    assert store.acquire(P, d2, owner="a", run_id="r", ttl=TTL, now=T0)
    store.finish(P, d2, "a", OK, at(1))
    assert store.acquire(P, d4, owner="a", run_id="r", ttl=TTL, now=T0)
    store.finish(P, d4, "a", OK, at(1))
    # re-plan: d3 is new; d4 turned out to have no games; d5 now has games
    store.seed(P, [d1, d2, d3, d5], [d4])
    got = {d.game_date: (d.state, d.reason) for d in store.list([P], d1, d5)}
    assert got == {d1: (PE, None), d2: (State.SUCCEEDED, None), d3: (PE, None),
                   d4: (State.NOT_EXPECTED, "no_games"), d5: (PE, None)}
    with pytest.raises(BadInput, match="both expected and not_expected"):
        store.seed(P, [d1], [d1])


def test_seed_a_whole_season_in_one_call(store: StatusStore) -> None:
    season = days(620, date(2024, 1, 1))  # more than one 500-write Firestore transaction
    store.seed(P, season[::2], season[1::2])
    assert store.counts([P], season[0], season[-1]) == {(P, PE): 310, (P, State.NOT_EXPECTED): 310}
    store.seed(P, season[::2], season[1::2])  # idempotent
    assert store.counts(None, season[0], season[-1]) == {(P, PE): 310,
                                                         (P, State.NOT_EXPECTED): 310}


def test_list_and_counts(store: StatusStore) -> None:
    ds = days(4)
    store.seed("b_proc", ds, [])
    store.seed("a_proc", ds[:2], ds[2:])
    store.seed("c_proc", [date(2025, 2, 1)], [])
    assert store.acquire("b_proc", ds[1], owner="a", run_id="r", ttl=TTL, now=T0)
    listed = store.list(["a_proc", "b_proc"], ds[1], ds[2])
    assert [(d.processor, d.game_date) for d in listed] == [
        ("a_proc", ds[1]), ("a_proc", ds[2]), ("b_proc", ds[1]), ("b_proc", ds[2])]
    assert store.list([], D, ds[-1]) == []
    assert len(store.list(None, D, date(2025, 2, 1))) == 9
    assert store.counts(None, D, ds[-1]) == {
        ("a_proc", PE): 2, ("a_proc", State.NOT_EXPECTED): 2, ("b_proc", PE): 3,
        ("b_proc", R): 1}
    assert store.counts(["c_proc"], D, date(2025, 2, 1)) == {("c_proc", PE): 1}
    assert store.counts(["c_proc"], D, date(2025, 1, 31)) == {}
    with pytest.raises(BadInput, match="after end"):
        store.counts(None, ds[1], ds[0])
    with pytest.raises(BadInput, match="after end"):
        store.list(None, ds[1], ds[0])


def test_annotate_from_outside_a_lease(store: StatusStore) -> None:
    d1, d2, d3 = days(3)
    store.seed(P, [d1, d2], [])
    assert store.acquire(P, d1, owner="a", run_id="r", ttl=TTL, now=T0)
    store.finish(P, d1, "a", OK, at(1))
    store.annotate(P, d1, State.DEGRADED, "rows 200 of 250 expected")
    store.annotate(P, d2, State.BLOCKED, "upstream gate 3 blocked")
    store.annotate(P, d3, State.BLOCKED, "upstream gate 3 blocked")
    got = {d.game_date: (d.state, d.attempts, d.rows_written, d.reason)
           for d in store.list([P], d1, d3)}
    assert got == {d1: (State.DEGRADED, 1, 250, "rows 200 of 250 expected"),
                   d2: (State.BLOCKED, 0, None, "upstream gate 3 blocked"),
                   d3: (State.BLOCKED, 0, None, "upstream gate 3 blocked")}
    assert store.acquire(P, d2, owner="b", run_id="r", ttl=TTL, now=at(2)) is None
    with pytest.raises(BadInput, match="annotate state"):
        store.annotate(P, d1, State.RUNNING, "no")


# -- verdicts and runs -----------------------------------------------------------------------


def test_verdict_round_trip_oldest_first(store: StatusStore) -> None:
    eastern = datetime(2025, 1, 15, 23, 30, tzinfo=ZoneInfo("America/New_York"))
    warn = GateVerdict("3", D, Verdict.WARN, ("minutes coverage 61%", "2 late games"),
                       {"rows": 250, "coverage": 0.61, "by_team": {"BOS": 13},
                        "late": [["BOS", "NYK"]]}, "r1", eastern)
    passed = GateVerdict("3", D, Verdict.PASS, (), {}, "r2", at(60))
    other = GateVerdict("4", D, Verdict.BLOCK, ("lookback_incomplete",), {}, None, None)
    outside = GateVerdict("3", date(2025, 1, 20), Verdict.PASS)
    for v in (warn, passed, other, outside):
        store.record_verdict(v)
    assert store.verdicts("3", D, date(2025, 1, 16)) == [warn, passed]
    assert store.verdicts(None, D, D) == [warn, passed, other]
    assert store.verdicts("5", D, date(2025, 1, 31)) == []
    got = store.verdicts("3", D, D)[0]
    assert got.decided_at == datetime(2025, 1, 16, 4, 30, tzinfo=UTC)
    assert isinstance(got.reasons, tuple) and got.verdict is Verdict.WARN


def test_runs_upsert_and_newest_first(store: StatusStore) -> None:
    first = RunRecord("r1", "backfill", T0, "ops", "2024-25 phases 2-3")
    second = RunRecord("r2", "daily", at(60), "scheduler", "2025-01-16")
    store.record_run(first)
    store.record_run(second)
    done = RunRecord("r1", "backfill", T0, "ops", "2024-25 phases 2-3", "succeeded", at(90),
                     {"dates": 120, "failed": [["2025-01-02", "terminal"]]})
    store.record_run(done)
    assert store.runs() == [second, done]
    assert store.get_run("r1") == done and store.get_run("r2") == second
    assert store.get_run("nope") is None
    assert store.runs(limit=1) == [second]
    assert store.runs(limit=0) == []
    with pytest.raises(BadInput, match="timezone-aware"):
        store.record_run(RunRecord("r3", "daily", datetime(2025, 1, 1), "x", "y"))
    with pytest.raises(BadInput, match=">= 0"):
        store.runs(limit=-1)



def test_claim_run_creates_once_even_when_racing(store: StatusStore) -> None:
    """Issue 13 #11: a tick's claim is a create-if-absent. On Firestore it is ``create()``:
    "create: Create a document in the Firestore database. ... ALREADY_EXISTS if the document
    already exists" (https://cloud.google.com/python/docs/reference/firestore/latest/document);
    of 8 concurrent claims of one id exactly one wins, and a claim never overwrites."""
    import threading

    first = RunRecord("daily-a", "start-daily", T0, "e1", "a", "starting")
    assert store.claim_run(first)
    assert not store.claim_run(RunRecord("daily-a", "start-daily", at(1), "e2", "a", "starting"))
    assert store.get_run("daily-a") == first
    wins: list[bool] = []
    barrier = threading.Barrier(8)

    def claim(i: int) -> None:
        barrier.wait()
        wins.append(store.claim_run(RunRecord("daily-b", "start-daily", T0, f"e{i}", "b")))

    threads = [threading.Thread(target=claim, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(wins) == [False] * 7 + [True]


# -- arguments, closing, the port ------------------------------------------------------------


def test_bad_arguments_are_named(store: StatusStore) -> None:
    store.seed(P, [D], [])
    with pytest.raises(BadInput, match="timezone-aware"):
        store.acquire(P, D, owner="a", run_id="r", ttl=TTL, now=datetime(2025, 1, 16))
    with pytest.raises(BadInput, match="ttl must be positive"):
        store.acquire(P, D, owner="a", run_id="r", ttl=timedelta(0), now=T0)
    with pytest.raises(BadInput, match="timezone-aware"):
        store.release_expired(datetime(2025, 1, 16))
    assert store.acquire(P, D, owner="a", run_id="r", ttl=TTL, now=T0) is not None
    with pytest.raises(BadInput, match="outcome state"):
        store.finish(P, D, "a", Outcome(State.PENDING), at(1))
    held = store.get(P, D)
    assert held is not None and (held.state, held.lease_owner) == (R, "a")
    with pytest.raises(BadInput, match="processor"):
        store.seed("", [D], [])


def test_closed_store_refuses_work(store: StatusStore) -> None:
    store.seed(P, [D], [])
    store.close()
    with pytest.raises(TerminalError, match="closed"):
        store.get(P, D)


def test_satisfies_the_port(store: StatusStore) -> None:
    methods = [n for n, v in vars(StatusStore).items() if callable(v) and not n.startswith("_")]
    assert len(methods) >= 16
    missing = [n for n in methods if not callable(getattr(store, n, None))]
    assert missing == []


# -- a real race: 8 threads on the same 20 partitions --------------------------------------------

RACE_DAYS = days(20)


def test_threads_acquire_each_partition_once(store: StatusStore) -> None:
    store.seed(P, RACE_DAYS, [])
    go, won, failures = threading.Barrier(8), {}, []

    def grab(owner: str, reverse: bool) -> None:
        order = list(reversed(RACE_DAYS)) if reverse else RACE_DAYS
        try:
            go.wait(timeout=30)
            won[owner] = [d for d in order if store.acquire(
                P, d, owner=owner, run_id="race", ttl=timedelta(hours=1), now=T0)]
        except Exception as exc:  # surfaced below with the owner's name
            failures.append(f"{owner}: {exc!r}")

    threads = [threading.Thread(target=grab, args=(f"thread{i}", i % 2 == 1)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert failures == []
    assert len(won) == 8
    winners = [(d, owner) for owner, got in won.items() for d in got]
    assert sorted(d for d, _ in winners) == RACE_DAYS  # every partition exactly once
    docs = {d.game_date: d for d in store.list([P], RACE_DAYS[0], RACE_DAYS[-1])}
    assert all(docs[d].lease_owner == owner and docs[d].attempts == 1 for d, owner in winners)


# -- SDK errors (pure: no emulator) ------------------------------------------------------------


def test_firestore_sdk_errors_map_to_transient_or_terminal() -> None:
    from google.api_core import exceptions as gexc

    from backcourt.adapters.gcp.firestore_status import FirestoreStatusStore, map_error

    transient = [gexc.Aborted("contention"), gexc.DeadlineExceeded("slow"),
                 gexc.ServiceUnavailable("down"), gexc.TooManyRequests("429"),
                 gexc.InternalServerError("500"), gexc.Unknown("?")]
    terminal = [gexc.InvalidArgument("bad"), gexc.PermissionDenied("no"),
                gexc.NotFound("db"), gexc.FailedPrecondition("needs an index")]
    assert all(type(map_error(e, "get")) is TransientError for e in transient)
    assert all(type(map_error(e, "get")) is TerminalError for e in terminal)
    assert "firestore get: PermissionDenied" in str(map_error(terminal[1], "get"))
    calls: list[str] = []

    def refuse() -> object:
        calls.append("client")
        raise gexc.PermissionDenied("caller lacks datastore.entities.get")

    store = FirestoreStatusStore("p", client_factory=refuse)  # type: ignore[arg-type]
    assert calls == []  # no client at construction
    with pytest.raises(TerminalError, match="PermissionDenied"):
        store.get(P, D)
    assert calls == ["client"]
    with pytest.raises(BadInput, match="project"):
        FirestoreStatusStore("")
