"""Check a smoke backfill execution: Cloud Build's ``smoke-verdicts`` step (cloudbuild.yaml).

Reads the execution that ``gcloud workflows run … --format=json`` printed (the Workflows
Execution resource: ``state``; ``result``, a JSON string, when SUCCEEDED; ``error.payload``, a
JSON string, when FAILED) and exits 1 unless the execution SUCCEEDED, no phase's gate verdict is
BLOCK, and the gates judged at least one date (an empty bucket processes nothing and must not
pass). The backfill workflow returns, or raises on BLOCK, ``{run_id, state, phases: [{phase,
verdict, counts: {PASS, WARN, BLOCK}, …}]}``. Prints one line per phase and a verdict line.

    python scripts/smoke_check.py smoke-execution.json
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any


def _json(text: Any) -> Any:
    """A JSON string decoded; anything else (or unparseable text) as it is."""
    if not isinstance(text, str):
        return text
    try:
        return json.loads(text)
    except ValueError:
        return text


def report_of(execution: dict[str, Any]) -> dict[str, Any]:
    """The workflow's own report: its result, or the payload of the error it raised."""
    result = _json(execution.get("result"))
    if isinstance(result, dict):
        return result
    error = execution.get("error")
    payload = _json(error.get("payload")) if isinstance(error, dict) else None
    return payload if isinstance(payload, dict) else {}


def problems(execution: dict[str, Any]) -> tuple[list[str], list[str]]:
    """(lines describing each phase, problems that fail the smoke run)."""
    state = str(execution.get("state", "UNKNOWN"))
    phases = report_of(execution).get("phases") or []
    lines, found = [], []
    judged = 0
    for phase in phases:
        counts = phase.get("counts") or {}
        judged += sum(int(counts.get(k, 0)) for k in ("PASS", "WARN", "BLOCK"))
        lines.append(f"phase {phase.get('phase')}: {phase.get('verdict')} "
                     + " ".join(f"{k}={counts.get(k, 0)}" for k in ("PASS", "WARN", "BLOCK")))
        if phase.get("verdict") == "BLOCK" or int(counts.get("BLOCK", 0)) > 0:
            found.append(f"phase {phase.get('phase')} BLOCKed {counts.get('BLOCK', 0)} date(s)")
    if state != "SUCCEEDED":
        error = execution.get("error")
        context = error.get("context", "") if isinstance(error, dict) else ""
        found.append(f"execution state {state}" + (f": {context}" if context else ""))
    if not phases:
        found.append("the execution reported no phases")
    elif judged == 0:
        found.append("the gates judged no date: was any data loaded?")
    return lines, found


def main(argv: list[str] | None = None) -> int:
    """Exit status 0 when the smoke backfill passed, 1 otherwise."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("execution", type=Path, help="JSON of the execution (gcloud --format=json)")
    args = parser.parse_args(argv)
    try:
        execution = json.loads(args.execution.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        print(f"smoke: FAILED: cannot read the execution {args.execution}: {exc}")
        return 1
    lines, found = problems(execution if isinstance(execution, dict) else {})
    for line in lines:
        print(f"smoke: {line}")
    if found:
        print("smoke: FAILED: " + "; ".join(found))
        return 1
    print("smoke: passed (no BLOCK, dates processed)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
