"""Offline checks of ``cloudbuild.yaml``: operators reach the deployment (``_OPERATOR_MEMBERS``
becomes Terraform's ``operator_members``), and the smoke run loads data, runs the deployed backfill
workflow over a short range and fails the build on a BLOCK verdict or on nothing processed
(issue 13, items 4 and 13). The build's shell steps run here as Cloud Build would run them: its
substitutions applied (``$$`` → ``$``), with a stub ``terraform`` that records its arguments."""

from __future__ import annotations

import importlib.util
import json
import os
import re
import shutil
import subprocess
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

yaml = pytest.importorskip("yaml")

REPO = Path(__file__).resolve().parents[2]
CLOUDBUILD = REPO / "cloudbuild.yaml"
_SUBSTITUTION = re.compile(r"\$\$|\$\{(\w+)\}|\$(\w+)")


def _build() -> dict[str, Any]:
    doc: dict[str, Any] = yaml.safe_load(CLOUDBUILD.read_text(encoding="utf-8"))
    return doc


def _steps() -> dict[str, dict[str, Any]]:
    return {step["id"]: step for step in _build()["steps"]}


def _substitute(text: str, values: dict[str, str]) -> str:
    """Cloud Build's substitution: ``$$`` is a literal ``$``; ``$NAME``/``${NAME}`` a value."""
    def one(m: re.Match[str]) -> str:
        if m.group(0) == "$$":
            return "$"
        name = m.group(1) or m.group(2)
        assert name in values, f"substitution {name} is not defined"
        return values[name]
    return _SUBSTITUTION.sub(one, text)


def _script(step: dict[str, Any]) -> str:
    """The shell script of a ``sh -c``/``bash -c`` step."""
    assert step.get("entrypoint") in ("sh", "bash") and step["args"][0] == "-c", step["id"]
    script: str = step["args"][1]
    return script


def _run_plan_step(tmp_path: Path, members: str) -> list[str]:
    """Run the terraform-plan step's script with ``_OPERATOR_MEMBERS=members``; the arguments
    a stub ``terraform`` received."""
    sh = shutil.which("sh")
    if sh is None:
        pytest.skip("no sh")
    values = {k: str(v) for k, v in _build()["substitutions"].items()}
    values.update(PROJECT_ID="demo-proj", _OPERATOR_MEMBERS=members)
    script = _substitute(_script(_steps()["terraform-plan"]), values)
    stub = tmp_path / "bin" / "terraform"
    stub.parent.mkdir(exist_ok=True)
    record = tmp_path / "args.json"
    stub.write_text(f"#!{shutil.which('python3') or 'python3'}\nimport json, sys\n"
                    f"json.dump(sys.argv[1:], open({str(record)!r}, 'w'))\n")
    stub.chmod(0o755)
    env = {**os.environ, "PATH": f"{stub.parent}{os.pathsep}{os.environ.get('PATH', '')}"}
    subprocess.run([sh, "-c", script], check=True, env=env, cwd=tmp_path, timeout=30)
    args: list[str] = json.loads(record.read_text())
    return args


def _operator_var(args: list[str]) -> list[str]:
    """The value of ``-var=operator_members=…``, read as Terraform would (HCL)."""
    hcl2 = pytest.importorskip("hcl2")
    (given,) = [a.removeprefix("-var=") for a in args if a.startswith("-var=operator_members=")]
    parsed = hcl2.loads(given.replace("operator_members=", "operator_members = ", 1) + "\n")
    value: list[str] = parsed["operator_members"]
    return value


def test_operator_members_reach_the_terraform_plan(tmp_path: Path) -> None:
    """Cloud Build's substitutions (https://cloud.google.com/build/docs/configuring-builds/substitute-variable-values):
    "Substitutions are helpful for variables whose value isn't known until build time, or to
    re-use an existing build request with different variable values." ``_OPERATOR_MEMBERS``
    (space-separated IAM members) becomes ``-var=operator_members=[…]`` of the plan that
    terraform-apply applies (a saved plan takes no variables), so a CI deploy grants the
    status report to its operators; empty grants nobody."""
    args = _run_plan_step(tmp_path, "group:ops@example.com user:ana@example.com")
    assert args[:3] == ["plan", "-input=false", "-out=tfplan"]
    assert _operator_var(args) == ["group:ops@example.com", "user:ana@example.com"]
    assert _operator_var(_run_plan_step(tmp_path, "")) == []
    assert _build()["substitutions"]["_OPERATOR_MEMBERS"] == ""
    apply = _script(_steps()["terraform-apply"])
    assert "terraform apply -input=false tfplan" in apply


def test_operator_members_are_documented() -> None:
    header = CLOUDBUILD.read_text(encoding="utf-8").split("substitutions:")[0]
    assert "_OPERATOR_MEMBERS" in header
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    assert "_OPERATOR_MEMBERS" in readme


# -- the smoke run -------------------------------------------------------------------------------

def _order(ids: list[str], needle: str) -> int:
    """Index of the first step whose script contains ``needle``."""
    steps = _steps()
    found = [i for i, sid in enumerate(ids)
             if needle in " ".join(str(a) for a in steps[sid].get("args", []))]
    assert found, f"no step runs {needle!r}"
    return found[0]


def test_the_smoke_run_loads_data_runs_the_range_and_checks_the_verdicts() -> None:
    """A smoke run that only checked the execution state went green on an empty bucket and on a
    BLOCK. Now, after the apply: the sample league is generated and copied into the deployed
    bucket, the deployed backfill workflow runs over a short range, and the execution it prints
    (``gcloud workflows run --format=json``: the Execution resource, whose ``result`` "can only be
    present if the execution's state is SUCCEEDED" and whose ``error`` "is only present if the
    execution's state is FAILED or CANCELLED",
    https://cloud.google.com/python/docs/reference/workflows/latest/google.cloud.workflows.executions_v1.types.Execution)
    goes to scripts/smoke_check.py, which fails the build on any BLOCK or zero dates."""
    ids = [step["id"] for step in _build()["steps"]]
    apply = ids.index("terraform-apply")
    generate = _order(ids, "sample-data --season ${_SMOKE_SEASON}")
    upload = _order(ids, "gs://${_BUCKET_NAME}/raw")
    run = _order(ids, "gcloud workflows run ${_PREFIX}-backfill")
    check = _order(ids, "scripts/smoke_check.py")
    assert apply < generate < upload < run < check
    script = _script(_steps()[ids[run]])
    assert '"start":"${_SMOKE_START}","end":"${_SMOKE_END}"' in script
    assert "--format=json > /workspace/smoke-execution.json" in script
    assert "/workspace/smoke-execution.json" in _script(_steps()[ids[check]])
    subs = _build()["substitutions"]
    assert subs["_SMOKE_START"] <= subs["_SMOKE_END"]
    for sid in ids[generate:check + 1]:  # plan-only builds skip the whole smoke run
        assert 'if [ "${_APPLY}" != "true" ]' in _script(_steps()[sid])


def test_the_smoke_workflow_is_the_one_terraform_deploys() -> None:
    """``${_PREFIX}-backfill`` is Terraform's ``${var.prefix}-backfill`` (main.tf's local)."""
    hcl2 = pytest.importorskip("hcl2")
    with (REPO / "terraform" / "main.tf").open(encoding="utf-8") as fh:
        local = hcl2.load(fh)["locals"][0]["backfill_workflow"]
    assert local == "${var.prefix}-backfill"
    assert "${_PREFIX}-backfill" in _script(_steps()["smoke-backfill"])


def _checker() -> ModuleType:
    spec = importlib.util.spec_from_file_location("smoke_check",
                                                  REPO / "scripts" / "smoke_check.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _phase(phase: str, verdict: str, passed: int, warned: int = 0, blocked: int = 0) -> dict[
        str, Any]:
    return {"phase": phase, "verdict": verdict, "published": passed + warned + blocked,
            "counts": {"PASS": passed, "WARN": warned, "BLOCK": blocked}}


def _check(tmp_path: Path, execution: dict[str, Any]) -> tuple[int, str]:
    path = tmp_path / "execution.json"
    path.write_text(json.dumps(execution))
    got = subprocess.run(["python3", str(REPO / "scripts" / "smoke_check.py"), str(path)],
                         capture_output=True, text=True, timeout=30, check=False)
    return got.returncode, got.stdout


@pytest.mark.parametrize("execution, ok, needle", [
    ({"state": "SUCCEEDED", "result": json.dumps({"state": "succeeded", "phases": [
        _phase("2", "PASS", 7), _phase("3", "WARN", 5, warned=2)]})}, True, "passed"),
    # Today's workflow ends a BLOCK as a normal return: SUCCEEDED, yet it must fail the build.
    ({"state": "SUCCEEDED", "result": json.dumps({"state": "succeeded", "phases": [
        _phase("2", "PASS", 7), _phase("3", "BLOCK", 3, blocked=4)]})}, False, "BLOCKed 4"),
    # The fixed workflow raises on BLOCK: FAILED, the report in the error's payload.
    ({"state": "FAILED", "error": {"context": "the gate BLOCKed dates", "payload": json.dumps({
        "state": "blocked", "phases": [_phase("2", "BLOCK", 0, blocked=7)]})}}, False,
     "phase 2: BLOCK"),
    # An empty bucket: every phase PASSes over nothing.
    ({"state": "SUCCEEDED", "result": json.dumps({"state": "succeeded", "phases": [
        _phase("2", "PASS", 0), _phase("3", "PASS", 0)]})}, False, "judged no date"),
    ({"state": "FAILED", "error": {"context": "HTTP 403", "payload": "\"forbidden\""}}, False,
     "execution state FAILED: HTTP 403"),
    ({}, False, "no phases"),
])
def test_smoke_check_fails_on_block_and_on_nothing_processed(
        tmp_path: Path, execution: dict[str, Any], ok: bool, needle: str) -> None:
    code, out = _check(tmp_path, execution)
    assert (code == 0) is ok, out
    assert needle in out


def test_smoke_check_reads_the_report_from_result_or_error() -> None:
    checker = _checker()
    report = {"phases": [_phase("2", "PASS", 1)]}
    assert checker.report_of({"result": json.dumps(report)}) == report
    assert checker.report_of({"error": {"payload": json.dumps(report)}}) == report
    assert checker.report_of({"error": {"payload": "not json"}}) == {}
