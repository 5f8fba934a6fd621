"""Run a workflow in ``workflows-emulator`` on local servers (run by ``.venv-wf/bin/python``).

    .venv-wf/bin/python tests/cloud/wf_run.py WORKFLOW.yaml '{"start": ...}'

Shims, all outside the workflow YAML (which stays the production definition):

* The emulator evaluates expressions as Python: the Workflows literals ``null``, ``true`` and
  ``false`` are added to its standard library as ``None``, ``True`` and ``False``.
* A value that is one whole expression (``${scope.season}``) keeps its type, as in Workflows
  (the emulator stringifies and re-parses it as YAML, which turns ``null`` into ``"None"``).
* A ``parallel for`` sets its loop variables as ``contextvars`` in the caller's context and
  leaves them set; the next ``parallel for`` with the same variable name then reads the first
  loop's stale value (every unit of phase 2's second wave was published as the schedule unit),
  and the debug ``repr`` of a context recurses without end. Each parallel step runs in a copy of
  the context instead, so nothing leaks out of it.
* ``auth: {type: OIDC}`` is not implemented by the emulator (NotImplementedError); locally the
  functions-framework servers check no token, so OIDC calls go out without credentials.
* ``googleapis.pubsub.v1.*`` connectors call ``https://pubsub.googleapis.com/`` with Application
  Default Credentials; they are sent to ``http://$PUBSUB_EMULATOR_HOST/`` without credentials.
* An HTTP error status raises the emulator's ``HTTPError`` tag (the ``requests`` class name) and
  a refused connection or a timeout escapes as a Python exception; Workflows raises a map tagged
  ``HttpError`` (with ``code``, ``headers``, ``body``), ``ConnectionError`` or ``TimeoutError``,
  so the workflow's retry predicates see what they see on Google Cloud.

GCP semantics the emulator lacks (fault injection, all opt-in or Google's defaults):

* ``googleapis.workflowexecutions.v1.projects.locations.workflows.executions.run`` (a connector
  helper, absent from the discovery documents) runs the child workflow's real YAML in-process in
  its own thread: ``BACKCOURT_TEST_WORKFLOWS`` (``{"workflow_id": "path.yaml"}``) names it, else
  ``workflows/<id after its last "-">.workflows.yaml``. As on Google Cloud, a child that fails
  raises ``ExecutionError`` and the call times out after ``connector_params.timeout`` (default
  1800 s) with ``TimeoutError`` while the child goes on running; ``BACKCOURT_TEST_CONNECTOR_SCALE``
  (default 1) scales that timeout down to test time.
* ``BACKCOURT_TEST_FAIL_PUBLISH=N``: the first N ``googleapis.pubsub.v1.projects.topics.publish``
  calls answer 503 (each retry counts one).

Prints the execution result as one JSON line prefixed ``WORKFLOW_RESULT``; exits 1 on failure.
"""

from __future__ import annotations

import contextvars
import json
import logging
import os
import sys
import threading
import traceback
from pathlib import Path
from typing import Any

import requests
from workflows_emulator import main as wf_main
from workflows_emulator import render as wf_render
from workflows_emulator.lib import http_utils
from workflows_emulator.utils import WorkflowError

PUBSUB_ROOT = "https://pubsub.googleapis.com/"
RUN_CHILD = "googleapis.workflowexecutions.v1.projects.locations.workflows.executions.run"
PUBLISH = "googleapis.pubsub.v1.projects.topics.publish"
CONNECTOR_DEFAULT_TIMEOUT_S = 1800
REPO = Path(__file__).resolve().parents[2]
_real_request = http_utils.request
_real_render_str = wf_render.render_str
_real_execute_connector = wf_main.StepCall.execute_connector
_publish_faults = {"left": 0}
_publish_lock = threading.Lock()


def _render_str(value: Any, context: dict[str, Any]) -> Any:
    if (isinstance(value, str) and value.startswith("${") and value.endswith("}")
            and value.count("${") == 1):
        return wf_render.run_code(value[2:-1], context)
    return _real_render_str(value, context)


def _isolated(method: Any) -> Any:
    def run(self: Any, *args: Any, **kwargs: Any) -> Any:
        return contextvars.copy_context().run(method, self, *args, **kwargs)
    return run


def _request(method: str, url: str, **kwargs: Any) -> Any:
    auth = kwargs.get("auth") or {}
    if auth.get("type") == "OIDC":
        kwargs["auth"] = None
    if url.startswith(PUBSUB_ROOT):
        url = f"http://{os.environ['PUBSUB_EMULATOR_HOST']}/" + url[len(PUBSUB_ROOT):]
        kwargs["auth"] = None
    try:
        return _real_request(method, url, **kwargs)
    except requests.HTTPError as exc:  # Workflows: {"tags": ["HttpError"], "code", …}
        reply = exc.response
        body: Any = reply.text
        if "application/json" in reply.headers.get("Content-Type", ""):
            body = reply.json()
        raise WorkflowError(message=f"HTTP server responded with error code {reply.status_code}",
                            tags=["HttpError"], code=reply.status_code,
                            headers=dict(reply.headers), body=body) from None
    except requests.Timeout as exc:
        raise WorkflowError(message=str(exc), tags=["TimeoutError"]) from None
    except requests.ConnectionError as exc:
        raise WorkflowError(message=str(exc), tags=["ConnectionError"]) from None


def _child_path(workflow_id: str) -> Path:
    named = json.loads(os.environ.get("BACKCOURT_TEST_WORKFLOWS", "{}"))
    if workflow_id in named:
        return Path(named[workflow_id])
    return REPO / "workflows" / f"{workflow_id.rsplit('-', 1)[-1]}.workflows.yaml"


def _run_child(args: dict[str, Any]) -> Any:
    """The ``executions.run`` connector: run the child's YAML, wait at most the connector
    timeout (scaled); a failed child raises ExecutionError, a late one TimeoutError."""
    params = dict(args.get("connector_params") or {})
    timeout_s = float(params.get("timeout") or CONNECTOR_DEFAULT_TIMEOUT_S)
    scale = float(os.environ.get("BACKCOURT_TEST_CONNECTOR_SCALE", "1"))
    config = wf_main.load_workflow(str(_child_path(str(args["workflow_id"]))))
    name = config.get("main", {}).get("params", ["args"])[0]
    outcome: dict[str, Any] = {}

    def child() -> None:
        try:
            outcome["result"] = wf_main.execute_workflow(config, {name: args.get("argument")})
        except Exception as exc:  # noqa: BLE001 - the child execution FAILED
            outcome["error"] = exc

    thread = threading.Thread(target=contextvars.Context().run, args=(child,), daemon=True)
    thread.start()
    thread.join(timeout_s * scale)
    if thread.is_alive():
        raise WorkflowError(message=f"the child execution did not finish within the connector "
                                    f"timeout of {timeout_s:.0f} s", tags=["TimeoutError"])
    if "error" in outcome:
        error = outcome["error"]
        payload = getattr(error, "payload", None)
        raise WorkflowError(message=f"the child execution failed: {error}",
                            tags=["ExecutionError"],
                            error=dict(payload) if isinstance(payload, dict) else str(error))
    return outcome.get("result")


def _execute_connector(rendered_step: dict[str, Any]) -> Any:
    call = rendered_step["call"]
    args = dict(rendered_step.get("args") or {})
    if call == RUN_CHILD:
        return _run_child(args)
    if call == PUBLISH:
        with _publish_lock:
            fail = _publish_faults["left"] > 0
            _publish_faults["left"] -= int(fail)
        if fail:
            raise WorkflowError(message="HTTP server responded with error code 503",
                                tags=["HttpError"], code=503, headers={},
                                body={"error": {"code": 503, "status": "UNAVAILABLE"}})
    args.pop("connector_params", None)
    return _real_execute_connector({**rendered_step, "args": args})


def _connector_request(**kwargs: Any) -> Any:
    return _request(kwargs.pop("method"), kwargs.pop("url"), **kwargs)


def main(argv: list[str]) -> int:
    """Load and run the workflow ``argv[1]`` with the JSON arguments ``argv[2]``."""
    logging.basicConfig(level=os.environ.get("WF_LOGLEVEL", "WARNING"))
    http_utils.request = _request
    wf_render.render_str = _render_str
    wf_main.StepParallel.execute_task_config = _isolated(  # type: ignore[method-assign]
        wf_main.StepParallel.execute_task_config)
    wf_render.STANDARD_LIBRARY.update({"null": None, "true": True, "false": False})
    wf_main.authenticated_request = _connector_request
    wf_main.StepCall.execute_connector = staticmethod(_execute_connector)  # type: ignore[method-assign]
    _publish_faults["left"] = int(os.environ.get("BACKCOURT_TEST_FAIL_PUBLISH", "0") or 0)
    config = wf_main.load_workflow(argv[1])
    try:
        name = config.get("main", {}).get("params", ["args"])[0]  # as the emulator's CLI does
        result = wf_main.execute_workflow(config, {name: json.loads(argv[2])})
    except Exception as exc:  # noqa: BLE001 - report any failure of the execution
        traceback.print_exc(limit=-30)
        payload = getattr(exc, "payload", None)
        if isinstance(payload, dict):  # a raised error map: what the execution's error holds
            print("WORKFLOW_ERROR", json.dumps(dict(payload), default=str), flush=True)
        print("WORKFLOW_FAILED", type(exc).__name__, exc, flush=True)
        return 1
    print("WORKFLOW_RESULT", json.dumps(result, default=str), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
