"""Cloud Workflows executions: start one (the ``daily`` workflow) with an explicit JSON argument,
read one back, cancel one (``backcourt cancel`` on the gcp backend).

The ExecutionsClient is created on first use; tests inject a stand-in with the same
``create_execution(parent=, execution=)``, ``get_execution(name=)`` and
``cancel_execution(name=)`` methods (there is no Workflows executions emulator).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from backcourt.domain.errors import BadInput, TerminalError, TransientError

T = TypeVar("T")


@dataclass(frozen=True)
class ExecutionInfo:
    """What backcourt needs of one execution: its full name, state and JSON argument."""

    name: str
    state: str
    """ACTIVE, QUEUED, SUCCEEDED, FAILED, CANCELLED, UNAVAILABLE or STATE_UNSPECIFIED."""
    argument: dict[str, Any] = field(default_factory=dict)

    @property
    def execution_id(self) -> str:
        """The last path segment (the workflow's ``GOOGLE_CLOUD_WORKFLOW_EXECUTION_ID``)."""
        return self.name.rsplit("/", 1)[-1]

    @property
    def running(self) -> bool:
        """Whether the execution can still be cancelled."""
        return self.state in ("ACTIVE", "QUEUED")


class WorkflowStarter:
    """Starts, reads and cancels executions of one workflow
    (``projects/…/locations/…/workflows/…``)."""

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

    def _call(self, what: str, fn: Callable[[], T], *, missing_is_bad_input: bool = True) -> T:
        """Run one API call; 429/5xx/retry exhaustion → TransientError, other API errors →
        TerminalError (404 → BadInput when asked: the named execution does not exist)."""
        from google.api_core import exceptions as gexc

        try:
            return fn()
        except gexc.NotFound as exc:
            if not missing_is_bad_input:
                raise TerminalError(f"{what}: {exc}") from exc
            raise BadInput(f"{what}: not found ({exc.message})") from exc
        except (gexc.TooManyRequests, gexc.ServerError, gexc.RetryError) as exc:
            raise TransientError(f"{what}: {exc}") from exc
        except gexc.GoogleAPICallError as exc:
            raise TerminalError(f"{what}: {exc}") from exc

    def start(self, argument: dict[str, Any]) -> str:
        """Start one execution with ``argument`` (JSON); returns the execution's name."""
        from google.cloud.workflows import executions_v1

        execution = executions_v1.Execution(argument=json.dumps(argument, sort_keys=True))
        started = self._call(f"start {self.workflow}", lambda: self._c().create_execution(
            parent=self.workflow, execution=execution), missing_is_bad_input=False)
        return str(getattr(started, "name", "") or "")

    def start_once(self, argument: dict[str, Any], labels: dict[str, str]) -> tuple[str, bool]:
        """Start one execution labelled ``labels`` unless one with the same labels exists (in any
        state); returns ``(its name, whether this call started it)``.

        The Executions API takes no caller-chosen execution id, so a redelivered trigger is
        recognised by its labels (``executions.list`` filters on them). A check then a create:
        a delivery arriving after the first one started is refused; two deliveries inside the
        same list→create instant are not (a create-if-absent claim in the status store would be).
        """
        from google.cloud.workflows import executions_v1

        query = " AND ".join(f'labels.{k}="{v}"' for k, v in sorted(labels.items()))
        found = self._call(f"list {self.workflow}", lambda: next(iter(self._c().list_executions(
            request={"parent": self.workflow, "filter": query, "page_size": 1})), None),
            missing_is_bad_input=False)
        if found is not None:
            return str(getattr(found, "name", "") or ""), False
        execution = executions_v1.Execution(argument=json.dumps(argument, sort_keys=True),
                                            labels=labels)
        started = self._call(f"start {self.workflow}", lambda: self._c().create_execution(
            parent=self.workflow, execution=execution), missing_is_bad_input=False)
        return str(getattr(started, "name", "") or ""), True

    def execution_name(self, execution: str) -> str:
        """The full name of an execution given its id or its full name (of this workflow).

        Raises:
            BadInput: a full name of another workflow, or an id with a ``/``.
        """
        if execution.startswith("projects/"):
            if not execution.startswith(f"{self.workflow}/executions/"):
                raise BadInput(f"execution {execution!r} is not one of {self.workflow}")
            return execution
        if not execution or "/" in execution:
            raise BadInput(f"bad execution id {execution!r}")
        return f"{self.workflow}/executions/{execution}"

    def get(self, execution: str) -> ExecutionInfo:
        """State and argument of an execution (its id or full name)."""
        name = self.execution_name(execution)
        got = self._call(f"get {name}", lambda: self._c().get_execution(name=name))
        return _info(name, got)

    def cancel(self, execution: str) -> ExecutionInfo:
        """Cancel a running execution (its id or full name); returns its state afterwards."""
        name = self.execution_name(execution)
        got = self._call(f"cancel {name}", lambda: self._c().cancel_execution(name=name))
        return _info(name, got)


def _info(name: str, execution: Any) -> ExecutionInfo:
    state = getattr(execution, "state", None)
    label = str(getattr(state, "name", state) or "STATE_UNSPECIFIED")
    raw = getattr(execution, "argument", "") or "{}"
    try:
        argument = json.loads(raw)
    except ValueError:
        argument = {}
    return ExecutionInfo(name, label, argument if isinstance(argument, dict) else {})
