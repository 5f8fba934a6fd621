"""The StatusStore port on Firestore (the cloud twin of ``adapters.local.sqlite_status``).

Collections (``{prefix}`` defaults to ``backcourt``):

* ``{prefix}_partitions``: one document per (processor, game_date), id
  ``{processor}__{game_date}``; ``game_date`` is ISO text (``YYYY-MM-DD``, so ranges sort), the
  lease and run times are Firestore timestamps;
* ``{prefix}_verdicts``: append-only gate history (auto ids; phase, game_date, verdict, reasons,
  metrics, run_id, decided_at, plus the server's ``recorded_at`` that orders the history);
* ``{prefix}_runs``: one document per run_id.

``metrics`` and ``summary`` are kept as JSON text, as on SQLite: Firestore refuses nested arrays.
Every read-modify-write asks ``backcourt.domain.transitions`` for the next document, so both
stores share one state machine; ``acquire`` writes it with an update-time precondition
(compare-and-set), every other change runs in a Firestore transaction.

No field is a TTL field, and no Firestore TTL policy may name one: a status document is the
partition's history (its attempt count, its last error, why it is final), and deleting it would
make a date that always kills its worker look never tried, so it would be retried forever across
runs. ``lease_expires_at`` is when a *lease* stops protecting the work (``transitions`` reads it;
``release_expired`` acts on it), not when the document may go; every timestamp here is data.

Queries that real Firestore serves only with composite indexes: partitions (processor,
game_date), verdicts (phase, game_date). The client is created on first use; with
``FIRESTORE_EMULATOR_HOST`` set it talks to the emulator without credentials. SDK errors become
TransientError or TerminalError (``map_error``).
"""

from __future__ import annotations

import builtins
import json
import logging
import random
import re
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import fields
from datetime import UTC, date, datetime, timedelta
from typing import Any, TypeVar

from google.api_core import exceptions as gexc
from google.auth import exceptions as auth_exc
from google.cloud import firestore
from google.cloud.firestore_v1.base_query import FieldFilter
from google.cloud.firestore_v1.field_path import FieldPath

from backcourt.domain import transitions as tr
from backcourt.domain.errors import BackcourtError, BadInput, TerminalError, TransientError
from backcourt.domain.status import GateVerdict, Outcome, PartitionStatus, RunRecord, State, Verdict

logger = logging.getLogger(__name__)

T = TypeVar("T")
_COLUMNS = tuple(f.name for f in fields(PartitionStatus))
_TIMES = frozenset({"lease_expires_at", "started_at", "finished_at"})
_PREFIX = re.compile(r"[A-Za-z0-9_-]{1,100}")
_MAX_WRITES = 500  # Firestore's limit of writes per transaction / batch
_MAX_IN = 30  # values in one ``in`` filter
_TX_ATTEMPTS = 5  # commit attempts inside one Firestore transaction call
_TX_ROUNDS = 6  # transaction calls before contention is reported as transient
_CAS_ROUNDS = 20  # compare-and-set rounds of one acquire
_TRANSIENT = (gexc.Aborted, gexc.DeadlineExceeded, gexc.ServiceUnavailable,
              gexc.TooManyRequests, gexc.InternalServerError, gexc.RetryError)


def map_error(exc: BaseException, what: str) -> BackcourtError:
    """The backcourt error for an SDK exception raised while doing ``what``.

    Aborted, deadline exceeded, unavailable, 429 and 500 are transient; other 4xx answers
    (invalid argument, permission denied, not found, failed precondition) and missing
    credentials are terminal; anything else is transient.
    """
    if isinstance(exc, BackcourtError):
        return exc
    text = f"firestore {what}: {type(exc).__name__}: {exc}"
    if isinstance(exc, _TRANSIENT) or _commit_exhausted(exc):
        return TransientError(text)
    if isinstance(exc, gexc.ClientError | auth_exc.DefaultCredentialsError):
        return TerminalError(text)
    return TransientError(text)


def _commit_exhausted(exc: BaseException) -> bool:
    """Whether ``exc`` is the SDK's "Failed to commit transaction in N attempts" (contention)."""
    return isinstance(exc, ValueError) and isinstance(exc.__cause__, gexc.Aborted)


def _name(value: str, what: str) -> str:
    """``value`` if it can be part of a document id, else BadInput naming ``what``."""
    if not value or "/" in value or value.startswith("__"):
        raise BadInput(f"{what} must be a non-empty name without '/', got {value!r}")
    return value


def _aware(moment: datetime | None, what: str) -> datetime | None:
    """``moment`` checked to be aware (None stays None)."""
    return None if moment is None else tr.require_aware(moment, what)


def _time(value: Any) -> datetime | None:
    """A stored timestamp as a plain aware UTC datetime (None stays None)."""
    return None if value is None else _stamp(value)


def _stamp(value: datetime) -> datetime:
    """A stored timestamp (the SDK's DatetimeWithNanoseconds) as a plain aware UTC datetime."""
    moment = value.astimezone(UTC)
    return datetime(moment.year, moment.month, moment.day, moment.hour, moment.minute,
                    moment.second, moment.microsecond, tzinfo=UTC)


def _encode(doc: PartitionStatus) -> dict[str, Any]:
    """A status document as Firestore fields."""
    data: dict[str, Any] = {}
    for name in _COLUMNS:
        value = getattr(doc, name)
        if name in _TIMES:
            value = _aware(value, name)
        elif isinstance(value, State):
            value = value.value
        elif isinstance(value, date):
            value = value.isoformat()
        data[name] = value
    return data


def _decode(data: Mapping[str, Any]) -> PartitionStatus:
    """Firestore fields as a status document."""
    values: dict[str, Any] = {name: data.get(name) for name in _COLUMNS}
    values["game_date"] = date.fromisoformat(values["game_date"])
    values["state"] = State(values["state"])
    for name in _TIMES:
        values[name] = _time(values[name])
    return PartitionStatus(**values)


def _run(data: Mapping[str, Any]) -> RunRecord:
    """A run document as a run record."""
    return RunRecord(data["run_id"], data["command"], _stamp(data["started_at"]), data["who"],
                     data["scope"], data["state"], _time(data.get("finished_at")),
                     json.loads(data["summary"]))


def _run_data(run: RunRecord) -> dict[str, Any]:
    return {
        "run_id": run.run_id, "command": run.command,
        "started_at": tr.require_aware(run.started_at, "started_at"), "who": run.who,
        "scope": run.scope, "state": run.state,
        "finished_at": _aware(run.finished_at, "finished_at"),
        "summary": json.dumps(run.summary, default=str),
    }


def _verdict_data(verdict: GateVerdict) -> dict[str, Any]:
    """The Firestore fields of one verdict (``recorded_at`` orders the history)."""
    return {
        "phase": verdict.phase, "game_date": verdict.game_date.isoformat(),
        "verdict": Verdict(verdict.verdict).value, "reasons": [str(r) for r in verdict.reasons],
        "metrics": json.dumps(verdict.metrics, default=str), "run_id": verdict.run_id,
        "decided_at": _aware(verdict.decided_at, "decided_at"),
        "recorded_at": firestore.SERVER_TIMESTAMP,
    }


def _chunks(items: Sequence[T], size: int) -> Iterator[Sequence[T]]:
    """``items`` in consecutive slices of at most ``size``."""
    for i in range(0, len(items), size):
        yield items[i:i + size]


class FirestoreStatusStore:
    """StatusStore on Firestore: leases are compare-and-set inside transactions.

    Args:
        project: the Google Cloud project (explicit; never guessed from the environment).
        collection_prefix: prefix of the three collections (tests use a unique one each).
        database: the Firestore database id.
        client_factory: builds the client on first use (default: ``firestore.Client``).
    """

    def __init__(self, project: str, collection_prefix: str = "backcourt",
                 database: str = "(default)",
                 client_factory: Callable[[], firestore.Client] | None = None) -> None:
        if not project:
            raise BadInput("FirestoreStatusStore needs an explicit project id")
        if not _PREFIX.fullmatch(collection_prefix):
            raise BadInput(f"collection_prefix must match {_PREFIX.pattern}, "
                           f"got {collection_prefix!r}")
        self.project = project
        self.database = database
        self.prefix = collection_prefix
        self._factory = client_factory
        self._db: firestore.Client | None = None
        self._guard = threading.Lock()
        self._closed = False

    # -- client, errors and transactions ------------------------------------------------------

    def _client(self) -> firestore.Client:
        if self._closed:
            raise TerminalError(f"status store {self.prefix} is closed")
        with self._guard, self._errors("client"):
            if self._db is None:
                if self._factory is not None:
                    self._db = self._factory()
                else:
                    self._db = firestore.Client(project=self.project, database=self.database)
            return self._db

    def _coll(self, kind: str) -> firestore.CollectionReference:
        return self._client().collection(f"{self.prefix}_{kind}")

    def _ref(self, processor: str, game_date: date) -> firestore.DocumentReference:
        doc_id = f"{_name(processor, 'processor')}__{game_date.isoformat()}"
        return self._coll("partitions").document(doc_id)

    @contextmanager
    def _errors(self, what: str) -> Iterator[None]:
        try:
            yield
        except BackcourtError:
            raise
        except (gexc.GoogleAPIError, auth_exc.GoogleAuthError) as exc:
            raise map_error(exc, what) from exc
        except ValueError as exc:
            if not _commit_exhausted(exc):
                raise
            raise map_error(exc, what) from exc

    def _in_tx(self, what: str, work: Callable[..., T], *args: Any) -> T:
        """Run ``work(transaction, *args)`` in a transaction; contention is retried with
        jittered backoff, then reported as TransientError."""
        with self._errors(what):
            client = self._client()
            for round_ in range(_TX_ROUNDS):
                txn = client.transaction(max_attempts=_TX_ATTEMPTS)
                try:
                    result: T = firestore.transactional(work)(txn, *args)
                    return result
                except (gexc.Aborted, ValueError) as exc:
                    if round_ == _TX_ROUNDS - 1 or not (
                            isinstance(exc, gexc.Aborted) or _commit_exhausted(exc)):
                        raise
                time.sleep(random.uniform(0.005, 0.02) * (2 ** round_))
            raise AssertionError("unreachable")

    @staticmethod
    def _read(ref: firestore.DocumentReference,
              txn: firestore.Transaction | None = None) -> PartitionStatus | None:
        snap = ref.get(transaction=txn)
        data = snap.to_dict() if snap.exists else None
        return None if data is None else _decode(data)

    def _read_many(self, txn: firestore.Transaction,
                   refs: Sequence[firestore.DocumentReference]) -> dict[str, PartitionStatus]:
        snaps = self._client().get_all(list(refs), transaction=txn)
        return {s.id: _decode(s.to_dict() or {}) for s in snaps if s.exists}

    def _rewrite(self, what: str, processor: str, dates: Iterable[date],
                 change: Callable[[PartitionStatus], PartitionStatus | None]) -> int:
        """Apply ``change`` to the existing documents of ``dates``, ≤ 500 per transaction."""
        refs = [self._ref(processor, d) for d in sorted(set(dates))]

        def work(txn: firestore.Transaction, chunk: Sequence[firestore.DocumentReference]) -> int:
            have = self._read_many(txn, chunk)
            new = [n for n in map(change, have.values()) if n is not None]
            for doc in new:
                txn.set(self._ref(doc.processor, doc.game_date), _encode(doc))
            return len(new)

        return sum(self._in_tx(what, work, chunk) for chunk in _chunks(refs, _MAX_WRITES))

    # -- partition documents ------------------------------------------------------------------

    def seed(self, processor: str, expected: Sequence[date], not_expected: Sequence[date]) -> None:
        _name(processor, "seed processor")
        tr.check_seed(expected, not_expected)
        plan = {d: True for d in expected} | {d: False for d in not_expected}
        days = sorted(plan)

        def work(txn: firestore.Transaction, chunk: Sequence[date]) -> None:
            have = self._read_many(txn, [self._ref(processor, d) for d in chunk])
            for d in chunk:
                current = have.get(f"{processor}__{d.isoformat()}")
                new = tr.seed_partition(current, processor, d, expected=plan[d])
                if new is not None:
                    txn.set(self._ref(processor, d), _encode(new))

        for chunk in _chunks(days, _MAX_WRITES):
            self._in_tx("seed", work, chunk)

    def acquire(self, processor: str, game_date: date, *, owner: str, run_id: str,
                ttl: timedelta, now: datetime, last: bool = False) -> PartitionStatus | None:
        """Take the lease by compare-and-set: read the document, ask ``transitions.take_lease``,
        write only if the document's update time is still the one read (a Firestore write
        precondition, atomic on the server). A lost race re-reads and decides again. Unlike a
        read-locking transaction this never waits on another worker's lock, which on the
        emulator costs a 2 s lock timeout per collision."""
        tr.require_aware(now)
        tr.require_ttl(ttl)
        ref = self._ref(processor, game_date)
        for _ in range(_CAS_ROUNDS):
            with self._errors("acquire"):
                snap = ref.get()
                data = snap.to_dict() if snap.exists else None
                new = tr.take_lease(None if data is None else _decode(data), owner=owner,
                                    run_id=run_id, ttl=ttl, now=now, last=last)
                if new is None:
                    return None
                guard = self._client().write_option(last_update_time=snap.update_time)
                try:
                    ref.update(_encode(new), option=guard)
                except gexc.FailedPrecondition:
                    continue  # someone wrote it since we read it: decide again
            return new if tr.granted(new, owner) else None
        raise TransientError(f"acquire: lost the compare-and-set {_CAS_ROUNDS} times in a row",
                             processor=processor, game_date=game_date)

    def renew(self, processor: str, game_date: date, owner: str, ttl: timedelta,
              now: datetime) -> bool:
        tr.require_aware(now)
        tr.require_ttl(ttl)
        ref = self._ref(processor, game_date)

        def work(txn: firestore.Transaction) -> bool:
            new = tr.renew_lease(self._read(ref, txn), owner, ttl, now)
            if new is not None:
                txn.set(ref, _encode(new))
            return new is not None

        return self._in_tx("renew", work)

    def finish(self, processor: str, game_date: date, owner: str, outcome: Outcome,
               now: datetime) -> PartitionStatus:
        tr.require_aware(now)
        ref = self._ref(processor, game_date)

        def work(txn: firestore.Transaction) -> PartitionStatus:
            new = tr.finish_lease(self._read(ref, txn), owner, outcome, now)
            txn.set(ref, _encode(new))
            return new

        return self._in_tx("finish", work)

    def release_expired(self, now: datetime, dead_owners: Sequence[str] = ()) -> int:
        tr.require_aware(now)
        dead = frozenset(dead_owners)
        with self._errors("release_expired"):
            running = self._coll("partitions").where(
                filter=FieldFilter("state", "==", State.RUNNING.value)).stream()
            due = [d for d in (_decode(s.to_dict() or {}) for s in running)
                   if tr.release_lease(d, now, dead) is not None]

        def work(txn: firestore.Transaction, doc: PartitionStatus) -> int:
            ref = self._ref(doc.processor, doc.game_date)
            current = self._read(ref, txn)
            new = None if current is None else tr.release_lease(current, now, dead)
            if new is not None:
                txn.set(ref, _encode(new))
            return int(new is not None)

        changed = sum(self._in_tx("release_expired", work, doc) for doc in due)
        if changed:
            logger.info("released %d expired or orphaned leases", changed)
        return changed

    def reset(self, processor: str, dates: Sequence[date], states: Sequence[State]) -> int:
        wanted = frozenset(State(s) for s in states)
        return self._rewrite("reset", processor, dates, lambda d: tr.reset_partition(d, wanted))

    def mark_stale(self, processor: str, dates: Sequence[date]) -> int:
        return self._rewrite("mark_stale", processor, dates, tr.stale_partition)

    def cancel(self, processor: str, dates: Sequence[date], reason: str) -> int:
        if not reason:
            raise BadInput("cancel needs a reason (who cancelled which run)")
        return self._rewrite("cancel", processor, dates,
                             lambda d: tr.cancel_partition(d, reason))

    def annotate(self, processor: str, game_date: date, state: State, reason: str) -> None:
        ref = self._ref(processor, game_date)

        def work(txn: firestore.Transaction) -> None:
            new = tr.annotate_partition(self._read(ref, txn), processor, game_date, state, reason)
            txn.set(ref, _encode(new))

        self._in_tx("annotate", work)

    def get(self, processor: str, game_date: date) -> PartitionStatus | None:
        ref = self._ref(processor, game_date)
        with self._errors("get"):
            return self._read(ref)

    def _range(self, processors: Sequence[str] | None, start: date, end: date,
               select: Sequence[str] | None = None) -> list[dict[str, Any]]:
        """Fields of the partition documents in the range (of ``processors``, all when None)."""
        tr.require_range(start, end)
        query = self._coll("partitions").where(
            filter=FieldFilter("game_date", ">=", start.isoformat())).where(
            filter=FieldFilter("game_date", "<=", end.isoformat()))
        if select is not None:
            query = query.select(list(select))
        queries = [query] if processors is None else [
            query.where(filter=FieldFilter("processor", "in", list(chunk)))
            for chunk in _chunks(sorted({_name(p, "processor") for p in processors}), _MAX_IN)]
        with self._errors("query"):
            return [s.to_dict() or {} for q in queries for s in q.stream()]

    def list(self, processors: Sequence[str] | None, start: date,
             end: date) -> builtins.list[PartitionStatus]:
        docs = [_decode(data) for data in self._range(processors, start, end)]
        return sorted(docs, key=lambda d: (d.processor, d.game_date))

    def counts(self, processors: Sequence[str] | None, start: date,
               end: date) -> dict[tuple[str, State], int]:
        found: dict[tuple[str, State], int] = {}
        for data in self._range(processors, start, end, select=("processor", "state")):
            key = (str(data["processor"]), State(data["state"]))
            found[key] = found.get(key, 0) + 1
        return found

    # -- gate verdicts and runs -----------------------------------------------------------------

    def record_verdict(self, verdict: GateVerdict) -> None:
        self.record_verdicts([verdict])

    def record_verdicts(self, verdicts: Sequence[GateVerdict]) -> None:
        for part in _chunks(verdicts, _MAX_WRITES):
            with self._errors("record_verdicts"):
                batch = self._client().batch()
                for verdict in part:
                    batch.set(self._coll("verdicts").document(), _verdict_data(verdict))
                batch.commit()

    def verdicts(self, phase: str | None, start: date, end: date) -> builtins.list[GateVerdict]:
        tr.require_range(start, end)
        query = self._coll("verdicts").where(
            filter=FieldFilter("game_date", ">=", start.isoformat())).where(
            filter=FieldFilter("game_date", "<=", end.isoformat()))
        if phase is not None:
            query = query.where(filter=FieldFilter("phase", "==", phase))
        with self._errors("verdicts"):
            snaps = [(s.id, s.to_dict() or {}) for s in query.stream()]
        snaps.sort(key=lambda s: (s[1]["recorded_at"], s[0]))
        return [
            GateVerdict(d["phase"], date.fromisoformat(d["game_date"]), Verdict(d["verdict"]),
                        tuple(d.get("reasons") or ()), json.loads(d["metrics"]), d.get("run_id"),
                        _time(d.get("decided_at")))
            for _, d in snaps
        ]

    def record_run(self, run: RunRecord) -> None:
        ref = self._coll("runs").document(_name(run.run_id, "run_id"))
        with self._errors("record_run"):
            ref.set(_run_data(run))

    def claim_run(self, run: RunRecord) -> bool:
        """``create()``: Firestore refuses it with ALREADY_EXISTS when the document exists."""
        ref = self._coll("runs").document(_name(run.run_id, "run_id"))
        with self._errors("claim_run"):
            try:
                ref.create(_run_data(run))
            except gexc.AlreadyExists:
                return False
        return True

    def runs(self, limit: int = 50) -> builtins.list[RunRecord]:
        if limit < 0:
            raise BadInput(f"runs limit must be >= 0, got {limit}")
        if limit == 0:
            return []
        query = self._coll("runs").order_by(
            "started_at", direction=firestore.Query.DESCENDING).order_by(
            FieldPath.document_id(), direction=firestore.Query.DESCENDING).limit(limit)
        with self._errors("runs"):
            rows = [s.to_dict() or {} for s in query.stream()]
        return [_run(r) for r in rows]

    def get_run(self, run_id: str) -> RunRecord | None:
        ref = self._coll("runs").document(_name(run_id, "run_id"))
        with self._errors("get_run"):
            snap = ref.get()
        data = snap.to_dict() if snap.exists else None
        return None if data is None else _run(data)

    def close(self) -> None:
        with self._guard:
            self._closed = True
            db, self._db = self._db, None
        transport = getattr(getattr(db, "_firestore_api_internal", None), "transport", None)
        closer = getattr(transport, "close", None)
        if callable(closer):
            closer()
