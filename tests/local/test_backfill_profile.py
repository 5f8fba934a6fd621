"""``backcourt backfill --profile`` prints where a run's time went, per phase and step (the real
command in a subprocess, on the real 2024-25 schedule: phase 2 over two dates). No timings are
asserted: only that the report names each phase, its steps and its largest costs."""

from __future__ import annotations

import gzip
import os
import subprocess
import sys
from importlib import resources
from pathlib import Path

import pytest

from backcourt.adapters.local.bucket import FolderBucket
from backcourt.config import load_settings
from backcourt.sources.layout import schedule_path

pytestmark = pytest.mark.local

SEASON = "2024-25"


def test_backfill_profile_reports_phases_steps_and_top_functions(tmp_path: Path) -> None:
    home = tmp_path / "home"
    gz = resources.files("backcourt").joinpath("data", "nbacom-schedule-2024-25.json.gz")
    FolderBucket(load_settings(home, env={}).local.bucket_path).write(
        schedule_path(SEASON), gzip.decompress(gz.read_bytes()))
    env = {k: v for k, v in os.environ.items() if not k.startswith("BACKCOURT_")}
    env["COLUMNS"] = "200"
    proc = subprocess.run(
        [sys.executable, "-m", "backcourt", "--home", str(home), "backfill", "--season", SEASON,
         "--phase", "2", "--start", "2024-10-22", "--end", "2024-10-23", "--profile"],
        capture_output=True, text=True, env=env, timeout=300)
    out = proc.stdout
    assert "profile of the backfill" in out, (proc.returncode, out[-2000:], proc.stderr[-2000:])
    report = out[out.index("profile of the backfill"):]
    assert "phase 2:" in report and "s CPU in worker processes" in report
    for part in ("steps (thread-seconds, cumulative)", "plan", "process units",
                 "top 12 backcourt functions by cumulative time",
                 "top 12 functions by own time (largest costs)", "services/protocol.py"):
        assert part in report, part
    assert "<method 'acquire' of '_thread.lock' objects>" not in report  # waiting is apart
