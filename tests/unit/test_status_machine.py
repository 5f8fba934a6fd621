"""The partition state machine as pure transitions (backcourt.domain.transitions)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from backcourt.domain import transitions as tr
from backcourt.domain.errors import BadInput, TransientError
from backcourt.domain.status import MAX_ATTEMPTS, Outcome, PartitionStatus, State

P = "player_game_summary"
D = date(2025, 1, 15)
T0 = datetime(2025, 1, 16, 4, 0, tzinfo=UTC)
TTL = timedelta(minutes=10)


def doc(state: State, attempts: int = 0, owner: str | None = None,
        expires_in_min: float | None = None, **kw: object) -> PartitionStatus:
    """A document; ``expires_in_min`` is the lease expiry relative to T0."""
    expires = None if expires_in_min is None else T0 + timedelta(minutes=expires_in_min)
    return PartitionStatus(P, D, state, attempts=attempts, lease_owner=owner,
                           lease_expires_at=expires, **kw)  # type: ignore[arg-type]


# (current document, expected state after take_lease or None for "unchanged", granted, attempts)
TAKE_CASES = [
    ("absent", None, None, False, None),
    ("pending fresh", doc(State.PENDING), State.RUNNING, True, 1),
    ("pending after 2 transient", doc(State.PENDING, 2, error="boom"), State.RUNNING, True, 3),
    ("pending out of attempts", doc(State.PENDING, 3), State.FAILED, False, 3),
    ("running live lease", doc(State.RUNNING, 1, "a", 5), None, False, None),
    ("running expires exactly now", doc(State.RUNNING, 1, "a", 0), State.RUNNING, True, 2),
    ("running expired", doc(State.RUNNING, 2, "a", -1), State.RUNNING, True, 3),
    ("running expired, 3 attempts", doc(State.RUNNING, 3, "a", -1), State.FAILED, False, 3),
    ("succeeded", doc(State.SUCCEEDED, 1), None, False, None),
    ("degraded", doc(State.DEGRADED, 1), None, False, None),
    ("blocked", doc(State.BLOCKED, 1), None, False, None),
    ("failed", doc(State.FAILED, 1), None, False, None),
    ("not_expected", doc(State.NOT_EXPECTED), None, False, None),
]


@pytest.mark.parametrize(("current", "state", "ok", "attempts"),
                         [c[1:] for c in TAKE_CASES], ids=[c[0] for c in TAKE_CASES])
def test_take_lease(current: PartitionStatus | None, state: State | None, ok: bool,
                    attempts: int | None) -> None:
    new = tr.take_lease(current, owner="b", run_id="r2", ttl=TTL, now=T0)
    assert tr.granted(new, "b") is ok
    if state is None:
        assert new is None
        return
    assert new is not None and new.state is state and new.attempts == attempts
    if ok:
        assert (new.lease_owner, new.run_id, new.started_at) == ("b", "r2", T0)
        assert new.lease_expires_at == T0 + TTL
        assert new.error is None and new.error_kind is None and new.finished_at is None
    else:
        assert new.lease_owner is None and new.error_kind == "transient"
        assert new.error is not None and f"after {MAX_ATTEMPTS} attempts" in new.error


def test_expired_third_attempt_message() -> None:
    new = tr.take_lease(doc(State.RUNNING, 3, "a", -1), owner="b", run_id="r", ttl=TTL, now=T0)
    assert new is not None and new.error == "lease expired after 3 attempts"


# (attempts used, outcome, resulting state)
FINISH_CASES = [
    ("succeeded", 1, Outcome(State.SUCCEEDED, rows_written=30, expected_rows=30), State.SUCCEEDED),
    ("degraded", 1, Outcome(State.DEGRADED, reason="shrink_refused"), State.DEGRADED),
    ("blocked", 1, Outcome(State.BLOCKED, reason="lookback_incomplete"), State.BLOCKED),
    ("transient 1st", 1, Outcome(State.FAILED, error_kind="transient", error="5xx"), State.PENDING),
    ("transient 2nd", 2, Outcome(State.FAILED, error_kind="transient", error="5xx"), State.PENDING),
    ("transient 3rd", 3, Outcome(State.FAILED, error_kind="transient", error="5xx"), State.FAILED),
    ("terminal 1st", 1, Outcome(State.FAILED, error_kind="terminal", error="bad SQL"),
     State.FAILED),
    ("failed, kind unknown", 1, Outcome(State.FAILED, error="?"), State.FAILED),
]


@pytest.mark.parametrize(("attempts", "outcome", "state"), [c[1:] for c in FINISH_CASES],
                         ids=[c[0] for c in FINISH_CASES])
def test_finish_lease(attempts: int, outcome: Outcome, state: State) -> None:
    later = T0 + timedelta(minutes=3)
    new = tr.finish_lease(doc(State.RUNNING, attempts, "a", 10, run_id="r1"), "a", outcome, later)
    assert new.state is state
    assert new.attempts == attempts  # attempts are counted only when a lease is taken
    assert new.lease_owner is None and new.lease_expires_at is None
    assert (new.rows_written, new.expected_rows) == (outcome.rows_written, outcome.expected_rows)
    assert (new.error_kind, new.error, new.reason) == (outcome.error_kind, outcome.error,
                                                       outcome.reason)
    assert new.finished_at == later and new.run_id == "r1"


@pytest.mark.parametrize("current", [
    None, doc(State.RUNNING, 2, "b", 10), doc(State.PENDING, 1), doc(State.SUCCEEDED, 1),
], ids=["absent", "taken over", "released", "finished"])
def test_finish_without_the_lease_is_lease_lost(current: PartitionStatus | None) -> None:
    with pytest.raises(TransientError, match="lease lost"):
        tr.finish_lease(current, "a", Outcome(State.SUCCEEDED), T0)


@pytest.mark.parametrize("outcome", [
    Outcome(State.PENDING), Outcome(State.RUNNING),
    Outcome(State.FAILED, error_kind="flaky"),
])
def test_finish_rejects_outcomes_a_processor_cannot_report(outcome: Outcome) -> None:
    with pytest.raises(BadInput, match="outcome"):
        tr.finish_lease(doc(State.RUNNING, 1, "a", 10), "a", outcome, T0)


def test_renew_only_by_the_holder() -> None:
    held = doc(State.RUNNING, 1, "a", 2)
    renewed = tr.renew_lease(held, "a", TTL, T0)
    assert renewed is not None and renewed.lease_expires_at == T0 + TTL
    assert renewed.attempts == 1
    assert tr.renew_lease(held, "b", TTL, T0) is None
    assert tr.renew_lease(doc(State.PENDING, 1), "a", TTL, T0) is None
    assert tr.renew_lease(None, "a", TTL, T0) is None


# (current, dead owners, resulting state or None = untouched)
RELEASE_CASES = [
    ("expired", doc(State.RUNNING, 1, "a", -1), (), State.PENDING),
    ("expires exactly now", doc(State.RUNNING, 1, "a", 0), (), State.PENDING),
    ("live", doc(State.RUNNING, 1, "a", 5), (), None),
    ("live but owner dead", doc(State.RUNNING, 1, "a", 5), ("a",), State.PENDING),
    ("live, other owner dead", doc(State.RUNNING, 1, "a", 5), ("z",), None),
    ("expired on last attempt", doc(State.RUNNING, 3, "a", -1), (), State.FAILED),
    ("pending", doc(State.PENDING, 1), ("a",), None),
    ("succeeded", doc(State.SUCCEEDED, 1), (), None),
]


@pytest.mark.parametrize(("current", "dead", "state"), [c[1:] for c in RELEASE_CASES],
                         ids=[c[0] for c in RELEASE_CASES])
def test_release_lease(current: PartitionStatus, dead: tuple[str, ...],
                       state: State | None) -> None:
    new = tr.release_lease(current, T0, dead)
    if state is None:
        assert new is None
        return
    assert new is not None and new.state is state
    assert new.lease_owner is None and new.lease_expires_at is None
    assert new.attempts == current.attempts and new.error_kind == "transient"


def test_reset_and_stale() -> None:
    failed = doc(State.FAILED, 3, error_kind="terminal", error="bad SQL", rows_written=4)
    reset = tr.reset_partition(failed, {State.FAILED})
    assert reset is not None and reset.state is State.PENDING and reset.attempts == 0
    assert (reset.error, reset.error_kind, reset.rows_written) == (None, None, 4)
    assert tr.reset_partition(failed, {State.BLOCKED}) is None
    for state in (State.SUCCEEDED, State.DEGRADED, State.BLOCKED, State.FAILED):
        stale = tr.stale_partition(doc(state, 2, error="x"))
        assert stale is not None and stale.state is State.PENDING
        assert (stale.attempts, stale.error, stale.reason) == (0, None, "stale")
    for state in (State.PENDING, State.RUNNING, State.NOT_EXPECTED):
        assert tr.stale_partition(doc(state, 1)) is None


# (current, expected?, resulting state or None = untouched)
SEED_CASES = [
    ("absent, expected", None, True, State.PENDING),
    ("absent, no games", None, False, State.NOT_EXPECTED),
    ("succeeded, expected", doc(State.SUCCEEDED, 1), True, None),
    ("failed, expected", doc(State.FAILED, 3), True, None),
    ("running, no games", doc(State.RUNNING, 1, "a", 5), False, State.NOT_EXPECTED),
    ("succeeded, no games", doc(State.SUCCEEDED, 1), False, State.NOT_EXPECTED),
    ("not_expected, expected again", doc(State.NOT_EXPECTED, reason="no_games"), True,
     State.PENDING),
    ("not_expected, still no games", doc(State.NOT_EXPECTED, reason="no_games"), False, None),
]


@pytest.mark.parametrize(("current", "expected", "state"), [c[1:] for c in SEED_CASES],
                         ids=[c[0] for c in SEED_CASES])
def test_seed_partition(current: PartitionStatus | None, expected: bool,
                        state: State | None) -> None:
    new = tr.seed_partition(current, P, D, expected=expected)
    if state is None:
        assert new is None
        return
    assert new == PartitionStatus(P, D, state, reason=None if expected else "no_games")


@pytest.mark.parametrize(("current", "state"), [
    (doc(State.SUCCEEDED, 1, rows_written=200), State.DEGRADED),
    (doc(State.PENDING, 1, error_kind="transient", error="503"), State.BLOCKED),
    (doc(State.RUNNING, 1, "a", 5), State.BLOCKED),
    (None, State.BLOCKED),
], ids=["gate degrades a success", "runner blocks a pending", "blocks a running", "absent"])
def test_annotate_partition(current: PartitionStatus | None, state: State) -> None:
    new = tr.annotate_partition(current, P, D, state, "upstream")
    kept = current or PartitionStatus(P, D, state)
    assert (new.processor, new.game_date, new.state, new.reason) == (P, D, state, "upstream")
    assert (new.attempts, new.rows_written) == (kept.attempts, kept.rows_written)
    assert new.lease_owner is None and new.lease_expires_at is None
    assert new.error is None and new.error_kind is None


def test_annotate_failed_keeps_the_error_and_rejects_lease_states() -> None:
    failed = tr.annotate_partition(doc(State.PENDING, 1, error_kind="terminal", error="x"), P, D,
                                   State.FAILED, "operator")
    assert (failed.state, failed.error_kind, failed.error) == (State.FAILED, "terminal", "x")
    for state in (State.PENDING, State.RUNNING, State.NOT_EXPECTED):
        with pytest.raises(BadInput, match="annotate state"):
            tr.annotate_partition(None, P, D, state, "no")


def test_bad_inputs_are_named() -> None:
    with pytest.raises(BadInput, match="both expected and not_expected: 2025-01-15"):
        tr.check_seed([D, date(2025, 1, 16)], [D])
    with pytest.raises(BadInput, match="timezone-aware"):
        tr.require_aware(datetime(2025, 1, 1, 12, 0))
    with pytest.raises(BadInput, match="ttl must be positive"):
        tr.require_ttl(timedelta(0))
    with pytest.raises(BadInput, match="start 2025-01-16 is after end 2025-01-15"):
        tr.require_range(date(2025, 1, 16), D)


def test_a_full_life_of_transient_failures() -> None:
    """Three leases, three transient failures: pending, pending, then failed for good."""
    current: PartitionStatus | None = tr.seed_partition(None, P, D, expected=True)
    boom = Outcome(State.FAILED, error_kind="transient", error="503")
    seen = []
    for n in range(MAX_ATTEMPTS):
        now = T0 + timedelta(hours=n)
        current = tr.take_lease(current, owner=f"w{n}", run_id="r", ttl=TTL, now=now)
        assert tr.granted(current, f"w{n}")
        current = tr.finish_lease(current, f"w{n}", boom, now + timedelta(minutes=1))
        seen.append((current.state, current.attempts))
    assert seen == [(State.PENDING, 1), (State.PENDING, 2), (State.FAILED, 3)]
    assert tr.take_lease(current, owner="w9", run_id="r", ttl=TTL, now=T0 + TTL * 99) is None
    assert (current.error_kind, current.error) == ("transient", "503")


def test_the_schedule_processor_may_report_a_date_without_games() -> None:
    # The schedule is loaded before the calendar exists; days it finds empty become
    # not_expected through finish, and keep the reason.
    done = tr.finish_lease(doc(State.RUNNING, 1, "a", 10), "a",
                           Outcome(State.NOT_EXPECTED, rows_written=0, reason="no_games"), T0)
    assert done.state is State.NOT_EXPECTED and done.reason == "no_games"
    assert done.lease_owner is None


# -- issue 13, finding 3: a redelivery reclaims its own lease; the last delivery ends final ----


def test_a_redelivery_reclaims_its_own_live_lease_as_a_new_attempt() -> None:
    """The same owner (same Pub/Sub message) finds its own live lease: an earlier delivery died
    holding it. It takes it over (a new attempt, said in ``error``) instead of skipping it."""
    held = doc(State.RUNNING, 1, "svc:msg-1", 5, run_id="r1", started_at=T0)
    new = tr.take_lease(held, owner="svc:msg-1", run_id="r1", ttl=TTL, now=T0)
    assert tr.granted(new, "svc:msg-1") and tr.was_reclaimed(new)
    assert new is not None and new.attempts == 2 and new.lease_expires_at == T0 + TTL
    assert (new.error or "").startswith(tr.RECLAIMED) and new.error_kind == "transient"
    # another owner still waits for the live lease; a fresh take is no reclaim
    assert tr.take_lease(held, owner="svc:msg-2", run_id="r1", ttl=TTL, now=T0) is None
    fresh = tr.take_lease(doc(State.PENDING), owner="svc:msg-1", run_id="r1", ttl=TTL, now=T0)
    assert tr.granted(fresh, "svc:msg-1") and not tr.was_reclaimed(fresh)


def test_reclaims_stop_at_max_attempts() -> None:
    """A date that kills every delivery of its message is failed, not reclaimed forever."""
    current: PartitionStatus | None = doc(State.PENDING)
    for n in range(1, MAX_ATTEMPTS + 1):
        current = tr.take_lease(current, owner="m", run_id="r", ttl=TTL, now=T0)
        assert tr.granted(current, "m") and current is not None and current.attempts == n
    last = tr.take_lease(current, owner="m", run_id="r", ttl=TTL, now=T0)
    assert last is not None and last.state is State.FAILED and last.lease_owner is None
    assert last.error == f"its deliveries died holding the lease after {MAX_ATTEMPTS} attempts"


def test_the_last_delivery_ends_final_whatever_happens() -> None:
    """Leased on the message's last delivery: a transient failure is failed (dead_lettered),
    not pending with nothing left to redeliver it; an expired lease (the delivery died) is
    released to failed (dead_lettered), not to pending."""
    taken = tr.take_lease(doc(State.PENDING), owner="m", run_id="r", ttl=TTL, now=T0, last=True)
    assert taken is not None and taken.reason == tr.LAST_DELIVERY
    flaky = Outcome(State.FAILED, error_kind="transient", error="503 backend error")
    done = tr.finish_lease(taken, "m", flaky, T0)
    assert (done.state, done.reason) == (State.FAILED, tr.DEAD_LETTERED)
    assert done.error == "gave up on the last delivery: 503 backend error"
    ok = tr.finish_lease(taken, "m", Outcome(State.SUCCEEDED, rows_written=3), T0)
    assert (ok.state, ok.reason) == (State.SUCCEEDED, None)
    gone = tr.release_lease(taken, T0 + TTL)
    assert gone is not None and (gone.state, gone.reason) == (State.FAILED, tr.DEAD_LETTERED)
    assert gone.lease_owner is None and gone.finished_at == T0 + TTL
    # not the last delivery: a transient failure and an expired lease go back to pending
    early = tr.take_lease(doc(State.PENDING), owner="m", run_id="r", ttl=TTL, now=T0)
    assert early is not None and early.reason is None
    assert tr.finish_lease(early, "m", flaky, T0).state is State.PENDING
    back = tr.release_lease(early, T0 + TTL)
    assert back is not None and back.state is State.PENDING
