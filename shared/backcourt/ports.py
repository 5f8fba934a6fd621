"""Ports: the interfaces the services use, with one adapter per backend behind each.

``Warehouse`` (DuckDB locally, BigQuery in the cloud), ``StatusStore`` (SQLite / Firestore),
``Bucket`` (a folder / GCS), ``Clock`` and, for warehouses shared by many processes,
``TableLocks`` (one writer per table across instances; Firestore in the cloud). Adapters live
in ``backcourt.adapters``; the composition root ``backcourt.bootstrap`` picks them and hands
them to the services as one
``Services``, with the settings the services read (``ServiceSettings``).
"""

from __future__ import annotations

import builtins
import os
import socket
from collections.abc import Iterator, Mapping, Sequence
from concurrent.futures import Executor
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, Any, Protocol, overload, runtime_checkable

from backcourt.domain.schema import Table
from backcourt.domain.status import GateVerdict, Outcome, PartitionStatus, RunRecord, State
from backcourt.domain.thresholds import Thresholds

if TYPE_CHECKING:
    import pyarrow as pa


@dataclass(frozen=True)
class SqlSource:
    """Rows produced by a SELECT in BigQuery dialect; ``@start_date``/``@end_date`` are bound."""

    sql: str
    params: Mapping[str, Any] = field(default_factory=dict)


class ArrowRows(Sequence[dict[str, Any]]):
    """Rows held as one ``pyarrow.Table`` (columns named and typed as the output table's): what
    the phase-2 loaders build, column by column. It reads as a sequence of row dicts for the
    code that goes row by row (the BigQuery CSV load, tests); the DuckDB warehouse hands the
    table to DuckDB as it is (no row dicts made, nothing pickled per row between processes)."""

    def __init__(self, table: Any) -> None:
        self.table = table

    def __len__(self) -> int:
        return int(self.table.num_rows)

    @overload
    def __getitem__(self, index: int) -> dict[str, Any]: ...

    @overload
    def __getitem__(self, index: slice) -> list[dict[str, Any]]: ...

    def __getitem__(self, index: int | slice) -> dict[str, Any] | list[dict[str, Any]]:
        if isinstance(index, slice):
            return [self[i] for i in range(*index.indices(len(self)))]
        if index < 0:
            index += len(self)
        if not 0 <= index < len(self):
            raise IndexError(index)
        rows: list[dict[str, Any]] = self.table.slice(index, 1).to_pylist()
        return rows[0]

    def __iter__(self) -> Iterator[dict[str, Any]]:
        for batch in self.table.to_batches(max_chunksize=4096):
            yield from batch.to_pylist()

    def __eq__(self, other: object) -> bool:
        if isinstance(other, ArrowRows):
            return bool(self.table.equals(other.table))
        if isinstance(other, Sequence) and not isinstance(other, str | bytes):
            return list(self) == list(other)
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"ArrowRows({len(self)} rows)"


def join_rows(parts: Sequence[Sequence[Mapping[str, Any]]]) -> Sequence[Mapping[str, Any]]:
    """The rows of ``parts`` one after the other: one ArrowRows when every non-empty part is
    one (their tables concatenated), else a list of row dicts."""
    full = [p for p in parts if len(p)]
    if full and all(isinstance(p, ArrowRows) for p in full):
        import pyarrow as pa

        return ArrowRows(pa.concat_tables([p.table for p in full]))  # type: ignore[attr-defined]
    return [row for part in full for row in part]


@dataclass(frozen=True)
class RowsSource:
    """Rows produced in Python (phase-2 parsers): dicts keyed by the table's column names, or
    an :class:`ArrowRows`."""

    rows: Sequence[Mapping[str, Any]]


@dataclass(frozen=True)
class WriteResult:
    """What a replace did, per date: rows now present, rows before, dates refused by the guard."""

    rows_by_date: dict[date, int]
    previous_by_date: dict[date, int]
    refused: dict[date, tuple[int, int]] = field(default_factory=dict)  # date → (before, new)


def job_key(run_id: str, processor: str, start: date, end: date, attempt: int) -> str:
    """The idempotency key of one write: ``{run_id}_{processor}_{start}_{end}_{attempt}``.

    The same unit of work retried within one attempt gets the same key, so a warehouse that
    names its jobs after it (BigQuery) finds the jobs it already ran instead of running them
    twice; the next attempt gets a new key.
    """
    return f"{run_id}_{processor}_{start.isoformat()}_{end.isoformat()}_{attempt}"


class Warehouse(Protocol):
    """The analytical store. SQL handed to it is BigQuery dialect; adapters translate."""

    dialect: str
    supports_transactions: bool

    def ensure_tables(self, tables: Sequence[Table]) -> None:
        """Create missing datasets and tables (partitioned on game_date, clustered).

        Args:
            tables: the registry's table declarations.
        """
        ...

    def replace(
        self,
        table: Table,
        days: Sequence[date],
        source: SqlSource | RowsSource,
        *,
        max_shrink: float,
        force: bool = False,
        job_key: str | None = None,
    ) -> WriteResult:
        """Replace exactly ``days`` of ``table`` with the source's rows, atomically.

        One transaction: delete the dates, insert the new rows for them. A date whose row count
        would fall by more than ``max_shrink`` (a fraction) keeps its old rows and is reported in
        ``refused`` unless ``force``. Rows the source yields for other dates are ignored.

        Args:
            table: the output table.
            days: the dates this unit of work owns.
            source: the rows (SQL gets ``@start_date``/``@end_date`` = min/max of ``days``).
            max_shrink: largest allowed relative drop of a date's row count (0.5 = 50 %).
            force: write even when the guard would refuse.
            job_key: the write's idempotency key (``job_key()``); a warehouse that runs jobs
                names them after it and reuses a job it already finished. None: fresh ids.
        Returns:
            Per-date counts after and before the write, and the refused dates.
        Raises:
            TransientError: lock conflicts, timeouts; TerminalError: SQL or schema errors.
        """
        ...

    def query(
        self, sql: str, params: Mapping[str, Any] | None = None, *, timeout_s: float | None = None
    ) -> list[dict[str, Any]]:
        """Run a read-only query (BigQuery dialect, ``@name`` parameters) and return its rows.

        Raises:
            WarehouseTimeout: the query ran past ``timeout_s`` and was cancelled.
        """
        ...

    def query_arrow(
        self, sql: str, params: Mapping[str, Any] | None = None, *, timeout_s: float | None = None
    ) -> pa.Table:
        """``query``, returned as one ``pyarrow.Table`` (one column per selected column, in
        order, NULL as null): the same rows and values as ``query``, without a Python object per
        cell, for readers that turn the rows into arrays (the models' feature matrices).

        Raises:
            WarehouseTimeout: the query ran past ``timeout_s`` and was cancelled.
        """
        ...

    def close(self) -> None:
        """Release connections."""
        ...


class TableLocks(Protocol):
    """Leases on names (one per warehouse table) shared by every process of a deployment.

    A lock is held by one ``owner`` until it releases it or its expiry passes; an expired lock
    may be taken by anyone. BigQuery cancels the second of two transactions that mutate one
    table at the same time, so the BigQuery warehouse holds the table's lock while it counts and
    commits. The expiry must be shorter than the function timeout, so a killed holder never
    blocks the table past the redelivery of its message.
    """

    def acquire(self, name: str, owner: str, ttl: timedelta) -> bool:
        """Take the lock of ``name`` for ``ttl`` if it is free, expired, or held by ``owner``
        already (then the expiry is extended), atomically.

        Args:
            name: what is locked (a table reference).
            owner: who asks; unique per holder (host, pid and a per-call token).
            ttl: how long the lock lasts unless released or extended.
        Returns:
            Whether ``owner`` holds the lock now.
        Raises:
            TransientError: the lock store is unavailable.
        """
        ...

    def release(self, name: str, owner: str) -> bool:
        """Release the lock of ``name`` if ``owner`` holds it.

        Returns:
            True when it was released; False when someone else holds it (it expired and was
            taken over) or nobody does: the lock is left as it is.
        """
        ...

    def holder(self, name: str) -> tuple[str, datetime] | None:
        """The owner and expiry of the lock of ``name``, or None when nobody holds it."""
        ...


class StatusStore(Protocol):
    """Per-(processor, game_date) status documents, gate verdicts and run records."""

    def seed(self, processor: str, expected: Sequence[date], not_expected: Sequence[date]) -> None:
        """Create ``pending`` documents for expected dates that have none, and set
        ``not_expected`` (reason no_games) on the others, whatever they held before."""
        ...

    def acquire(
        self,
        processor: str,
        game_date: date,
        *,
        owner: str,
        run_id: str,
        ttl: timedelta,
        now: datetime,
        last: bool = False,
    ) -> PartitionStatus | None:
        """Take the lease in one transaction and count an attempt.

        Takes it when the state is ``pending``, or ``running`` with an expired lease, or
        ``running`` under a live lease of ``owner`` itself (a redelivery of the same message
        reclaims it: ``transitions.take_lease``). An absent document is never created here (the
        planner seeds first; absent means "not planned"). A partition that has used
        MAX_ATTEMPTS and would need another lease is marked ``failed``. ``last``: the asking
        delivery is its message's last, so the date ends final whatever happens to it.
        Returns the new document, or None when another owner holds a live lease, the partition
        is absent, or it is finished (succeeded, degraded, failed, blocked, not_expected).
        """
        ...

    def renew(self, processor: str, game_date: date, owner: str, ttl: timedelta,
              now: datetime) -> bool:
        """Extend a lease this owner holds; False when it no longer holds it."""
        ...

    def finish(self, processor: str, game_date: date, owner: str, outcome: Outcome,
               now: datetime) -> PartitionStatus:
        """Record the outcome of a leased partition and clear the lease.

        A transient failure with fewer than MAX_ATTEMPTS attempts goes back to ``pending``;
        otherwise ``failed`` is final until an operator reset.

        Raises:
            TransientError: the owner no longer holds the lease (someone took it over).
        """
        ...

    def release_expired(self, now: datetime, dead_owners: Sequence[str] = ()) -> int:
        """Return running partitions whose lease expired (or whose owner is known dead) to
        ``pending``, or to ``failed`` when they have used every attempt. Returns how many."""
        ...

    def reset(self, processor: str, dates: Sequence[date], states: Sequence[State]) -> int:
        """Operator reset: partitions in ``states`` go back to ``pending`` with 0 attempts."""
        ...

    def mark_stale(self, processor: str, dates: Sequence[date]) -> int:
        """Re-arm finished partitions because their output is stale (--force, invalidate).

        Args:
            processor: the processor whose partitions to re-arm.
            dates: the game dates to re-arm (dates without a document are ignored).
        Returns:
            How many documents went from succeeded/degraded/blocked/failed to ``pending`` with 0
            attempts (running, pending and not_expected ones are left alone).
        """
        ...

    def cancel(self, processor: str, dates: Sequence[date], reason: str) -> int:
        """Mark ``pending`` partitions ``cancelled`` (a cancelled run's work not yet started).

        Args:
            processor: the processor whose partitions to cancel.
            dates: the game dates (dates without a document are ignored).
            reason: who cancelled which run, kept for ``why``.
        Returns:
            How many documents went from pending to cancelled (running and finished ones are
            left alone; the next plan re-arms cancelled ones).
        """
        ...

    def counts(self, processors: Sequence[str] | None, start: date,
               end: date) -> dict[tuple[str, State], int]:
        """How many documents each (processor, state) has in a date range (one aggregate query).

        Args:
            processors: the processors to count (all when None).
            start: first game_date, inclusive.
            end: last game_date, inclusive.
        Returns:
            ``{(processor, state): count}``; pairs with no documents are absent.
        """
        ...

    def annotate(self, processor: str, game_date: date, state: State, reason: str) -> None:
        """Set a partition's state from outside a lease: the gate marks a succeeded date
        ``degraded`` when the warehouse shows it incomplete, the runner marks dates ``blocked``
        when readiness blocks them (``domain.readiness``). The reason is kept for ``why``."""
        ...

    def get(self, processor: str, game_date: date) -> PartitionStatus | None:
        """One document, or None."""
        ...

    def list(self, processors: Sequence[str] | None, start: date,
             end: date) -> list[PartitionStatus]:
        """Documents of these processors (all when None) with start ≤ game_date ≤ end."""
        ...

    def record_verdict(self, verdict: GateVerdict) -> None:
        """Persist a gate verdict (kept as history, newest wins)."""
        ...

    def record_verdicts(self, verdicts: Sequence[GateVerdict]) -> None:
        """Persist many gate verdicts at once, in order (the gate records one per processor
        and date it measured, then the phase's).

        Args:
            verdicts: the verdicts; ``phase`` is a phase value ("3") for a phase verdict or a
                processor name for one processor's check.
        """
        ...

    def verdicts(self, phase: str | None, start: date,
                 end: date) -> builtins.list[GateVerdict]:
        """Gate verdict history for the phase (all when None) in the date range, oldest first."""
        ...

    def record_run(self, run: RunRecord) -> None:
        """Create or update a run record (keyed by run_id)."""
        ...

    def claim_run(self, run: RunRecord) -> bool:
        """Create the run record only if no record has its run_id (atomically: of two
        concurrent claims exactly one wins); True when this call created it."""
        ...

    def runs(self, limit: int = 50) -> builtins.list[RunRecord]:
        """The newest run records first."""
        ...

    def get_run(self, run_id: str) -> RunRecord | None:
        """One run record, or None (the runner polls it for a cancel request)."""
        ...

    def close(self) -> None:
        """Release connections."""
        ...


@runtime_checkable
class DryRunner(Protocol):
    """A warehouse that can price a query before running it (BigQuery's dry run). DuckDB has
    no such thing: on the embedded default the bytes a query scans are unknown."""

    def dry_run(self, sql: str, params: Mapping[str, Any] | None = None) -> int:
        """Bytes the query would process (BigQuery dialect, ``@name`` parameters); nothing runs.

        Raises:
            TransientError | TerminalError: the service refused or failed the dry run.
        """
        ...


@dataclass(frozen=True)
class ObjectVersion:
    """One version of a bucket object (GCS: a generation of the object)."""

    path: str
    generation: int
    """GCS object generation; locally the write time in microseconds. Grows with every write."""
    updated: datetime
    size: int
    live: bool
    """The current version (the others are noncurrent, kept by versioning)."""


class Bucket(Protocol):
    """Object storage for raw files, quarantine, model artifacts and exports."""

    def write(self, path: str, data: bytes) -> None:
        """Write (or overwrite) an object."""
        ...

    def read(self, path: str) -> bytes:
        """Read an object. Raises FileNotFoundError when absent."""
        ...

    def list(self, prefix: str) -> list[str]:
        """Paths under a prefix, sorted."""
        ...

    def exists(self, path: str) -> bool:
        """Whether an object exists."""
        ...

    def move(self, src: str, dst: str) -> None:
        """Move an object (used to quarantine bad raw files)."""
        ...

    def versions(self, path: str) -> builtins.list[ObjectVersion]:
        """Every kept version of an object, oldest first; the live one (if any) is last with
        ``live`` true. An overwrite keeps the previous version (GCS Object Versioning in the
        cloud, a hidden folder locally); an empty list when the object never existed."""
        ...

    def read_version(self, path: str, generation: int) -> bytes:
        """Read one version of an object. Raises FileNotFoundError when it is not kept."""
        ...


class Clock(Protocol):
    """Current time (aware, UTC). Tests freeze it."""

    def now(self) -> datetime:
        """The current instant."""
        ...


@dataclass(frozen=True)
class ComputeContext:
    """What a Python processor of phases 5A/6 receives: the adapters and the dates it owns.

    Its callable (``Processor.python``) returns the rows of its table for ``days``; the runner
    writes them with the same atomic per-date replace as SQL processors.
    """

    warehouse: Warehouse
    bucket: Bucket
    days: Sequence[date]
    run_id: str
    pool: Executor | None = None
    """Worker processes for the unit's pure-Python work (the local runner's pool for large
    runs, ``backcourt.services.cpu_pool``); None: do it in the calling thread."""


class ServiceSettings(Protocol):
    """The settings the services read, and nothing else: ``backcourt.config.Settings`` is one.

    The services see the settings only as ``Services.settings``; how they are loaded (the
    environment) and the adapters' own configuration (paths, projects, endpoints) stay with
    ``backcourt.config`` and ``backcourt.bootstrap``.
    """

    @property
    def backend(self) -> str:
        """``local`` (the embedded default) or ``gcp``."""
        ...

    @property
    def workers(self) -> int:
        """Threads running units of work at once."""
        ...

    @property
    def cpu_processes(self) -> int:
        """Worker processes for pure-Python work in large local runs (below 2: none)."""
        ...

    @property
    def chunk_days(self) -> int:
        """Dates per unit of work for a backfill."""
        ...

    @property
    def lease_ttl_s(self) -> int:
        """Lease length in seconds."""
        ...

    @property
    def max_shrink(self) -> float:
        """Largest allowed drop of a date's row count before a write is refused."""
        ...

    @property
    def query_timeout_s(self) -> float:
        """Deadline of one warehouse query."""
        ...

    @property
    def thresholds(self) -> Thresholds:
        """Gate thresholds."""
        ...

    @property
    def price_per_tib_usd(self) -> float:
        """BigQuery on-demand price per TiB processed (plans and ``--max-cost``)."""
        ...


@dataclass
class Services:
    """Adapters wired for one process (``backcourt.bootstrap.build`` makes them)."""

    settings: ServiceSettings
    warehouse: Warehouse
    status: StatusStore
    bucket: Bucket
    clock: Clock
    cpu_pool: Executor | None = None
    """Where phase-2 loaders run: None, in the calling thread; the local runner sets a process
    pool for large backfills (``backcourt.services.cpu_pool``)."""

    def owner(self) -> str:
        """Lease owner id of this process: ``host:pid``."""
        return f"{socket.gethostname()}:{os.getpid()}"

    def close(self) -> None:
        """Release connections."""
        self.warehouse.close()
        self.status.close()
