"""The TableLocks port on Firestore: one lease document per locked name, and ``held``.

Collection ``{prefix}_table_locks``; document id = the locked name with ``/`` replaced (table
references have none); fields ``owner``, ``expires_at`` (a timestamp) and ``acquired_at``.
Every change is a compare-and-set: the document is read, the decision is made in Python, and
the write carries a precondition the server checks atomically (``create`` when the document
is absent, ``last_update_time`` when it exists). A lost race reads and decides again; nobody
ever waits on a Firestore lock. With ``FIRESTORE_EMULATOR_HOST`` set the client talks to the
emulator without credentials.

``held(locks, name, ...)`` is the caller's side, for any TableLocks: poll with exponential
backoff and full jitter for a bounded time, then give up with TransientError (Pub/Sub
redelivers the message later); release in ``finally``.
"""

from __future__ import annotations

import logging
import os
import random
import socket
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

from google.api_core import exceptions as gexc
from google.cloud import firestore

from backcourt.adapters.gcp.errors import map_gcp_error
from backcourt.domain.errors import BackcourtError, BadInput, TransientError
from backcourt.ports import TableLocks

log = logging.getLogger(__name__)

_CAS_ROUNDS = 20


def lock_owner() -> str:
    """A unique owner id for one holder: ``host:pid:token``."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:12]}"


def _expiry(value: Any) -> datetime:
    moment: datetime = value.astimezone(UTC)
    return moment


class FirestoreTableLocks:
    """TableLocks on Firestore (compare-and-set on one document per name).

    Args:
        project: the Google Cloud project.
        collection_prefix: the collection is ``{prefix}_table_locks``.
        client_factory: builds the client on first use (default ``firestore.Client``).
        now: the clock (tests move it to expire locks).
    """

    def __init__(self, project: str, collection_prefix: str = "backcourt", *,
                 database: str = "(default)",
                 client_factory: Callable[[], firestore.Client] | None = None,
                 now: Callable[[], datetime] = lambda: datetime.now(UTC)) -> None:
        if not project:
            raise BadInput("FirestoreTableLocks needs an explicit project id")
        self.project = project
        self.database = database
        self.collection = f"{collection_prefix}_table_locks"
        self._factory = client_factory
        self._db: firestore.Client | None = None
        self.now = now

    def _client(self) -> firestore.Client:
        if self._db is None:
            self._db = (self._factory() if self._factory
                        else firestore.Client(project=self.project, database=self.database))
        return self._db

    def _ref(self, name: str) -> firestore.DocumentReference:
        if not name:
            raise BadInput("a lock needs a name")
        return self._client().collection(self.collection).document(name.replace("/", "_"))

    def acquire(self, name: str, owner: str, ttl: timedelta) -> bool:
        try:
            for _ in range(_CAS_ROUNDS):
                got = self._try_acquire(name, owner, ttl)
                if got is not None:
                    return got
        except BackcourtError:
            raise
        except Exception as exc:
            raise map_gcp_error(exc, f"lock {name}") from exc
        raise TransientError(f"lock {name}: lost the compare-and-set {_CAS_ROUNDS} times")

    def _try_acquire(self, name: str, owner: str, ttl: timedelta) -> bool | None:
        """True/False when decided; None when a concurrent write won the race (decide again)."""
        ref, now = self._ref(name), self.now()
        snap = ref.get()
        data = snap.to_dict() if snap.exists else None
        if data and data["owner"] != owner and _expiry(data["expires_at"]) > now:
            return False
        doc = {"owner": owner, "expires_at": now + ttl,
               "acquired_at": data["acquired_at"] if data and data["owner"] == owner else now}
        try:
            if data is None:
                ref.create(doc)
            else:
                ref.update(doc, option=self._client().write_option(
                    last_update_time=snap.update_time))
        except (gexc.Conflict, gexc.FailedPrecondition):
            return None
        return True

    def release(self, name: str, owner: str) -> bool:
        ref = self._ref(name)
        try:
            for _ in range(_CAS_ROUNDS):
                snap = ref.get()
                data = snap.to_dict() if snap.exists else None
                if data is None or data["owner"] != owner:
                    return False
                try:
                    ref.delete(option=self._client().write_option(
                        last_update_time=snap.update_time))
                except gexc.FailedPrecondition:
                    continue
                return True
        except Exception as exc:
            raise map_gcp_error(exc, f"unlock {name}") from exc
        return False

    def holder(self, name: str) -> tuple[str, datetime] | None:
        try:
            snap = self._ref(name).get()
        except Exception as exc:
            raise map_gcp_error(exc, f"lock holder {name}") from exc
        data = snap.to_dict() if snap.exists else None
        return None if data is None else (str(data["owner"]), _expiry(data["expires_at"]))


@contextmanager
def held(locks: TableLocks, name: str, *, ttl: timedelta, wait_s: float,
         first_pause_s: float = 0.2, max_pause_s: float = 5.0,
         sleep: Callable[[float], None] = time.sleep) -> Iterator[Callable[[], bool]]:
    """Hold the lock of ``name`` for the body; yields ``extend()`` (True while still held).

    Waits for a busy lock with exponential backoff and full jitter, at most ``wait_s``.

    Raises:
        TransientError: the lock stayed busy for ``wait_s`` (the message is redelivered).
    """
    owner = lock_owner()
    deadline, pause = time.monotonic() + wait_s, first_pause_s
    while not locks.acquire(name, owner, ttl):
        left = deadline - time.monotonic()
        if left <= 0:
            busy = locks.holder(name)
            raise TransientError(f"table {name} is being written by "
                                 f"{busy[0] if busy else 'someone'}; waited {wait_s:g} s")
        sleep(min(random.uniform(0, pause), left))
        pause = min(pause * 2, max_pause_s)
    try:
        yield lambda: locks.acquire(name, owner, ttl)
    finally:
        try:
            if not locks.release(name, owner):
                log.warning("lock %s had been taken over before release (owner %s)", name, owner)
        except Exception:  # noqa: BLE001 - the lock expires anyway; the write is what matters
            log.warning("could not release lock %s (owner %s)", name, owner, exc_info=True)
