"""The sample seasons, generated once per test session and shared by the xdist workers.

``generate_season`` costs seconds of CPU per season and its output is deterministic, so a test
run generates each season once: the first worker that needs it generates it under the run's
common temp folder (the parent of the worker's base temp under xdist, the base temp without),
holding a file lock; the others wait for the lock and read. A season is written to a temporary
folder and renamed into place, then marked complete, so a crash mid-way leaves no half season.

Tests never write into the cache: ``cached_season`` is for tests that only copy from it;
``copy_season`` gives a test its own bucket. The copy keeps the files' mtimes (``copy2``), and
a ``FolderBucket`` generation is the file's mtime, so a copied bucket has the generations (and
the ``.versions/`` history) the generator wrote: it behaves as a freshly generated one.
"""

from __future__ import annotations

import fcntl
import os
import shutil
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import pytest

CACHE = "sample-cache"


def _run_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The temp folder of this run, common to its xdist workers (never shared across runs)."""
    base = tmp_path_factory.getbasetemp()
    return base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base


def cached_season(tmp_path_factory: pytest.TempPathFactory, season: str) -> Path:
    """The bucket folder holding ``generate_season``'s files of ``season``, generated once per
    test run. Read only: copy from it (``copy_season``), never write to it."""
    cache = _run_root(tmp_path_factory) / CACHE
    cache.mkdir(parents=True, exist_ok=True)
    root, done = cache / season, cache / f"{season}.complete"
    if done.exists():
        return root
    with (cache / f"{season}.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file closes
        if not done.exists():
            _generate(cache, season)
    return root


def _generate(cache: Path, season: str) -> None:
    from backcourt.adapters.local.bucket import FolderBucket
    from backcourt.sample import generate_season

    work = cache / f"{season}.tmp-{os.getpid()}"
    shutil.rmtree(work, ignore_errors=True)
    shutil.rmtree(cache / season, ignore_errors=True)  # a rename that was never marked complete
    generate_season(FolderBucket(work), season)
    os.replace(work, cache / season)
    (cache / f"{season}.complete").touch()


def copy_season(tmp_path_factory: pytest.TempPathFactory, season: str, bucket: Path) -> Path:
    """Put the files ``generate_season(FolderBucket(bucket), season)`` would write into the
    bucket folder ``bucket`` (a private copy of the cached season); returns ``bucket``. For a
    new or empty bucket: a file already there is overwritten, not kept as a noncurrent version
    as ``generate_season`` would keep it."""
    shutil.copytree(cached_season(tmp_path_factory, season), bucket, dirs_exist_ok=True)
    return bucket
