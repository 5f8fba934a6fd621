"""Settings, frozen and loaded once from the environment (``BACKCOURT_*``)."""

from __future__ import annotations

import math
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from backcourt.domain.errors import BadInput
from backcourt.domain.thresholds import Thresholds
from backcourt.sources.limits import SourceLimits


@dataclass(frozen=True)
class LocalConfig:
    """The embedded default: everything below one home folder."""

    home: Path
    """Folder holding warehouse.duckdb, status.sqlite and bucket/."""

    @property
    def warehouse_path(self) -> Path:
        """The DuckDB file."""
        return self.home / "warehouse.duckdb"

    @property
    def status_path(self) -> Path:
        """The SQLite status file."""
        return self.home / "status.sqlite"

    @property
    def bucket_path(self) -> Path:
        """The folder used as the bucket."""
        return self.home / "bucket"


@dataclass(frozen=True)
class GcpConfig:
    """The Google Cloud backend (``BACKCOURT_GCP__<FIELD>``, e.g. ``BACKCOURT_GCP__PROJECT``)."""

    project: str = ""
    """Project id every client uses (explicit, never inferred)."""
    location: str = "US"
    """BigQuery location of the datasets and jobs."""
    dataset_prefix: str = ""
    """Prefix of the BigQuery datasets (``{prefix}nba_raw`` …), e.g. ``dev_``."""
    topic: str = "backcourt-work"
    """Pub/Sub topic the work messages go to."""
    collection_prefix: str = "backcourt"
    """Prefix of the Firestore collections (status, verdicts, runs)."""
    bucket: str = ""
    """GCS bucket of raw files, quarantine, model artifacts and exports."""
    max_bytes_billed: int = 10 * 1024**3
    """``maximum_bytes_billed`` set on every BigQuery job."""
    region: str = "us-east1"
    """Region of the functions and workflows (Terraform's ``region``, default us-east1):
    ``backcourt cancel`` and the daily start find the workflows there."""
    backfill_workflow: str = "backcourt-backfill"
    """Name of the backfill workflow (Terraform's ``${prefix}-backfill``); ``backcourt cancel``
    cancels its executions."""
    daily_workflow: str = "backcourt-daily"
    """Name of the daily workflow (Terraform's ``${prefix}-daily``), started by ``start_daily``."""
    bigquery_endpoint: str = ""
    """BigQuery API endpoint (``client_options.api_endpoint``); empty = Google's. An
    ``http://`` endpoint is an emulator (bqemulator): the client then uses no credentials.
    Firestore and GCS emulators are picked up by their clients from the standard
    ``FIRESTORE_EMULATOR_HOST`` and ``STORAGE_EMULATOR_HOST`` variables."""
    bigquery_script_dates: Literal["param", "literal"] = "param"
    """How the replace transaction gets its dates: ``literal`` only for bqemulator, which does
    not bind query parameters inside multi-statement scripts."""


@dataclass(frozen=True)
class Settings:
    """Runtime settings. Every field can be set with ``BACKCOURT_<NAME>``."""

    backend: Literal["local", "gcp"] = "local"
    """Which adapters to build."""
    local: LocalConfig = field(default_factory=lambda: LocalConfig(Path(".backcourt")))
    """Embedded-default paths."""
    workers: int = 4
    """Threads running units of work at once."""
    cpu_processes: int = field(default_factory=lambda: _cpus(4))
    """Worker processes parsing raw files in large local phase-2 runs; below 2, parsing stays in
    the runner's threads (``backcourt.services.cpu_pool``)."""
    chunk_days: int = 62
    """Dates per unit of work for a backfill (one write per processor and chunk): about two
    months of game dates. On the four sample seasons 62 instead of 31 took the local backfill
    from 133 s to 118 s (half the units); the cloud path also caps a span at 62 days."""
    lease_ttl_s: int = 480
    """Lease length without renewal; a crashed worker's dates are retried after this. Below the
    ``process`` function's timeout (540 s, the most an event-driven function may run), so a lease
    never protects a worker that is already dead; the worker renews its leases while it works
    (``services.process``). Terraform sets ``BACKCOURT_LEASE_TTL_S`` from the function's timeout."""
    function_timeout_s: int = 0
    """The ``process`` function's timeout (``BACKCOURT_FUNCTION_TIMEOUT_S``); 0 when not
    serving a function. When set, ``lease_ttl_s`` must be below it, and a delivery's leases never
    run past the instant the function is killed."""
    max_shrink: float = 0.5
    """Largest allowed drop of a date's row count before a write is refused."""
    query_timeout_s: float = 300.0
    """Deadline of one warehouse query; it is cancelled and retried after."""
    thresholds: Thresholds = field(default_factory=Thresholds.load)
    """Gate thresholds."""
    gcp: GcpConfig = field(default_factory=GcpConfig)
    """Google Cloud settings (used when ``backend`` is ``gcp``)."""
    limits: SourceLimits = field(default_factory=SourceLimits)
    """Largest raw file and largest decompressed size per source (``BACKCOURT_MAX_FILE_MB``,
    ``BACKCOURT_MAX_INFLATED_MB``, ``…__<SOURCE>``; ``backcourt.sources.limits``)."""
    price_per_tib_usd: float = 6.25
    """BigQuery on-demand price per TiB processed, for ``backcourt plan`` and ``backfill
    --max-cost``. Default: the list price of the US and EU multi-regions
    (https://cloud.google.com/bigquery/pricing#on_demand_pricing); other regions differ."""


def _cpus(most: int) -> int:
    """The number of CPUs, at most ``most``."""
    return min(most, os.cpu_count() or 1)


def _num(env: dict[str, str], name: str, default: float) -> float:
    raw = env.get(f"BACKCOURT_{name}")
    if raw is None:
        return default
    try:
        value = float(raw)
    except ValueError:
        value = math.nan
    if not math.isfinite(value):
        raise BadInput(f"bad BACKCOURT_{name}={raw!r}: expected a number")
    return value


def _gcp(env: dict[str, str]) -> GcpConfig:
    d = GcpConfig()

    def get(name: str, default: str) -> str:
        return env.get(f"BACKCOURT_GCP__{name}", default)

    return GcpConfig(
        project=get("PROJECT", d.project),
        location=get("LOCATION", d.location),
        dataset_prefix=get("DATASET_PREFIX", d.dataset_prefix),
        topic=get("TOPIC", d.topic),
        collection_prefix=get("COLLECTION_PREFIX", d.collection_prefix),
        bucket=get("BUCKET", d.bucket),
        max_bytes_billed=int(_num(env, "GCP__MAX_BYTES_BILLED", d.max_bytes_billed)),
        region=get("REGION", d.region),
        backfill_workflow=get("BACKFILL_WORKFLOW", d.backfill_workflow),
        daily_workflow=get("DAILY_WORKFLOW", d.daily_workflow),
        bigquery_endpoint=get("BIGQUERY_ENDPOINT", d.bigquery_endpoint),
        bigquery_script_dates=_script_dates(get("BIGQUERY_SCRIPT_DATES", d.bigquery_script_dates)),
    )


def _script_dates(raw: str) -> Literal["param", "literal"]:
    if raw == "param":
        return "param"
    if raw == "literal":
        return "literal"
    raise BadInput(f"bad BACKCOURT_GCP__BIGQUERY_SCRIPT_DATES={raw!r}: expected param or literal")


def load_settings(home: Path | None = None, env: dict[str, str] | None = None) -> Settings:
    """Settings from the environment; ``home`` (from ``--home``) wins over BACKCOURT_HOME."""
    env = dict(os.environ) if env is None else env
    root = home or Path(env.get("BACKCOURT_HOME", ".backcourt"))
    backend = env.get("BACKCOURT_BACKEND", "local")
    if backend not in ("local", "gcp"):
        raise BadInput(f"bad BACKCOURT_BACKEND={backend!r}: expected local or gcp")
    workers = int(_num(env, "WORKERS", 4))
    if workers < 1:
        raise BadInput("BACKCOURT_WORKERS must be at least 1")
    lease_ttl_s, timeout_s = _lease_ttl(env)
    return Settings(
        backend=backend,  # type: ignore[arg-type]
        local=LocalConfig(root),
        workers=workers,
        cpu_processes=max(0, int(_num(env, "CPU_PROCESSES", _cpus(4)))),
        chunk_days=max(1, int(_num(env, "CHUNK_DAYS", Settings.chunk_days))),
        lease_ttl_s=lease_ttl_s,
        function_timeout_s=timeout_s,
        max_shrink=_num(env, "MAX_SHRINK", 0.5),
        query_timeout_s=_num(env, "QUERY_TIMEOUT_S", 300.0),
        gcp=_gcp(env),
        limits=SourceLimits.from_env(env),
        price_per_tib_usd=_price(env),
    )


def _lease_ttl(env: dict[str, str]) -> tuple[int, int]:
    """``(lease_ttl_s, function_timeout_s)``, the lease strictly shorter than the function.

    Raises:
        BadInput: a non-positive lease, a negative timeout, or a lease not below the timeout.
    """
    ttl = int(_num(env, "LEASE_TTL_S", Settings.lease_ttl_s))
    timeout = int(_num(env, "FUNCTION_TIMEOUT_S", Settings.function_timeout_s))
    if ttl < 1:
        raise BadInput(f"BACKCOURT_LEASE_TTL_S must be at least 1, got {ttl}")
    if timeout < 0:
        raise BadInput(f"BACKCOURT_FUNCTION_TIMEOUT_S must not be negative, got {timeout}")
    if timeout and ttl >= timeout:
        raise BadInput(f"BACKCOURT_LEASE_TTL_S={ttl} must be below the function timeout "
                       f"BACKCOURT_FUNCTION_TIMEOUT_S={timeout}: a lease that outlives its "
                       "worker keeps the dates running after the worker was killed")
    return ttl, timeout


def _price(env: dict[str, str]) -> float:
    price = _num(env, "PRICE_PER_TIB_USD", Settings.price_per_tib_usd)
    if price < 0:
        raise BadInput("BACKCOURT_PRICE_PER_TIB_USD must not be negative")
    return price
