"""What a plan would cost on BigQuery's on-demand pricing, before it runs.

Per SQL processor and planned unit, the warehouse's dry run says how many bytes the
processor's query would scan for the unit's dates (free; nothing runs). Billing follows the
on-demand rules (https://cloud.google.com/bigquery/pricing#on_demand_pricing): bytes rounded up
to the MiB, at least 10 MiB per table the query references, times the price per TiB
(``Settings.price_per_tib_usd``, 6.25 USD by default). The monthly free TiB is not deducted.

What is not estimated, and said so: phase-2 loaders scan nothing (load jobs are free); Python
processors (predictions, exports) read through queries the plan cannot see; the write
statements of each replace and the gate's checks add a little; a phase whose inputs this same
run produces is priced on today's tables (low). On the embedded default (DuckDB) there is no
dry run and no on-demand bill: the bytes are unknown, never a fake 0.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Literal

import sqlglot
from sqlglot import exp

from backcourt.domain.registry import Phase, Processor
from backcourt.ports import DryRunner, Warehouse
from backcourt.services.plan import Unit

TIB = 2**40
MIB = 2**20
MIN_BILLED_PER_TABLE = 10 * MIB
"""On-demand minimum per table a query references (and per query)."""
DRY_RUN_THREADS = 8
"""Dry runs at once (each is one API call of a few hundred ms)."""

Kind = Literal["sql", "loader", "python"]


def billed_bytes(scanned: int, tables: int) -> int:
    """Bytes billed for one query scanning ``scanned`` bytes over ``tables`` tables: rounded up
    to the MiB, at least 10 MiB per referenced table (and per query)."""
    if scanned < 0 or tables < 0:
        raise ValueError(f"bytes and tables must be >= 0, got {scanned}, {tables}")
    rounded = math.ceil(scanned / MIB) * MIB
    return max(rounded, MIN_BILLED_PER_TABLE * max(1, tables))


def usd(billed: int, price_per_tib: float) -> float:
    """On-demand cost of ``billed`` bytes at ``price_per_tib`` USD per TiB."""
    return billed / TIB * price_per_tib


def tables_referenced(sql: str) -> int:
    """Distinct ``dataset.table`` names a BigQuery query reads (CTEs are not tables)."""
    names = {(t.db, t.name) for tree in sqlglot.parse(sql, read="bigquery") if tree is not None
             for t in tree.find_all(exp.Table) if t.db}
    return len(names)


@dataclass
class ProcessorCost:
    """The estimate of one processor over its planned units."""

    processor: str
    kind: Kind
    queries: int = 0
    scanned: int | None = None
    """Bytes the dry runs report (None: not estimated)."""
    billed: int | None = None
    usd: float | None = None
    note: str = ""


@dataclass
class CostEstimate:
    """The estimate of a whole plan."""

    price_per_tib: float
    dry_run: bool
    """False on a warehouse without dry runs (DuckDB): nothing is priced."""
    processors: dict[str, ProcessorCost] = field(default_factory=dict)

    @property
    def scanned(self) -> int | None:
        """Bytes scanned by the estimated queries (None without dry runs)."""
        known = [p.scanned for p in self.processors.values() if p.scanned is not None]
        return sum(known) if self.dry_run else None

    @property
    def usd(self) -> float | None:
        """Cost of the estimated queries (None without dry runs)."""
        known = [p.usd for p in self.processors.values() if p.usd is not None]
        return sum(known) if self.dry_run else None

    @property
    def unestimated(self) -> list[str]:
        """Processors with planned work whose cost is not in the total."""
        return [p.processor for p in self.processors.values()
                if p.queries and p.kind == "python"]

    def over_budget(self, budget_usd: float) -> bool:
        """Whether the known cost exceeds ``budget_usd`` (never without dry runs)."""
        return self.usd is not None and self.usd > budget_usd


def _kind(proc: Processor) -> Kind:
    if proc.python is None:
        return "sql"
    return "loader" if proc.phase is Phase.RAW else "python"


def _query(proc: Processor, unit: Unit) -> tuple[str, dict[str, Any]]:
    """The processor's SQL and the parameters its run binds for this unit."""
    from backcourt.sql import load_sql

    sql = load_sql(proc.table.name)
    params = {"start_date": min(unit.days), "end_date": max(unit.days)}
    return sql, {k: v for k, v in params.items() if f"@{k}" in sql}


def estimate(units: Sequence[Unit], warehouse: Warehouse | DryRunner,
             price_per_tib: float) -> CostEstimate:
    """Dry-run every SQL unit (a few at once) and price the plan.

    Args:
        units: the planned units (``RunPreview.units()``).
        warehouse: the warehouse; only one with ``dry_run`` (BigQuery) is asked.
        price_per_tib: USD per TiB processed.
    Raises:
        TransientError | TerminalError: a dry run failed (the SQL or the service).
    """
    coster = warehouse if isinstance(warehouse, DryRunner) else None
    out = CostEstimate(price_per_tib, coster is not None)
    jobs: list[tuple[ProcessorCost, str, Mapping[str, Any]]] = []
    for unit in units:
        proc = unit.processor
        kind = _kind(proc)
        cost = out.processors.setdefault(proc.name, ProcessorCost(proc.name, kind))
        cost.queries += 1
        if kind == "loader":
            cost.scanned, cost.billed, cost.usd = 0, 0, 0.0
            cost.note = "load job: scans nothing, free"
        elif kind == "python":
            cost.note = "Python processor: its reads are not estimated"
        elif coster is None:
            cost.note = "no dry run on this warehouse (DuckDB): bytes unknown, no on-demand bill"
        else:
            sql, params = _query(proc, unit)
            jobs.append((cost, sql, params))
    if coster is not None and jobs:
        with ThreadPoolExecutor(max_workers=DRY_RUN_THREADS) as pool:
            scans = list(pool.map(lambda job: coster.dry_run(job[1], job[2]), jobs))
        tables: dict[str, int] = {}
        for (cost, sql, _), scanned in zip(jobs, scans, strict=True):
            n = tables.setdefault(cost.processor, tables_referenced(sql))
            billed = billed_bytes(scanned, n)
            cost.scanned = (cost.scanned or 0) + scanned
            cost.billed = (cost.billed or 0) + billed
            cost.usd = (cost.usd or 0.0) + usd(billed, price_per_tib)
            cost.note = f"dry run of {cost.queries} unit(s), {n} table(s) each"
    return out
