"""Pure transitions of one partition's status document (the state machine of ``status.py``).

Every status store (SQLite, Firestore, the in-memory fake) reads the current document inside its
transaction, asks one of these functions for the next document and writes it back. A function
returns ``None`` when nothing changes, so the store can skip the write. Nothing here does I/O.

Rules kept in one place:

* a lease is taken only on a *seeded* partition: ``pending``, or ``running`` with an expired
  lease (``lease_expires_at <= now``), or ``running`` under a live lease of the *same owner*. An
  absent document is not taken — the planner seeds first, so an absent one means "not planned";
* the same owner is the same Pub/Sub message (``protocol.owner_id``: the CloudEvent id is the
  message id). Its lease still live means an earlier delivery of that message died holding it
  (killed at the function's deadline, its instance lost): the redelivery *reclaims* it instead of
  skipping the date and acking the message, which left the date ``running`` until the phase
  deadline. A reclaim is a new attempt (the dead delivery's work is lost), so a date that always
  kills its worker stops at MAX_ATTEMPTS, as Pub/Sub's ``max_delivery_attempts`` stops the
  message; the running document says so (``error`` starts with ``RECLAIMED``);
* the attempt is counted when the lease is taken; a partition that has used MAX_ATTEMPTS and
  would need another lease goes to ``failed`` instead;
* a lease taken on a message's *last* delivery (no redelivery follows: the subscription
  dead-letters it) is marked ``reason = last_delivery``; whatever happens to that delivery the
  date ends in a recorded final state: a transient failure is ``failed`` (reason
  ``dead_lettered``) instead of ``pending``, and a lease that expires (the delivery died) is
  released to ``failed`` (``dead_lettered``), never left ``running`` or ``pending`` with nothing
  left to retry it;
* a transient failure with attempts left returns to ``pending`` (error kept for ``why``);
  anything else that fails is final until an operator reset.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import replace
from datetime import date, datetime, timedelta
from typing import Any

from backcourt.domain.errors import BadInput, TransientError
from backcourt.domain.status import MAX_ATTEMPTS, Outcome, PartitionStatus, State

FINISH_STATES = frozenset(
    {State.SUCCEEDED, State.DEGRADED, State.BLOCKED, State.FAILED, State.NOT_EXPECTED}
)  # not_expected: the schedule processor found no games that day
STALE_STATES = frozenset({State.SUCCEEDED, State.DEGRADED, State.BLOCKED, State.FAILED})
REARM_STATES = STALE_STATES | {State.CANCELLED}  # what mark_stale sends back to pending
ERROR_KINDS = frozenset({"transient", "terminal"})
NO_GAMES = "no_games"
STALE = "stale"
LAST_DELIVERY = "last_delivery"
"""Reason on a running document leased by a message's last delivery."""
DEAD_LETTERED = "dead_lettered"
"""Reason of a date given up with its message: its last delivery failed or died."""
RECLAIMED = "lease reclaimed"
"""Start of ``error`` on a running document whose lease a redelivery took over."""


def require_aware(moment: datetime, what: str = "now") -> datetime:
    """Return ``moment`` if it carries a timezone, else raise BadInput naming ``what``."""
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise BadInput(f"{what} must be a timezone-aware datetime, got naive {moment.isoformat()}")
    return moment


def require_ttl(ttl: timedelta) -> timedelta:
    """Return ``ttl`` if it is positive, else raise BadInput."""
    if ttl <= timedelta(0):
        raise BadInput(f"lease ttl must be positive, got {ttl}")
    return ttl


def require_range(start: date, end: date) -> None:
    """Raise BadInput when ``start`` is after ``end``."""
    if start > end:
        raise BadInput(f"start {start.isoformat()} is after end {end.isoformat()}")


def check_seed(expected: Sequence[date], not_expected: Sequence[date]) -> None:
    """Raise BadInput when a date is both expected and not expected."""
    both = sorted(set(expected) & set(not_expected))
    if both:
        shown = ", ".join(d.isoformat() for d in both[:5])
        raise BadInput(f"{len(both)} date(s) both expected and not_expected: {shown}")


def lease_expired(doc: PartitionStatus, now: datetime) -> bool:
    """Whether a running document's lease has run out at ``now`` (no expiry counts as expired)."""
    return doc.lease_expires_at is None or doc.lease_expires_at <= now


def _unleased(doc: PartitionStatus, state: State, **changes: Any) -> PartitionStatus:
    """``doc`` in ``state`` with the lease cleared, plus ``changes``."""
    return replace(doc, state=state, lease_owner=None, lease_expires_at=None, **changes)


def _exhausted(doc: PartitionStatus, why: str, now: datetime) -> PartitionStatus:
    """``doc`` failed for good because it has used every attempt."""
    text = f"{why} after {doc.attempts} attempts"
    return _unleased(doc, State.FAILED, error_kind="transient", error=text, finished_at=now)


def reclaimable(doc: PartitionStatus, owner: str, now: datetime) -> bool:
    """Whether ``owner`` asking for ``doc`` takes over its own live lease (a redelivery of the
    message whose earlier delivery died holding it)."""
    return (doc.state is State.RUNNING and doc.lease_owner == owner
            and not lease_expired(doc, now))


def take_lease(
    doc: PartitionStatus | None, *, owner: str, run_id: str, ttl: timedelta, now: datetime,
    last: bool = False,
) -> PartitionStatus | None:
    """The document after ``owner`` asks for the lease, or None when nothing changes.

    Args:
        doc: the current document (None when the partition was never seeded).
        owner: who asks (the message's owner id: the same for every delivery of it).
        run_id: the run the work belongs to.
        ttl: how long the lease lasts without renewal.
        now: the current instant (aware).
        last: the asking delivery is the message's last (it is dead-lettered after).
    Returns:
        A ``running`` document owned by ``owner`` when granted (also when ``owner`` already
        held it live: a reclaim, a new attempt, ``error`` starting with ``RECLAIMED``); a
        ``failed`` document when the partition has no attempts left (the caller writes it and
        reports "not granted"); None when it is absent, finished, or leased live by someone else.
    """
    if doc is None:
        return None
    reclaim = reclaimable(doc, owner, now)
    takeable = doc.state is State.PENDING or reclaim or (
        doc.state is State.RUNNING and lease_expired(doc, now)
    )
    if not takeable:
        return None
    if doc.attempts >= MAX_ATTEMPTS:
        why = ("its deliveries died holding the lease" if reclaim
               else "lease expired" if doc.state is State.RUNNING else "no attempts left")
        return _exhausted(doc, why, now)
    note = (f"{RECLAIMED}: attempt {doc.attempts} died holding it (killed or lost), "
            "a redelivery took it over") if reclaim else None
    return replace(
        doc, state=State.RUNNING, attempts=doc.attempts + 1, lease_owner=owner,
        lease_expires_at=now + ttl, run_id=run_id, started_at=now, finished_at=None,
        error_kind="transient" if reclaim else None, error=note,
        reason=LAST_DELIVERY if last else None,
    )


def was_reclaimed(doc: PartitionStatus | None) -> bool:
    """Whether a document returned by ``take_lease`` is a reclaimed lease."""
    return (doc is not None and doc.state is State.RUNNING
            and (doc.error or "").startswith(RECLAIMED))


def granted(doc: PartitionStatus | None, owner: str) -> bool:
    """Whether a document returned by ``take_lease`` gives the lease to ``owner``."""
    return doc is not None and doc.state is State.RUNNING and doc.lease_owner == owner


def renew_lease(
    doc: PartitionStatus | None, owner: str, ttl: timedelta, now: datetime
) -> PartitionStatus | None:
    """The document with the lease extended to ``now + ttl``, or None when ``owner`` lost it."""
    if doc is None or doc.state is not State.RUNNING or doc.lease_owner != owner:
        return None
    return replace(doc, lease_expires_at=now + ttl)


def _check_outcome(outcome: Outcome) -> None:
    """Raise BadInput for an outcome a processor may not report."""
    if outcome.state not in FINISH_STATES:
        allowed = ", ".join(sorted(FINISH_STATES))
        raise BadInput(f"outcome state must be one of {allowed}, got {outcome.state}")
    if outcome.error_kind is not None and outcome.error_kind not in ERROR_KINDS:
        raise BadInput(f"outcome error_kind must be transient or terminal, got "
                       f"{outcome.error_kind!r}")


def finish_lease(
    doc: PartitionStatus | None, owner: str, outcome: Outcome, now: datetime
) -> PartitionStatus:
    """The document after ``owner`` reports ``outcome``; the lease is cleared.

    Raises:
        BadInput: the outcome's state or error_kind is not one a processor may report.
        TransientError: ``owner`` no longer holds the lease ("lease lost").
    """
    _check_outcome(outcome)
    if doc is None or doc.state is not State.RUNNING or doc.lease_owner != owner:
        held = "nobody" if doc is None or doc.lease_owner is None else repr(doc.lease_owner)
        raise TransientError(
            f"lease lost: {owner!r} no longer holds it (held by {held})",
            processor=doc.processor if doc else None, game_date=doc.game_date if doc else None,
        )
    state, reason, error = outcome.state, outcome.reason, outcome.error
    if state is State.FAILED and outcome.error_kind == "transient":
        if doc.reason == LAST_DELIVERY:  # no redelivery follows: record it as given up
            reason, error = DEAD_LETTERED, f"gave up on the last delivery: {outcome.error}"
        elif doc.attempts < MAX_ATTEMPTS:
            state = State.PENDING
    return _unleased(
        doc, state, rows_written=outcome.rows_written, expected_rows=outcome.expected_rows,
        error_kind=outcome.error_kind, error=error, reason=reason, finished_at=now,
    )


def release_lease(
    doc: PartitionStatus, now: datetime, dead_owners: Collection[str] = ()
) -> PartitionStatus | None:
    """A running document whose lease expired (or whose owner is dead) back to ``pending``,
    or to ``failed`` when it has used every attempt or was leased by its message's last
    delivery (reason ``dead_lettered``: nothing redelivers it); None when it is not to be
    released."""
    if doc.state is not State.RUNNING:
        return None
    dead = doc.lease_owner in dead_owners
    if not dead and not lease_expired(doc, now):
        return None
    why = f"lease owner {doc.lease_owner!r} gone" if dead else "lease expired"
    if doc.reason == LAST_DELIVERY:
        return _unleased(doc, State.FAILED, error_kind="transient", reason=DEAD_LETTERED,
                         error=f"gave up: {why} on the message's last delivery "
                               f"(attempt {doc.attempts}); it is dead-lettered",
                         finished_at=now)
    if doc.attempts >= MAX_ATTEMPTS:
        return _exhausted(doc, why, now)
    return _unleased(doc, State.PENDING, error_kind="transient", error=why)


def reset_partition(doc: PartitionStatus, states: Collection[State]) -> PartitionStatus | None:
    """Operator reset: a document in ``states`` back to ``pending`` with 0 attempts, errors and
    lease cleared; None when its state is not in ``states``."""
    if doc.state not in states:
        return None
    return _unleased(doc, State.PENDING, attempts=0, error_kind=None, error=None, reason=None)


def stale_partition(doc: PartitionStatus) -> PartitionStatus | None:
    """A finished (succeeded/degraded/blocked/failed) or cancelled document back to ``pending``
    with 0 attempts and reason ``stale`` (--force, invalidate); None for any other state."""
    if doc.state not in REARM_STATES:
        return None
    return _unleased(doc, State.PENDING, attempts=0, error_kind=None, error=None, reason=STALE)


def cancel_partition(doc: PartitionStatus, reason: str) -> PartitionStatus | None:
    """A ``pending`` document (planned, not started) to ``cancelled`` with ``reason`` (who
    cancelled which run); None for any other state: running work finishes, finished work stays.
    Attempts are kept; no worker takes a cancelled document, the next plan re-arms it.

    Raises:
        BadInput: ``reason`` is empty.
    """
    if not reason:
        raise BadInput("cancel needs a reason (who cancelled which run)")
    if doc.state is not State.PENDING:
        return None
    return _unleased(doc, State.CANCELLED, reason=reason)


def seed_partition(
    doc: PartitionStatus | None, processor: str, game_date: date, *, expected: bool
) -> PartitionStatus | None:
    """The document after planning: ``pending`` for an expected date with no document (or one
    that was ``not_expected``), ``not_expected`` (reason no_games) otherwise; None if unchanged."""
    if not expected:
        if doc is not None and doc.state is State.NOT_EXPECTED and doc.reason == NO_GAMES:
            return None
        return PartitionStatus(processor, game_date, State.NOT_EXPECTED, reason=NO_GAMES)
    if doc is None or doc.state is State.NOT_EXPECTED:
        return PartitionStatus(processor, game_date, State.PENDING)
    return None


def annotate_partition(
    doc: PartitionStatus | None, processor: str, game_date: date, state: State, reason: str
) -> PartitionStatus:
    """The document set to ``state`` from outside a lease (the gate's degraded, the runner's
    blocked), with ``reason`` kept for ``why``; any lease is cleared, attempts are kept.

    Raises:
        BadInput: ``state`` is not succeeded, degraded, blocked or failed.
    """
    if state not in STALE_STATES:
        allowed = ", ".join(sorted(STALE_STATES))
        raise BadInput(f"annotate state must be one of {allowed}, got {state}")
    base = doc or PartitionStatus(processor, game_date, state)
    errors: dict[str, Any] = {} if state is State.FAILED else {"error_kind": None, "error": None}
    return _unleased(base, state, reason=reason, **errors)

