"""``backcourt plan --json`` on the gcp backend, against the emulators, as an operator runs it:
a real ``python -m backcourt`` process configured only through settings (the BigQuery endpoint
of bqemulator; Firestore and GCS through their standard emulator variables).

The data loaded first is small: the real 2024-25 schedule, written to the GCS emulator through
the configured bucket and loaded into bqemulator by the schedule processor. bqemulator answers
every dry run with 0 bytes, so the per-processor bytes are 0 and the cost is the on-demand
minimum (10 MiB per referenced table and query).
"""

from __future__ import annotations

import gzip
import json
import subprocess
import sys
import uuid
from collections.abc import Iterator
from datetime import date, timedelta
from importlib import resources
from pathlib import Path
from typing import Any

import pytest

from backcourt.bootstrap import build
from backcourt.config import load_settings
from backcourt.domain import registry
from backcourt.domain.registry import Phase
from backcourt.ports import Services
from backcourt.services.calendar import calendars
from backcourt.services.cost import MIB, tables_referenced
from backcourt.services.plan import Window, plan_processor
from backcourt.services.process import run_unit
from backcourt.sources.layout import schedule_path
from backcourt.sql import load_sql

pytestmark = pytest.mark.emulator

REPO = Path(__file__).resolve().parents[2]
SEASON = "2024-25"
START, END = date(2025, 1, 13), date(2025, 1, 15)  # three game nights of the real schedule
DAYS = [START + timedelta(days=i) for i in range(3)]


@pytest.fixture(scope="module")
def gcp_env(bqemulator: str, firestore_emulator: str, gcs_emulator: str,
            ) -> Iterator[dict[str, str]]:
    """Settings of a fresh gcp backend on the emulators (unique datasets, collections and
    bucket), exported for this module's in-process calls too."""
    from gcs_fixtures import emulator_client

    suffix = uuid.uuid4().hex[:8]
    bucket = f"plan-{suffix}"
    emulator_client(gcs_emulator).create_bucket(bucket)
    env = {"BACKCOURT_BACKEND": "gcp", "BACKCOURT_GCP__PROJECT": "demo",
           "BACKCOURT_GCP__BUCKET": bucket, "BACKCOURT_GCP__DATASET_PREFIX": f"p{suffix}_",
           "BACKCOURT_GCP__COLLECTION_PREFIX": f"p{suffix}",
           "BACKCOURT_GCP__BIGQUERY_ENDPOINT": bqemulator,
           "BACKCOURT_GCP__BIGQUERY_SCRIPT_DATES": "literal",
           "FIRESTORE_EMULATOR_HOST": firestore_emulator, "STORAGE_EMULATOR_HOST": gcs_emulator}
    with pytest.MonkeyPatch.context() as mp:
        for key, value in env.items():
            mp.setenv(key, value)
        yield env


@pytest.fixture(scope="module")
def loaded(gcp_env: dict[str, str]) -> Iterator[Services]:
    """The real schedule in the GCS emulator, loaded by the schedule processor (a window
    needing it loads the season's, whole)
    (the services are built from the settings alone, as the CLI builds them)."""
    s = build(load_settings())
    try:
        gz = resources.files("backcourt").joinpath("data", "nbacom-schedule-2024-25.json.gz")
        s.bucket.write(schedule_path(SEASON), gzip.decompress(gz.read_bytes()))
        assert s.bucket.exists(schedule_path(SEASON))  # through STORAGE_EMULATOR_HOST
        s.warehouse.ensure_tables([p.table for p in registry.PROCESSORS])
        schedule = registry.get("schedule")
        plan = plan_processor(s.status, schedule, calendars(s.warehouse, [SEASON]),
                              Window(START, END), s.settings.chunk_days)
        (unit,) = plan.units
        report = run_unit(s, schedule, unit.days, run_id="plan-cloud", owner="test")
        assert set(DAYS) <= set(report.leased)  # the season's schedule, loaded whole
        yield s
    finally:
        s.close()


def _plan_json(env: dict[str, str]) -> dict[str, Any]:
    done = subprocess.run(
        [sys.executable, "-m", "backcourt", "plan", "--season", SEASON, "--phase", "2",
         "--phase", "3", "--start", START.isoformat(), "--end", END.isoformat(), "--json"],
        env={**_base_env(), **env}, cwd=REPO, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-3000:]
    result: dict[str, Any] = json.loads(done.stdout)
    return result


def _base_env() -> dict[str, str]:
    import os

    return {k: v for k, v in os.environ.items() if not k.startswith("BACKCOURT_")}


def test_plan_on_bigquery_reports_dry_run_bytes_and_the_plan(gcp_env: dict[str, str],
                                                            loaded: Services) -> None:
    before = loaded.status.list(None, START - timedelta(days=40), END + timedelta(days=40))
    plan = _plan_json(gcp_env)
    after = loaded.status.list(None, START - timedelta(days=40), END + timedelta(days=40))
    assert after == before  # the plan wrote nothing to Firestore

    assert plan["backend"] == "gcp" and plan["cost"]["dry_run"] is True
    phase2, phase3 = plan["phases"]
    procs2 = {p["processor"]: p for p in phase2["processors"]}
    schedule = procs2.pop("schedule")
    assert (schedule["complete"], schedule["to_run"]) == (3, 0)
    iso = [d.isoformat() for d in DAYS]
    for name, p in procs2.items():  # never planned yet: every game date of the window
        assert p["dates"] == iso, name
        assert (p["cost"]["kind"], p["cost"]["scanned_bytes"]) == ("loader", 0)
    assert phase3["depends_on"] == "phase 2 gate"  # phase 2 still has work to do
    sql_procs = [p.name for p in registry.of_phase(Phase.ANALYTICS)]
    upcoming = {p["processor"]: p for p in phase3["processors"]}.pop(
        "upcoming_player_game_context")
    # It reads the 10 games before each date, which this home never computed: blocked.
    assert upcoming["dates"] == [] and upcoming["reasons"] == {"lookback_incomplete": 3}
    for p in phase3["processors"]:
        if p is upcoming:
            continue
        assert p["processor"] in sql_procs and p["dates"] == iso
        cost = p["cost"]
        assert (cost["kind"], cost["queries"], cost["scanned_bytes"]) == ("sql", 1, 0)
        tables = tables_referenced(load_sql(registry.get(p["processor"]).table.name))
        assert cost["billed_bytes"] == 10 * MIB * tables  # 0 bytes still bills the minimum
        assert cost["usd"] > 0
    assert plan["cost"]["scanned_bytes"] == 0
    assert plan["cost"]["usd"] == pytest.approx(sum((p["cost"] or {}).get("usd") or 0
                                                    for p in phase3["processors"]))
    assert plan["totals"]["to_run"] == 6 * 3 + 4 * 3
