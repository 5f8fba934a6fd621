"""The Workflows definitions: valid against the Workflows schema (workflows-emulator, own venv)
and within the limits that shape them (GCP-LIMITS.md)."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
WORKFLOWS = sorted((REPO / "workflows").glob("*.workflows.yaml"))
WF_PYTHON = REPO / ".venv-wf" / "bin" / "python"
FUNCTION_TIMEOUT_S = 540  # event-driven Cloud Functions stop here (GCP-LIMITS.md)


def _walk(node: Any) -> Iterator[dict[str, Any]]:
    if isinstance(node, dict):
        yield node
        for value in node.values():
            yield from _walk(value)
    elif isinstance(node, list):
        for value in node:
            yield from _walk(value)


def test_both_workflows_exist() -> None:
    assert [p.name for p in WORKFLOWS] == ["backfill.workflows.yaml", "daily.workflows.yaml"]


@pytest.mark.emulator
@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda p: p.name)
def test_valid_against_the_workflows_schema(path: Path) -> None:
    if not WF_PYTHON.exists():
        msg = f"workflows-emulator venv missing at {WF_PYTHON}: run scripts/wf-venv.sh"
        if os.environ.get("CI") == "true":
            pytest.fail(msg)
        pytest.skip(msg)
    got = subprocess.run(
        [str(WF_PYTHON), "-c", "import sys; from workflows_emulator.main import load_workflow; "
         "load_workflow(sys.argv[1])", str(path)],
        capture_output=True, text=True, timeout=60, check=False)
    assert got.returncode == 0, got.stderr[-2000:]


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda p: p.name)
def test_limits(path: Path) -> None:
    doc = yaml.safe_load(path.read_text())
    for node in _walk(doc):
        if "parallel" in node:
            limit = node["parallel"].get("concurrency_limit")
            assert limit is not None and limit <= 20, "parallel without a concurrency_limit ≤ 20"
        if str(node.get("call", "")).startswith("http."):
            timeout = node.get("args", {}).get("timeout")
            assert timeout is not None and timeout < FUNCTION_TIMEOUT_S, node
            assert node["args"].get("auth", {}).get("type") == "OIDC", "unauthenticated call"
    text = path.read_text()
    assert "${sys.get_env(\"PLAN_URL\")}" in text or "workflowexecutions" in text


def test_parallel_branches_never_raise_out_of_the_loop() -> None:
    doc = yaml.safe_load((REPO / "workflows" / "backfill.workflows.yaml").read_text())
    for node in _walk(doc):
        if "parallel" in node:
            steps = node["parallel"]["for"]["steps"]
            publish = steps[0][next(iter(steps[0]))]
            assert "try" in publish and "except" in publish  # failures are counted, not raised
            assert set(node["parallel"]["shared"]) == {"published", "publish_failures",
                                                       "unpublished"}


def test_backfill_calls_each_function_on_its_own_url() -> None:
    """Issue 13 #1: each function is called on its own URL (its run.app ``service_config.uri``,
    the only URL internal-only ingress admits Workflows on), read from PLAN_URL, PROGRESS_URL and
    VALIDATE_URL; no path is appended to a shared base URL."""
    text = (REPO / "workflows" / "backfill.workflows.yaml").read_text()
    assert "FUNCTIONS_URL" not in text and 'functions_url + "' not in text
    for name in ("plan", "progress", "validate"):
        assert f'{name}: ${{sys.get_env("{name.upper()}_URL")}}' in text
        assert f"url: ${{urls.{name}}}" in text


def test_daily_runs_the_chains_of_the_domain() -> None:
    """``daily.workflows.yaml`` runs ``domain.daily.DAILY_CHAINS`` (what ``backcourt daily``
    runs), in order, each as a forced child backfill over its one date, with the dates
    ``resolve_daily`` answers (what ``start_daily`` passes): the YAML and the CLI cannot drift."""
    from datetime import UTC, datetime

    from backcourt.domain.daily import DAILY_CHAINS
    from backcourt.services.protocol import resolve_daily

    doc = yaml.safe_load((REPO / "workflows" / "daily.workflows.yaml").read_text())
    steps = {next(iter(s)): s[next(iter(s))] for s in doc["main"]["steps"]}
    assigned = {next(iter(a)): a[next(iter(a))] for a in steps["init"]["assign"]}
    chains = [(c["name"], c["date"], c["phases"], c.get("processors"))
              for c in assigned["chains"]]
    assert chains == [(c.name, f"${{args.{c.date_key}}}", [p.value for p in c.phases],
                       list(c.processors) if c.processors is not None else None)
                      for c in DAILY_CHAINS]
    loop = steps["run_chains"]["for"]
    assert (loop["value"], loop["in"]) == ("chain", "${chains}")
    (run,) = [s["run_chain"] for s in loop["steps"] if "run_chain" in s]
    argument = run["try"]["args"]["argument"]
    assert argument == {"start": "${chain.date}", "end": "${chain.date}",
                        "phases": "${chain.phases}", "processors": "${chain.processors}",
                        "force": True}
    assert all(c.force for c in DAILY_CHAINS)  # the YAML forces every chain
    assert "except" in run  # a failed chain is recorded; the next chain still runs
    assert steps["fail_on_failed_chain"]["switch"][0]["raise"]["chains"] == "${report}"
    dates = resolve_daily(datetime(2025, 1, 16, 9, tzinfo=UTC))
    assert {c.date_key for c in DAILY_CHAINS} == set(dates)
