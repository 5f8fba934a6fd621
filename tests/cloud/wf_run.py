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
* ``FUNCTIONS_URL`` is one base URL; each function has its own local server, so
  ``BACKCOURT_TEST_ROUTES`` (``{"/plan": port, …}``) sends each path to its server's port.
* ``googleapis.pubsub.v1.*`` connectors call ``https://pubsub.googleapis.com/`` with Application
  Default Credentials; they are sent to ``http://$PUBSUB_EMULATOR_HOST/`` without credentials.

Prints the execution result as one JSON line prefixed ``WORKFLOW_RESULT``; exits 1 on failure.
"""

from __future__ import annotations

import contextvars
import json
import logging
import os
import sys
import traceback
from typing import Any

from workflows_emulator import main as wf_main
from workflows_emulator import render as wf_render
from workflows_emulator.lib import http_utils

PUBSUB_ROOT = "https://pubsub.googleapis.com/"
_real_request = http_utils.request
_real_render_str = wf_render.render_str


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
    routes = json.loads(os.environ.get("BACKCOURT_TEST_ROUTES", "{}"))
    base = os.environ.get("FUNCTIONS_URL", "")
    if base and url.startswith(base):
        path = url[len(base):]
        if path in routes:
            url = f"http://127.0.0.1:{routes[path]}{path}"
    if url.startswith(PUBSUB_ROOT):
        url = f"http://{os.environ['PUBSUB_EMULATOR_HOST']}/" + url[len(PUBSUB_ROOT):]
        kwargs["auth"] = None
    return _real_request(method, url, **kwargs)


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
