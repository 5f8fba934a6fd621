"""Run a workflow in ``workflows-emulator`` against local servers (run with ``.venv-wf/bin/python``).

    .venv-wf/bin/python tests/cloud/wf_run.py WORKFLOW.yaml '{"start": ...}'

Two shims, both outside the workflow YAML (which stays the production definition):

* ``auth: {type: OIDC}`` is not implemented by the emulator (NotImplementedError); locally the
  functions-framework servers check no token, so OIDC calls go out without credentials.
* ``googleapis.pubsub.v1.*`` connectors call ``https://pubsub.googleapis.com/`` with Application
  Default Credentials; they are sent to ``http://$PUBSUB_EMULATOR_HOST/`` without credentials.

Prints the execution result as one JSON line prefixed ``WORKFLOW_RESULT``; exits 1 on failure.
"""

from __future__ import annotations

import json
import os
import sys
from typing import Any

from workflows_emulator import main as wf_main
from workflows_emulator.lib import http_utils

PUBSUB_ROOT = "https://pubsub.googleapis.com/"
_real_request = http_utils.request


def _request(method: str, url: str, **kwargs: Any) -> Any:
    auth = kwargs.get("auth") or {}
    if auth.get("type") == "OIDC":
        kwargs["auth"] = None
    if url.startswith(PUBSUB_ROOT):
        url = f"http://{os.environ['PUBSUB_EMULATOR_HOST']}/" + url[len(PUBSUB_ROOT):]
        kwargs["auth"] = None
    return _real_request(method, url, **kwargs)


def _connector_request(**kwargs: Any) -> Any:
    return _request(kwargs.pop("method"), kwargs.pop("url"), **kwargs)


def main(argv: list[str]) -> int:
    """Load and run the workflow ``argv[1]`` with the JSON arguments ``argv[2]``."""
    http_utils.request = _request
    wf_main.authenticated_request = _connector_request
    config = wf_main.load_workflow(argv[1])
    try:
        result = wf_main.execute_workflow(config, json.loads(argv[2]))
    except Exception as exc:  # noqa: BLE001 - report any failure of the execution
        print("WORKFLOW_FAILED", type(exc).__name__, exc, flush=True)
        return 1
    print("WORKFLOW_RESULT", json.dumps(result, default=str), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
