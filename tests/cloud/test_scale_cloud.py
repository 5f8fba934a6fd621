"""The scale run (issue 13): 70 days of the 2024-25 sample season (2024-10-22 → 2024-12-31, its
first 66 game dates), phases 2 → 6, through the real ``backfill.workflows.yaml`` on
workflows-emulator; the Pub/Sub emulator's push subscription delivers to ``process`` served by
gunicorn with 4 worker processes (functions-framework, ``WORKERS=4``, one request each at a time
as a Cloud Run functions instance with concurrency 1); Firestore emulator; BigQuery on bqemulator.

Google Cloud's behaviour is switched on where the emulators are kinder (scale_functions.py):
overlapping BigQuery transactions on one table abort; one handler hangs and is killed at its
(scaled-down) deadline, so Pub/Sub redelivers the same message id after the ack deadline; the
subscription dead-letters after 5 deliveries.

It prints one line, every count measured in this run:

    cloud-scale: instances=N messages=M redeliveries=R txn_aborts=A lease_reclaims=L
                 coverage=X/Y block=0 wall=Ts
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from cloud_stack import (
    REPO,
    WF_PYTHON,
    PushLog,
    push_proxy,
    push_subscription,
    require_workflows_emulator,
    start_function,
    wait_listening,
)

from backcourt.domain.registry import PROCESSORS
from backcourt.domain.status import DONE, State
from conftest import SUMMARY_LINE
from gcp_semantics.bigquery import aborts, inject_aborts
from processes import free_port
from processes import stop_group as stop
from sample_cache import copy_season

pytestmark = pytest.mark.emulator

HERE = Path(__file__).resolve().parent
PROJECT = "scale"
START, END = date(2024, 10, 22), date(2024, 12, 31)
PHASES = ["2", "3", "4", "5A", "5B", "6"]
INSTANCES = 4
HANDLER_DEADLINE_S = 40
"""The process function's timeout, scaled down from 540 s: gunicorn kills a request past it."""
LEASE_TTL_S = 30
"""Below the handler deadline, as Terraform derives it from the function's timeout."""
HANG_TABLE = "player_game_summary"
INJECTED_ABORTS = 3
"""Transactions aborted on top of any real overlap: the table lock serialises this run's writers,
so without these no abort would fire and the retry inside ``replace`` would go unexercised."""
AUTOLOAD = REPO / "tests" / "gcp_semantics" / "autoload"
HTTP = {"plan": "http", "progress": "http", "validate": "http"}


@dataclass
class Stack:
    env: dict[str, str]
    ports: dict[str, int]
    logs: Path
    topic: str
    pushes: PushLog


@pytest.fixture(scope="module")
def stack(firestore_emulator: str, pubsub_emulator: str, bqemulator: str,
          tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    require_workflows_emulator()
    root = tmp_path_factory.mktemp("scale")
    (root / "faults").mkdir()
    (root / "bq").mkdir()
    suffix = uuid.uuid4().hex[:8]
    topic = f"scale-{suffix}"
    env = {**os.environ, "BACKCOURT_BACKEND": "gcp", "BACKCOURT_GCP__PROJECT": PROJECT,
           "BACKCOURT_GCP__BUCKET": "standin", "BACKCOURT_GCP__DATASET_PREFIX": f"s{suffix}_",
           "BACKCOURT_GCP__COLLECTION_PREFIX": f"s{suffix}", "BACKCOURT_GCP__TOPIC": topic,
           "BACKCOURT_TEST_BQ_ENDPOINT": bqemulator,
           "BACKCOURT_TEST_BUCKET_DIR": str(root / "bucket"),
           "BACKCOURT_TEST_FAULT_DIR": str(root / "faults"),
           "BACKCOURT_GCP_SEMANTICS_BQ_DIR": str(root / "bq"),
           "PYTHONPATH": os.pathsep.join(
               [str(AUTOLOAD), *filter(None, [os.environ.get("PYTHONPATH")])]),
           "BACKCOURT_LEASE_TTL_S": str(LEASE_TTL_S), "BACKCOURT_MAX_DELIVERIES": "5",
           "FIRESTORE_EMULATOR_HOST": firestore_emulator, "PUBSUB_EMULATOR_HOST": pubsub_emulator}
    process_env = {**env, "WORKERS": str(INSTANCES), "THREADS": "1",
                   "CLOUD_RUN_TIMEOUT_SECONDS": str(HANDLER_DEADLINE_S),
                   "BACKCOURT_FUNCTION_TIMEOUT_S": str(HANDLER_DEADLINE_S),
                   "BACKCOURT_TEST_HANG_ONCE": HANG_TABLE}
    ports = {name: free_port() for name in [*HTTP, "process"]}
    source = HERE / "scale_functions.py"
    servers = {name: (start_function(source, name, kind, ports[name], env, root / f"{name}.log"),
                      ports[name], root / f"{name}.log") for name, kind in HTTP.items()}
    servers["process"] = (start_function(source, "process", "cloudevent", ports["process"],
                                         process_env, root / "process.log"),
                          ports["process"], root / "process.log")
    pushes = PushLog()
    try:
        copy_season(tmp_path_factory, "2024-25", root / "bucket")  # while the servers start
        wait_listening(servers)
        with push_proxy(ports["process"], pushes, HANDLER_DEADLINE_S + 5) as endpoint:
            push_subscription(pubsub_emulator, f"projects/{PROJECT}/topics/{topic}", endpoint,
                              ack_deadline_s=HANDLER_DEADLINE_S)
            yield Stack(env=env, ports=ports, logs=root, topic=topic, pushes=pushes)
    finally:
        for proc, _, _ in servers.values():
            stop(proc)


def _run_workflow(stack: Stack) -> tuple[str, dict[str, Any], float]:
    urls = {n: f"http://127.0.0.1:{stack.ports[n]}/{n}" for n in HTTP}
    env = {**stack.env, "WORK_TOPIC": f"projects/{PROJECT}/topics/{stack.topic}",
           "POLL_INTERVAL_S": "2", "PHASE_DEADLINE_S": "600",
           "GOOGLE_CLOUD_WORKFLOW_EXECUTION_ID": f"scale-{uuid.uuid4().hex[:6]}",
           "PLAN_URL": urls["plan"], "PROGRESS_URL": urls["progress"],
           "VALIDATE_URL": urls["validate"]}
    args = {"start": START.isoformat(), "end": END.isoformat(), "phases": PHASES}
    began = time.monotonic()
    with subprocess.Popen([str(WF_PYTHON), str(HERE / "wf_run.py"),
                           str(REPO / "workflows" / "backfill.workflows.yaml"),
                           json.dumps(args)], env=env, stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, start_new_session=True, cwd=REPO) as proc:
        try:
            out, err = proc.communicate(timeout=900)
        finally:
            stop(proc)
    wall = time.monotonic() - began
    (stack.logs / "workflow.log").write_bytes(out + err)
    ended = [ln for ln in out.decode().splitlines()
             if ln.startswith(("WORKFLOW_RESULT ", "WORKFLOW_ERROR "))]
    assert ended, f"workflow did not end:\n{err.decode()[-4000:]}"
    kind, payload = ended[-1].split(" ", 1)
    return kind, json.loads(payload), wall


def _coverage(stack: Stack) -> tuple[int, int, list[tuple[str, str, str]]]:
    from backcourt.adapters.gcp.firestore_status import FirestoreStatusStore

    status = FirestoreStatusStore(PROJECT,
                                  collection_prefix=stack.env["BACKCOURT_GCP__COLLECTION_PREFIX"])
    try:
        docs = status.list([p.name for p in PROCESSORS], START, END)
    finally:
        status.close()
    expected = [d for d in docs if d.state is not State.NOT_EXPECTED]
    bad = [(d.processor, d.game_date.isoformat(), f"{d.state}: {d.reason}") for d in expected
           if d.state not in DONE]
    return len(expected) - len(bad), len(expected), bad


def _count(log: Path, pattern: str) -> list[str]:
    return re.findall(pattern, log.read_text(errors="replace"))


def test_scale_run_on_the_emulators(stack: Stack,
                                    record_property: Callable[[str, object], None]) -> None:
    inject_aborts(stack.logs / "bq", INJECTED_ABORTS)
    kind, result, wall = _run_workflow(stack)
    log = stack.logs / "process.log"
    instances = len(set(_count(log, r"SCALE_DELIVERED (\d+) ")))
    messages = sum(p["published"] for p in result["phases"])
    txn_aborts = aborts(stack.logs / "bq")
    reclaims = len(_count(log, r"LEASE_RECLAIMED"))
    done, expected, bad = _coverage(stack)
    blocks = sum(p["counts"].get("BLOCK", 0) for p in result["phases"])
    line = (f"cloud-scale: instances={instances} messages={messages} "
            f"redeliveries={stack.pushes.redeliveries} txn_aborts={txn_aborts} "
            f"lease_reclaims={reclaims} coverage={done}/{expected} block={blocks} "
            f"wall={wall:.0f}s")
    print(f"\n{line}")
    record_property(SUMMARY_LINE, line)
    print("phases:", json.dumps([{k: p[k] for k in ("phase", "published", "verdict", "counts")}
                                 for p in result["phases"]]))
    for phase in PHASES:  # per-unit times, the input of the README's timing model
        times = sorted(e[4] for e in stack.pushes.entries if e[1] == phase)
        if times:
            print(f"cloud-scale units: phase={phase} deliveries={len(times)} "
                  f"max={times[-1]:.1f}s median={times[len(times) // 2]:.1f}s")
    assert kind == "WORKFLOW_RESULT" and result["state"] == "succeeded", result
    assert [p["phase"] for p in result["phases"]] == PHASES
    assert not bad, bad[:20]
    assert blocks == 0
    assert instances >= INSTANCES
    assert _count(log, r"SCALE_HANG \d+"), "the hang fault never fired"
    # The killed delivery's message came again (same id) and its dates completed. Its lease
    # ended with the function's deadline, so the redelivery (after the ack deadline) takes the
    # dates as expired leases; LEASE_RECLAIMED counts redeliveries that found their lease live.
    assert stack.pushes.redeliveries >= 1
    assert txn_aborts > 0, "no BigQuery transaction was aborted: the fault never fired"
