"""The table writer lock (``FirestoreTableLocks``) on the Firestore emulator.

The lock is atomic without a transaction because every write carries a Firestore
precondition: "A precondition on a document, used for conditional operations." "Exists: When
set to false, the target document must not exist." (``create``) and "UpdateTime: When set, the
target document must exist and have been last updated at that time." (an update or delete with
``last_update_time``): https://cloud.google.com/dotnet/docs/reference/Google.Cloud.Firestore.V1/latest/Google.Cloud.Firestore.V1.Precondition
"""

from __future__ import annotations

import threading
import uuid
from datetime import UTC, datetime, timedelta

import pytest

from backcourt.adapters.gcp.firestore_locks import FirestoreTableLocks, held
from backcourt.domain.errors import TransientError

pytestmark = pytest.mark.emulator

TABLE = "demo.t_nba_analytics.pts"
TTL = timedelta(seconds=240)


class Clock:
    def __init__(self) -> None:
        self.at = datetime(2026, 1, 1, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.at


def _locks(firestore_emulator: str, clock: Clock | None = None) -> FirestoreTableLocks:
    prefix = f"l{uuid.uuid4().hex[:8]}"
    return FirestoreTableLocks("demo", collection_prefix=prefix,
                               **({"now": clock} if clock else {}))


def test_two_holders_exclude_each_other(firestore_emulator: str) -> None:
    locks = _locks(firestore_emulator)
    assert locks.acquire(TABLE, "a", TTL)
    assert not locks.acquire(TABLE, "b", TTL)
    assert locks.acquire(TABLE, "a", TTL)  # the holder extends it
    assert locks.release(TABLE, "a")
    assert locks.acquire(TABLE, "b", TTL)
    assert locks.holder(TABLE) is not None and locks.holder(TABLE)[0] == "b"  # type: ignore[index]


def test_of_many_racing_for_a_free_lock_exactly_one_wins(firestore_emulator: str) -> None:
    locks = _locks(firestore_emulator)
    won: list[str] = []
    gate = threading.Barrier(6)

    def race(owner: str) -> None:
        gate.wait()
        if locks.acquire(TABLE, owner, TTL):
            won.append(owner)

    threads = [threading.Thread(target=race, args=(f"w{i}",)) for i in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert len(won) == 1


def test_an_expired_lock_is_taken_over(firestore_emulator: str) -> None:
    clock = Clock()
    locks = _locks(firestore_emulator, clock)
    assert locks.acquire(TABLE, "dead-worker", TTL)
    clock.at += TTL - timedelta(seconds=1)
    assert not locks.acquire(TABLE, "b", TTL)
    clock.at += timedelta(seconds=2)
    assert locks.acquire(TABLE, "b", TTL)
    assert locks.holder(TABLE) == ("b", clock.at + TTL)


def test_release_by_a_non_owner_is_refused(firestore_emulator: str) -> None:
    clock = Clock()
    locks = _locks(firestore_emulator, clock)
    assert locks.acquire(TABLE, "a", TTL)
    assert not locks.release(TABLE, "b")
    assert locks.holder(TABLE) == ("a", clock.at + TTL)
    clock.at += TTL * 2
    assert locks.acquire(TABLE, "b", TTL)
    assert not locks.release(TABLE, "a")  # a's lock expired and was taken over: b keeps it
    assert locks.holder(TABLE) == ("b", clock.at + TTL)
    assert not locks.release("demo.never.locked", "a")


def test_held_waits_then_gives_up_with_a_transient_error(firestore_emulator: str) -> None:
    locks = _locks(firestore_emulator)
    assert locks.acquire(TABLE, "other-instance", TTL)
    with pytest.raises(TransientError, match="being written by other-instance"), \
            held(locks, TABLE, ttl=TTL, wait_s=0.5):
        pass
    assert locks.release(TABLE, "other-instance")
    with held(locks, TABLE, ttl=TTL, wait_s=0.5) as extend:
        assert extend()
        busy = locks.holder(TABLE)
        assert busy is not None and busy[0] != "other-instance"
    assert locks.holder(TABLE) is None  # released on the way out
