"""The real workflow YAML on workflows-emulator, with what Google Cloud does and the emulator
does not (issue 13): per-function ``run.app`` URLs (#1), a 403 while a new ``run.invoker`` grant
propagates (#8), publishes that keep failing (#12), a child execution that fails (#4) or runs
longer than the ``executions.run`` connector's default timeout (#5).

Each function here is a small HTTP server on its own URL answering on ``/`` as a Cloud Run
function does; its answers are scripted (the fault injection: 403s, a BLOCK, a slow phase). The
GCP semantics the emulator lacks live in ``wf_run.py`` (HttpError tags, the child-execution
connector and its timeout, failing publishes). The real functions behind the real workflow are
covered by test_end_to_end.py and test_scenarios_cloud.py.
"""

from __future__ import annotations

import json
import os
import subprocess
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import yaml

from emulator_fixtures import rest

pytestmark = pytest.mark.emulator

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
WF_PYTHON = REPO / ".venv-wf" / "bin" / "python"
BACKFILL = REPO / "workflows" / "backfill.workflows.yaml"
DAILY = REPO / "workflows" / "daily.workflows.yaml"
PROJECT = "wfgcp"
POST, PRE = "2025-01-15", "2025-01-16"

Answer = Callable[[dict[str, Any], int], tuple[int, dict[str, Any]]]
"""(request body, how many calls before this one) → (status, JSON body)."""


@dataclass
class Function:
    """One function on its own URL; records (time, path, body) of every call."""

    answer: Answer
    url: str = ""
    calls: list[tuple[float, str, dict[str, Any]]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def bodies(self) -> list[dict[str, Any]]:
        return [c[2] for c in self.calls]


def _serve(fn: Function) -> ThreadingHTTPServer:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 (http.server's name)
            body = json.loads(self.rfile.read(int(self.headers.get("Content-Length") or 0))
                              or b"{}")
            with fn.lock:
                seen = len(fn.calls)
                fn.calls.append((time.monotonic(), self.path, body))
            status, reply = fn.answer(body, seen)
            data = json.dumps(reply).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
            """Quiet."""

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    fn.url = f"http://127.0.0.1:{server.server_address[1]}"
    return server


def no_units(body: dict[str, Any], seen: int) -> tuple[int, dict[str, Any]]:
    return 200, {"phase": body.get("phase"), "waves": [], "units": 0, "replan": False}


def finished(body: dict[str, Any], seen: int) -> tuple[int, dict[str, Any]]:
    return 200, {"finished": True, "in_flight": 0, "counts": {}}


def passes(body: dict[str, Any], seen: int) -> tuple[int, dict[str, Any]]:
    return 200, {"verdict": "PASS", "counts": {"passed": 1}}


@pytest.fixture
def functions() -> Iterator[Callable[..., dict[str, Function]]]:
    servers: list[ThreadingHTTPServer] = []

    def make(plan: Answer = no_units, progress: Answer = finished,
             validate: Answer = passes) -> dict[str, Function]:
        fns = {"plan": Function(plan), "progress": Function(progress),
               "validate": Function(validate)}
        servers.extend(_serve(f) for f in fns.values())
        return fns

    yield make
    for server in servers:
        server.shutdown()
        server.server_close()


def _need_emulator() -> None:
    if not WF_PYTHON.exists():
        msg = f"workflows-emulator venv missing at {WF_PYTHON}: run scripts/wf-venv.sh"
        if os.environ.get("CI") == "true":
            pytest.fail(msg)
        pytest.skip(msg)


def run(workflow: Path, args: dict[str, Any], fns: dict[str, Function],
        **env: str) -> tuple[bool, Any, str]:
    """Run ``workflow`` with the functions' URLs as Terraform sets them; (succeeded, the result
    or the raised error map, the log)."""
    _need_emulator()
    full = {**os.environ, "PLAN_URL": fns["plan"].url, "PROGRESS_URL": fns["progress"].url,
            "VALIDATE_URL": fns["validate"].url, "POLL_INTERVAL_S": "1",
            "PHASE_DEADLINE_S": "60", "WORK_TOPIC": f"projects/{PROJECT}/topics/none",
            "GOOGLE_CLOUD_WORKFLOW_EXECUTION_ID": f"wfgcp-{uuid.uuid4().hex[:8]}", **env}
    done = subprocess.run([str(WF_PYTHON), str(HERE / "wf_run.py"), str(workflow),
                           json.dumps(args)], env=full, capture_output=True, timeout=240,
                          cwd=REPO, check=False)
    out = done.stdout.decode()
    log = out + done.stderr.decode()[-4000:]
    for line in out.splitlines():
        if line.startswith("WORKFLOW_RESULT "):
            return True, json.loads(line.split(" ", 1)[1]), log
    for line in out.splitlines():
        if line.startswith("WORKFLOW_ERROR "):
            return False, json.loads(line.split(" ", 1)[1]), log
    return False, {}, log


ONE_DAY = {"start": POST, "end": POST, "phases": ["3"]}


# -- #1 each function on its own run.app URL ---------------------------------------------------


def test_backfill_calls_each_function_on_its_own_url(functions: Callable[..., Any]) -> None:
    """Issue 13 #1: plan, progress and validate are called on their own URLs (Terraform passes
    each function's ``service_config[0].uri``, its run.app URL), not ``FUNCTIONS_URL + "/plan"``
    on the cloudfunctions.net host.

    Internal ingress allows "The following Google Cloud products, if they're in the same project
    or VPC Service Controls perimeter as your Cloud Run service and if they're using the default
    run.app URL and not a custom domain: ... Workflows"
    https://cloud.google.com/run/docs/securing/ingress
    """
    fns = functions()
    ok, result, log = run(BACKFILL, ONE_DAY, fns)
    assert ok, log
    assert [p["verdict"] for p in result["phases"]] == ["PASS"]
    for name in ("plan", "progress", "validate"):
        assert [c[1] for c in fns[name].calls] == ["/"], (name, fns[name].calls)
        assert fns[name].bodies()[0]["phase"] == "3"


def test_backfill_refuses_to_start_without_the_function_urls(
        functions: Callable[..., Any]) -> None:
    """A missing URL fails the execution at once, naming the variables to set."""
    fns = functions()
    ok, error, log = run(BACKFILL, ONE_DAY, fns, PLAN_URL="")
    assert not ok and fns["plan"].calls == [], log
    assert "PLAN_URL" in error.get("message", ""), error


# -- #8 a 403 while run.invoker propagates ------------------------------------------------------


def _denied_first(times: int) -> Answer:
    def answer(body: dict[str, Any], seen: int) -> tuple[int, dict[str, Any]]:
        if seen < times:
            return 403, {"error": "Forbidden: the caller does not have permission"}
        return no_units(body, seen)
    return answer


IAM_QUOTE = """
    "Changes to allow or deny policies typically propagate in 2 minutes, but could potentially
    take 7 minutes or longer." https://cloud.google.com/iam/docs/access-change-propagation
"""


def test_a_403_while_the_invoker_grant_propagates_is_retried(
        functions: Callable[..., Any]) -> None:
    """Issue 13 #8: the first calls after ``terraform apply`` may answer 403 until the new
    ``roles/run.invoker`` grant propagates; the workflow waits (backoff) and goes on.

    "Changes to allow or deny policies typically propagate in 2 minutes, but could potentially
    take 7 minutes or longer." https://cloud.google.com/iam/docs/access-change-propagation
    (AUTH_RETRY_DELAY_S/AUTH_RETRY_BUDGET_S scale the 15 s first wait and 600 s budget down.)
    """
    fns = functions(plan=_denied_first(2))
    ok, result, log = run(BACKFILL, ONE_DAY, fns, AUTH_RETRY_DELAY_S="1",
                          AUTH_RETRY_BUDGET_S="4")
    assert ok, log
    assert len(fns["plan"].calls) == 3
    assert [p["verdict"] for p in result["phases"]] == ["PASS"]


def test_a_403_that_stays_fails_after_a_bounded_wait(functions: Callable[..., Any]) -> None:
    """Issue 13 #8: a 403 that outlasts the budget (default 600 s, above the documented 7
    minutes) is permanent: the execution fails with the 403 after a bounded number of calls
    (waits 1 s and 2 s with a 4 s budget: 3 calls), and nothing after plan runs.

    "Changes to allow or deny policies typically propagate in 2 minutes, but could potentially
    take 7 minutes or longer." https://cloud.google.com/iam/docs/access-change-propagation
    """
    fns = functions(plan=_denied_first(10**6))
    started = time.monotonic()
    ok, error, log = run(BACKFILL, ONE_DAY, fns, AUTH_RETRY_DELAY_S="1",
                         AUTH_RETRY_BUDGET_S="4")
    assert not ok, log
    assert error.get("code") == 403 and "HttpError" in error.get("tags", []), error
    assert len(fns["plan"].calls) == 3
    assert fns["progress"].calls == [] and fns["validate"].calls == []
    assert time.monotonic() - started < 60


# -- #12 publishes that keep failing ------------------------------------------------------------


def _three_units(body: dict[str, Any], seen: int) -> tuple[int, dict[str, Any]]:
    units = [{"run_id": body["run_id"], "phase": "3", "processors": ["player_game_summary"],
              "start_date": d, "end_date": d, "mode": "backfill", "attempt": 0}
             for d in ("2025-01-13", "2025-01-14", "2025-01-15")]
    return 200, {"phase": "3", "waves": [units], "units": 3, "replan": False}


@pytest.fixture
def topic(pubsub_emulator: str) -> str:
    name = f"projects/{PROJECT}/topics/work-{uuid.uuid4().hex[:8]}"
    rest(pubsub_emulator, "PUT", name)
    return name


def test_a_publish_that_keeps_failing_fails_the_phase_naming_the_units(
        functions: Callable[..., Any], topic: str) -> None:
    """Issue 13 #12: every publish answers 503, the retries (``http.default_retry``) run out:
    the phase fails at once, naming each unit not published (processors and dates), instead of
    polling progress until the phase deadline for work that was never sent.

    "http.default_retry: Simple default retry policy for idempotent targets. Retries on 429 (Too
    Many Requests), 502 (Bad Gateway), 503 (Service unavailable), and 504 (Gateway Timeout), as
    well as on ConnectionError and TimeoutError. Uses max_retries of 5" (and the backoff
    initial_delay 1, max_delay 60, multiplier 1.25)
    https://cloud.google.com/workflows/docs/reference/stdlib/http/default_retry
    """
    fns = functions(plan=_three_units)
    ok, error, log = run(BACKFILL, ONE_DAY, fns, WORK_TOPIC=topic,
                         BACKCOURT_TEST_FAIL_PUBLISH="1000", PHASE_DEADLINE_S="5")
    assert not ok, log
    assert error.get("state") == "publish_failed" and error.get("phase") == "3", error
    assert error["publish_failures"] == 3 and error["published"] == 0
    assert sorted((u["processors"], u["start_date"], u["end_date"])
                  for u in error["unpublished"]) == [
        (["player_game_summary"], d, d) for d in ("2025-01-13", "2025-01-14", "2025-01-15")]
    assert "3 unit(s) not published" in error["message"]
    assert fns["progress"].calls == [] and fns["validate"].calls == []


def test_a_publish_that_fails_then_succeeds_is_retried(
        functions: Callable[..., Any], topic: str, pubsub_emulator: str) -> None:
    """Issue 13 #12: two 503s are retried (``http.default_retry``), every unit is published
    and the phase goes on to progress and the gate."""
    fns = functions(plan=_three_units)
    ok, result, log = run(BACKFILL, ONE_DAY, fns, WORK_TOPIC=topic,
                          BACKCOURT_TEST_FAIL_PUBLISH="2")
    assert ok, log
    (phase,) = result["phases"]
    assert (phase["published"], phase["publish_failures"]) == (3, 0)
    assert fns["validate"].calls


# -- #4 and #5 the daily workflow's child executions --------------------------------------------


def _blocks_on(day: str) -> Answer:
    def answer(body: dict[str, Any], seen: int) -> tuple[int, dict[str, Any]]:
        if body.get("start") == day:
            return 200, {"verdict": "BLOCK", "counts": {"blocked": 1}}
        return passes(body, seen)
    return answer


DAILY_ARGS = {"post_game_date": POST, "pre_game_date": PRE, "trigger_event": "tick-1"}
DAILY_ENV = {"BACKFILL_WORKFLOW": "bc-backfill", "GOOGLE_CLOUD_PROJECT_ID": PROJECT,
             "GOOGLE_CLOUD_LOCATION": "us-east1"}


def test_a_failed_chain_fails_the_daily_execution(functions: Callable[..., Any]) -> None:
    """Issue 13 #4: the post-game child BLOCKs (its execution FAILED); the pre-game chain still
    runs, then the daily execution ends FAILED with both chains' outcomes, so the
    failed-execution alert fires (it used to return them as a success).

    ``executions.run`` "Raised exceptions: ExecutionError — If the execution finishes
    unsuccessfully." https://cloud.google.com/workflows/docs/reference/stdlib/experimental.executions/run
    (the deprecated routine the connector helper replaces, with the same contract).
    """
    fns = functions(validate=_blocks_on(POST))
    ok, error, log = run(DAILY, DAILY_ARGS, fns, **DAILY_ENV)
    assert not ok, log
    chains = {c["chain"]: c for c in error.get("chains", [])}
    assert set(chains) == {"post_game", "pre_game"}, error
    assert chains["post_game"]["outcome"]["state"] == "failed"
    assert "ExecutionError" in chains["post_game"]["outcome"]["tags"]
    assert chains["pre_game"]["outcome"]["state"] == "succeeded"
    assert {b["start"] for b in fns["plan"].bodies()} == {POST, PRE}  # both chains ran


def _slow_on(day: str, polls: int) -> Answer:
    def answer(body: dict[str, Any], seen: int) -> tuple[int, dict[str, Any]]:
        if body.get("start") == day and seen < polls:
            return 200, {"finished": False, "in_flight": 1, "counts": {}}
        return finished(body, seen)
    return answer


def test_a_child_longer_than_the_connector_default_is_awaited(
        functions: Callable[..., Any]) -> None:
    """Issue 13 #5: the ``executions.run`` connector call stops waiting after its timeout,
    1800 s by default, while a backfill child may run for hours; then the pre-game chain would
    start while the post-game one still writes. The daily workflow sets
    ``connector_params.timeout`` from PHASE_DEADLINE_S. Here time is scaled down 1000× (the
    default is 1.8 s) and the post-game child takes about 4 s: it is awaited, and the pre-game
    chain starts after its last gate.

    "TIMEOUT_IN_SECONDS: time in seconds. The end-to-end duration the connector call is allowed
    to run for before throwing a timeout exception. The default value is 1800"
    https://cloud.google.com/workflows/docs/reference/googleapis ; ``executions.run`` raises
    "TimeoutError — If the execution takes more than 30 minutes to finish."
    https://cloud.google.com/workflows/docs/reference/stdlib/experimental.executions/run
    """
    fns = functions(progress=_slow_on(POST, 4))
    ok, result, log = run(DAILY, DAILY_ARGS, fns, BACKCOURT_TEST_CONNECTOR_SCALE="0.001",
                          PHASE_DEADLINE_S="3600", **DAILY_ENV)
    assert ok, log
    assert [(c["chain"], c["outcome"]["state"]) for c in result] == [
        ("post_game", "succeeded"), ("pre_game", "succeeded")]
    last_post = max(t for t, _, b in fns["validate"].calls if b["start"] == POST)
    first_pre = min(t for t, _, b in fns["plan"].calls if b["start"] == PRE)
    assert last_post < first_pre


def test_the_connector_timeout_covers_the_phase_deadlines() -> None:
    """Issue 13 #5, statically: the child call's ``connector_params.timeout`` (a literal: the
    Workflows schema types it ``integer``) is above the 1800 s default, within the documented
    maximum, equal to what check_config compares PHASE_DEADLINE_S against, and covers Terraform's
    default phase deadline for both chains.

    "TIMEOUT_IN_SECONDS ... The end-to-end duration the connector call is allowed to run for
    before throwing a timeout exception. The default value is 1800 and this should be the maximum
    for connector methods that are not long-running operations. Otherwise, for long-running
    operations, the maximum timeout for a connector call is 31536000 seconds (one year)."
    https://cloud.google.com/workflows/docs/reference/googleapis
    """
    doc = yaml.safe_load(DAILY.read_text())
    steps = {next(iter(s)): s[next(iter(s))] for s in doc["main"]["steps"]}
    loop = {next(iter(s)): s[next(iter(s))] for s in steps["run_chains"]["for"]["steps"]}
    call = loop["run_chain"]["try"]
    assert call["call"].endswith("workflowexecutions.v1.projects.locations.workflows."
                                 "executions.run")
    timeout = call["args"]["connector_params"]["timeout"]
    assigned = {next(iter(a)): a[next(iter(a))] for a in steps["init"]["assign"]}
    assert isinstance(timeout, int) and 1800 < timeout <= 31_536_000
    assert assigned["connector_timeout_s"] == timeout
    default_deadline = 3600  # terraform/variables.tf phase_deadline_s, PHASE_DEADLINE_S default
    for chain in assigned["chains"]:
        assert default_deadline * (len(chain["phases"]) + 1) + 1800 <= timeout


def test_a_phase_deadline_beyond_the_connector_timeout_fails_at_once(
        functions: Callable[..., Any]) -> None:
    """Issue 13 #5: a PHASE_DEADLINE_S the connector timeout cannot cover fails the daily
    execution before any child starts (instead of a child cut half way)."""
    fns = functions()
    ok, error, log = run(DAILY, DAILY_ARGS, fns, PHASE_DEADLINE_S="20000", **DAILY_ENV)
    assert not ok, log
    assert "PHASE_DEADLINE_S" in error.get("message", ""), error
    assert fns["plan"].calls == []
