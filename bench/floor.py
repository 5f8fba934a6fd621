"""The floor of the backfill, measured by ``bench/backfill.py`` in the same run: the two pieces
of work no implementation of phases 2 → 6 can skip.

* **parse** — every raw file of the seasons read and decoded with ``orjson.loads`` alone
  (gzip-decompressed first where a file is gzip), one after the other on one core: the least
  phase 2 must do before it has a single row.
* **fit** — the weekly LightGBM fits phase 5A makes, on the labelled feature-store rows of the
  finished batched home, side by side on ``walkforward.TRAIN_WORKERS`` threads as phase 5A
  fits them: one ``gbm.fit_scored`` per model in the home's ``models/`` folder, on the rows
  ``walkforward`` gives that cutoff, plus one ``gbm.fit`` per model whose holdout metrics
  came from a refit (the first model of a run: ``metrics.holdout_model`` absent). Only the fits
  are timed: not the query that reads the rows, nor the metrics, predictions or files.

Floor = parse + fit. The ratio batched wall / floor says how much of the backfill is overhead
around that work (reading, writing, SQL, status, process start-up …); it cannot reach 1.
"""

from __future__ import annotations

import gzip
import json
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import orjson

_GZIP_MAGIC = b"\x1f\x8b"


@dataclass(frozen=True)
class Parse:
    """Every raw file read and decoded with orjson."""

    files: int
    mbytes: float  # as stored (compressed where gzip)
    seconds: float
    cpu_s: float


@dataclass(frozen=True)
class Fit:
    """The weekly fits of phase 5A, on the finished home's rows."""

    models: int
    refits: int
    rows: int  # training rows over every fit
    workers: int
    seconds: float
    cpu_s: float


def parse_floor(raw_bucket: Path) -> Parse:
    """Read and ``orjson.loads`` every file under ``raw_bucket/raw`` (a bucket folder of the
    generated seasons)."""
    paths = sorted(p for p in (raw_bucket / "raw").rglob("*") if p.is_file())
    size = 0
    cpu0, started = time.process_time(), time.perf_counter()
    for p in paths:
        data = p.read_bytes()
        size += len(data)
        if data.startswith(_GZIP_MAGIC):
            data = gzip.decompress(data)
        orjson.loads(data)
    return Parse(len(paths), size / 1e6, time.perf_counter() - started,
                 time.process_time() - cpu0)


def fit_floor(home: Path) -> Fit:
    """The fits of the models in a finished home's bucket, timed (module docstring)."""
    from backcourt.adapters.local.bucket import FolderBucket
    from backcourt.config import load_settings
    from backcourt.models import artifacts, gbm, walkforward
    from fingerprint import ReadOnlyWarehouse

    local = load_settings(home, env={}).local
    bucket = FolderBucket(local.bucket_path)
    cutoffs = artifacts.cutoffs(bucket)
    if not cutoffs:
        return Fit(0, 0, 0, walkforward.TRAIN_WORKERS, 0.0, 0.0)
    metadata = {c: json.loads(bucket.read(artifacts.metadata_path(c))) for c in cutoffs}
    warehouse = ReadOnlyWarehouse(local.warehouse_path)
    try:
        everything = walkforward.labelled_rows(warehouse,  # type: ignore[arg-type]
                                               walkforward.window_start(cutoffs[0]), cutoffs[-1])
    finally:
        warehouse.close()
    jobs: list[tuple[Any, ...]] = []
    refits = 0
    for c in cutoffs:
        data = everything.between(walkforward.window_start(c), c)
        jobs.append((gbm.fit_scored, data.x, data.y))
        metrics = metadata[c].get("metrics", {})
        if "holdout_model" not in metrics and metrics.get("holdout_mae") is not None:
            early = data.between(date.min, c - timedelta(days=walkforward.HOLDOUT_DAYS))
            jobs.append((gbm.fit, early.x, early.y))
            refits += 1
    rows = sum(len(j[1]) for j in jobs)
    workers = walkforward.TRAIN_WORKERS
    cpu0, started = time.process_time(), time.perf_counter()
    with ThreadPoolExecutor(max_workers=workers) as pool:
        for future in [pool.submit(fn, x, y) for fn, x, y in jobs]:
            future.result()
    return Fit(len(cutoffs), refits, rows, workers, time.perf_counter() - started,
               time.process_time() - cpu0)
