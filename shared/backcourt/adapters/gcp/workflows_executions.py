"""Start Cloud Workflows executions (the ``daily`` workflow) with an explicit JSON argument.

The ExecutionsClient is created on first use; tests inject a fake with the same
``create_execution(parent=, execution=)`` method.
"""

from __future__ import annotations

import json
from typing import Any

from backcourt.domain.errors import TerminalError, TransientError


class WorkflowStarter:
    """Starts executions of one workflow (``projects/…/locations/…/workflows/…``)."""

    def __init__(self, workflow: str, *, client: Any | None = None) -> None:
        if workflow.count("/") != 5 or not workflow.startswith("projects/"):
            raise TerminalError(f"bad workflow path {workflow!r}: expected "
                                "projects/P/locations/L/workflows/W")
        self.workflow = workflow
        self._client = client

    def _c(self) -> Any:
        if self._client is None:
            from google.cloud.workflows import executions_v1

            self._client = executions_v1.ExecutionsClient()
        return self._client

    def start(self, argument: dict[str, Any]) -> str:
        """Start one execution with ``argument`` (JSON); returns the execution's name."""
        from google.api_core import exceptions as gexc
        from google.cloud.workflows import executions_v1

        execution = executions_v1.Execution(argument=json.dumps(argument, sort_keys=True))
        try:
            started = self._c().create_execution(parent=self.workflow, execution=execution)
        except (gexc.TooManyRequests, gexc.ServerError, gexc.RetryError) as exc:
            raise TransientError(f"start {self.workflow}: {exc}") from exc
        except gexc.GoogleAPICallError as exc:
            raise TerminalError(f"start {self.workflow}: {exc}") from exc
        return str(getattr(started, "name", "") or "")
