"""End to end on Google's emulators: ``backfill.workflows.yaml`` in workflows-emulator drives the
real functions (functions-framework servers) through Pub/Sub push, Firestore and bqemulator.

Processes (all started here, all stopped by PID): the Firestore, Pub/Sub and BigQuery emulators
(session fixtures), one functions-framework server per function (``emulated_functions.py``: the
entry points of ``functions/main.py`` on emulator adapters; the bucket is a FolderBucket, the one
local stand-in) and the workflow execution (``.venv-wf``, ``wf_run.py``).
"""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
from cloud_stack import push_subscription

from backcourt.domain.registry import PROCESSORS, Phase, of_phase
from backcourt.domain.status import State
from emulator_fixtures import rest
from processes import free_port as _free_port
from processes import listening as _listening
from processes import stop_group as _stop
from sample_cache import copy_season

pytestmark = pytest.mark.emulator

REPO = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent
WF_PYTHON = REPO / ".venv-wf" / "bin" / "python"
FF = Path(sys.executable).parent / "functions-framework"
PROJECT = "demo"
START, END = date(2024, 10, 22), date(2024, 10, 24)
TARGETS = {"plan": "http", "progress": "http", "validate": "http", "process": "cloudevent"}
PHASES = (Phase.RAW, Phase.ANALYTICS)


@dataclass
class Cloud:
    """The running stack: env of the functions, their ports, the stand-in bucket folder."""

    env: dict[str, str]
    ports: dict[str, int]
    logs: Path
    topic: str


@pytest.fixture(scope="module")
def cloud(firestore_emulator: str, pubsub_emulator: str, bqemulator: str,
          tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cloud]:
    """Sample data in the bucket folder, the four function servers, the topics and the push
    subscription; everything stopped by PID afterwards."""
    if not WF_PYTHON.exists():
        message = f"workflows-emulator not found at {WF_PYTHON}: run scripts/wf-venv.sh"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(message, pytrace=False)
        pytest.skip(message)
    root = tmp_path_factory.mktemp("cloud")
    suffix = uuid.uuid4().hex[:8]
    topic = f"work-{suffix}"
    env = {**os.environ, "BACKCOURT_BACKEND": "gcp", "BACKCOURT_GCP__PROJECT": PROJECT,
           "BACKCOURT_GCP__BUCKET": "standin", "BACKCOURT_GCP__DATASET_PREFIX": f"e{suffix}_",
           "BACKCOURT_GCP__COLLECTION_PREFIX": f"e{suffix}", "BACKCOURT_GCP__TOPIC": topic,
           "BACKCOURT_TEST_BQ_ENDPOINT": bqemulator,
           "BACKCOURT_TEST_BUCKET_DIR": str(root / "bucket"),
           "FIRESTORE_EMULATOR_HOST": firestore_emulator, "PUBSUB_EMULATOR_HOST": pubsub_emulator}
    ports = {name: _free_port() for name in TARGETS}
    procs: list[subprocess.Popen[bytes]] = []
    try:
        for name, kind in TARGETS.items():
            with (root / f"{name}.log").open("wb") as out:
                procs.append(subprocess.Popen(
                    [str(FF), "--source", str(HERE / "emulated_functions.py"), "--target", name,
                     "--signature-type", kind, "--host", "127.0.0.1", "--port", str(ports[name])],
                    env=env, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                    start_new_session=True, cwd=REPO))
        copy_season(tmp_path_factory, "2024-25", root / "bucket")  # while the servers start
        deadline = time.monotonic() + 30
        for name, proc in zip(TARGETS, procs, strict=True):
            while not _listening(ports[name]):
                if proc.poll() is not None or time.monotonic() > deadline:
                    pytest.fail(f"functions-framework {name} did not start:\n"
                                + (root / f"{name}.log").read_text()[-2000:], pytrace=False)
                time.sleep(0.1)
        push_subscription(pubsub_emulator, f"projects/{PROJECT}/topics/{topic}",
                          f"http://127.0.0.1:{ports['process']}/")
        yield Cloud(env=env, ports=ports, logs=root, topic=topic)
    finally:
        for proc in procs:
            _stop(proc)


def _run_workflow(cloud: Cloud, args: dict[str, Any]) -> dict[str, Any]:
    env = {**cloud.env, "WORK_TOPIC": f"projects/{PROJECT}/topics/{cloud.topic}",
           "POLL_INTERVAL_S": "1", "PHASE_DEADLINE_S": "120", "WF_LOGLEVEL": "INFO",
           "GOOGLE_CLOUD_WORKFLOW_EXECUTION_ID": "e2e-run"}
    # one server per function, each on its own URL (the run.app URI Terraform passes)
    env.update({f"{n.upper()}_URL": f"http://127.0.0.1:{cloud.ports[n]}"
                for n in ("plan", "progress", "validate")})
    with subprocess.Popen([str(WF_PYTHON), str(HERE / "wf_run.py"),
                           str(REPO / "workflows" / "backfill.workflows.yaml"),
                           json.dumps(args)],
                          env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          start_new_session=True, cwd=REPO) as proc:  # closes its pipes
        try:
            out, err = proc.communicate(timeout=240)
            (cloud.logs / "workflow.log").write_bytes(out + err)
        finally:
            _stop(proc)
    lines = [ln for ln in out.decode().splitlines() if ln.startswith("WORKFLOW_")]
    assert lines and lines[-1].startswith("WORKFLOW_RESULT "), (
        f"workflow failed: {lines}\n{err.decode()[-3000:]}")
    result: dict[str, Any] = json.loads(lines[-1].split(" ", 1)[1])
    return result


def _status_store(cloud: Cloud) -> Any:
    from backcourt.adapters.gcp.firestore_status import FirestoreStatusStore

    return FirestoreStatusStore(PROJECT,
                                collection_prefix=cloud.env["BACKCOURT_GCP__COLLECTION_PREFIX"])


def _row_counts(cloud: Cloud) -> dict[str, int]:
    from google.api_core.client_options import ClientOptions
    from google.auth.credentials import AnonymousCredentials
    from google.cloud import bigquery

    client = bigquery.Client(project=PROJECT, credentials=AnonymousCredentials(), location="US",
                             client_options=ClientOptions(
                                 api_endpoint=cloud.env["BACKCOURT_TEST_BQ_ENDPOINT"]))
    prefix = cloud.env["BACKCOURT_GCP__DATASET_PREFIX"]
    counts = {}
    try:
        for p in PROCESSORS:
            if p.phase not in PHASES:
                continue
            sql = f"SELECT COUNT(*) AS n FROM `{PROJECT}.{prefix}{p.table.fqn}`"
            counts[p.name] = int(next(iter(client.query(sql).result()))["n"])
    finally:
        client.close()
    return counts


def _wait_deliveries(cloud: Cloud, at_least: int, timeout_s: float = 30) -> int:
    deadline = time.monotonic() + timeout_s
    while (n := _delivered(cloud)) < at_least and time.monotonic() < deadline:
        time.sleep(0.2)
    return n


def _delivered(cloud: Cloud) -> int:
    return (cloud.logs / "process.log").read_text(errors="replace").count("DELIVERED ")


def test_backfill_workflow_end_to_end(cloud: Cloud) -> None:
    result = _run_workflow(cloud, {"start": START.isoformat(), "end": END.isoformat(),
                                   "phases": ["2", "3"]})
    # Phase 2 publishes the whole season's schedule spans, and its progress waits for them too:
    # when the execution ends, every message it published has been processed (the last
    # handler may still be printing its line).
    delivered = _wait_deliveries(cloud, sum(p["published"] for p in result["phases"]))
    print(f"\nworkflow execution result: {json.dumps(result)}")
    print(f"messages delivered to process: {delivered}")
    assert result["state"] == "succeeded"
    assert [p["phase"] for p in result["phases"]] == ["2", "3"]
    assert all(p["publish_failures"] == 0 and p["in_flight_at_gate"] == 0
               for p in result["phases"])
    assert delivered == sum(p["published"] for p in result["phases"]) >= 2

    status = _status_store(cloud)
    try:
        days = {START + timedelta(days=i) for i in range((END - START).days + 1)}
        for phase in PHASES:
            names = [p.name for p in of_phase(phase)]
            docs = status.list(names, START, END)
            assert {(d.processor, d.game_date) for d in docs} == {
                (n, d) for n in names for d in days}, f"phase {phase} documents"
            expected = [d for d in docs if d.state is not State.NOT_EXPECTED]
            assert expected, f"phase {phase}: no expected dates"
            bad = [(d.processor, d.game_date, d.state) for d in expected
                   if d.state is not State.SUCCEEDED]
            assert not bad, f"phase {phase} dates not succeeded: {bad}"
            verdicts = status.verdicts(phase.value, START, END)
            assert verdicts, f"no gate verdict for phase {phase} in Firestore"
            latest = {v.game_date: v.verdict for v in verdicts}
            print(f"gate verdict from Firestore, phase {phase.value}: "
                  f"{sorted({str(v) for v in latest.values()})}")
            assert {str(v) for v in latest.values()} == {"PASS"}
    finally:
        status.close()

    before = _row_counts(cloud)
    assert all(n > 0 for n in before.values()), before
    unit = {"run_id": "e2e-redeliver", "phase": "3", "mode": "backfill", "attempt": 0,
            "processors": [p.name for p in of_phase(Phase.ANALYTICS)],
            "start_date": START.isoformat(), "end_date": END.isoformat()}
    data = base64.b64encode(json.dumps(unit).encode()).decode()
    for _ in range(5):
        rest(cloud.env["PUBSUB_EMULATOR_HOST"], "POST",
              f"projects/{PROJECT}/topics/{cloud.topic}:publish",
              {"messages": [{"data": data, "attributes": {"run_id": "e2e-redeliver",
                                                         "phase": "3"}}]})
    assert _wait_deliveries(cloud, delivered + 5) == delivered + 5
    print(f"messages delivered after 5 redeliveries: {_delivered(cloud)}")
    assert _row_counts(cloud) == before
