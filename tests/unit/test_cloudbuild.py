"""``cloudbuild.yaml`` read with yaml: steps in order with unique ids, builder images pinned, apply
gated by ``_APPLY`` (plan-only by default) and applying exactly the plan, a smoke run the backfill
workflow accepts; and the package step's zip (``terraform/package_functions.py``): reproducible,
complete, free of caches, with the runtime requirements the package needs."""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
import re
import shlex
import tomllib
import zipfile
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
CLOUDBUILD = REPO / "cloudbuild.yaml"
BACKFILL = REPO / "workflows" / "backfill.workflows.yaml"
ORDER = ["lint-and-test", "package-functions", "terraform-init", "terraform-plan",
         "terraform-apply", "smoke-data", "smoke-upload", "smoke-backfill", "smoke-verdicts"]
BUILTINS = {"PROJECT_ID", "PROJECT_NUMBER", "BUILD_ID", "LOCATION", "TRIGGER_NAME", "COMMIT_SHA",
            "SHORT_SHA", "REPO_NAME", "BRANCH_NAME", "TAG_NAME", "REVISION_ID", "SERVICE_ACCOUNT"}


@pytest.fixture(scope="module")
def build() -> dict[str, Any]:
    doc: dict[str, Any] = yaml.safe_load(CLOUDBUILD.read_text(encoding="utf-8"))
    return doc


def _steps(build: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {step["id"]: step for step in build["steps"]}


def _substitute(text: str, build: dict[str, Any]) -> str:
    """Cloud Build's substitution of the declared ``${_X}`` defaults (``$$`` stays a literal)."""
    subs = build.get("substitutions", {})
    return re.sub(r"\$\{(_[A-Z0-9_]+)\}", lambda m: str(subs[m.group(1)]), text)


def _script(step: dict[str, Any]) -> str:
    return " ".join(str(a) for a in step.get("args", []))


def test_steps_have_unique_ids_in_order(build: dict[str, Any]) -> None:
    ids = [step.get("id") for step in build["steps"]]
    assert None not in ids and len(ids) == len(set(ids))
    assert ids == ORDER
    assert not [s["id"] for s in build["steps"] if "waitFor" in s]  # strictly sequential


def test_builder_images_are_pinned(build: dict[str, Any]) -> None:
    for step in build["steps"]:
        image = _substitute(step["name"], build)
        name, _, tag = image.rpartition(":")
        digest = "@sha256:" in image
        assert digest or (name and re.search(r"\d", tag)), f"{step['id']}: {image} is not pinned"
        assert tag != "latest" and ":latest" not in image, step["id"]


def test_every_substitution_is_declared_and_shell_dollars_escaped(build: dict[str, Any]) -> None:
    text = CLOUDBUILD.read_text(encoding="utf-8")
    body = text.split("steps:", 1)[1]
    used = set(re.findall(r"(?<!\$)\$\{(_[A-Z0-9_]+)\}", body))
    assert used <= set(build["substitutions"]), used - set(build["substitutions"])
    bare = set(re.findall(r"(?<!\$)\$([A-Za-z_][A-Za-z0-9_]*)", body)) - BUILTINS
    assert bare == set(), f"shell variables must be written $$name: {bare}"


def test_apply_is_gated_and_applies_exactly_the_plan(build: dict[str, Any]) -> None:
    steps = _steps(build)
    assert build["substitutions"]["_APPLY"] == "false"
    plan = _script(steps["terraform-plan"])
    assert "terraform plan -input=false -out=tfplan" in plan
    apply = _script(steps["terraform-apply"])
    gate = re.search(r'if \[ "\$\{_APPLY\}" = "true" \]; then(.*?)else(.*?)fi', apply, re.S)
    assert gate is not None, "terraform apply must be inside if [ \"${_APPLY}\" = \"true\" ]"
    assert gate.group(1).split() == ["terraform", "apply", "-input=false", "tfplan"]
    assert "terraform" not in gate.group(2)
    assert apply.count("terraform apply") == 1
    for step in ("terraform-init", "terraform-plan", "terraform-apply"):
        assert steps[step]["dir"] == "terraform"


def test_plan_gets_every_required_root_variable(build: dict[str, Any]) -> None:
    hcl2 = pytest.importorskip("hcl2")
    with (REPO / "terraform" / "variables.tf").open(encoding="utf-8") as fh:
        variables = {n: b for block in hcl2.load(fh)["variable"] for n, b in block.items()}
    given = {e.split("=", 1)[0].removeprefix("TF_VAR_")
             for e in _steps(build)["terraform-plan"]["env"]}
    assert given <= set(variables)
    assert {n for n, b in variables.items() if "default" not in b} <= given


def test_package_step_builds_the_zip_the_plan_uploads(build: dict[str, Any]) -> None:
    steps = _steps(build)
    args = steps["package-functions"]["args"]
    assert args[0] == "terraform/package_functions.py"
    out = args[args.index("--out") + 1]
    env = dict(e.split("=", 1) for e in steps["terraform-plan"]["env"])
    # The plan runs in terraform/: its path is relative to there.
    assert os.path.normpath(f"terraform/{env['TF_VAR_function_source_zip']}") == out


def _accepted_arguments() -> set[str]:
    """The argument keys backfill.workflows.yaml reads (``map.get(args, "x")``)."""
    return set(re.findall(r'map\.get\(args, "(\w+)"\)', BACKFILL.read_text(encoding="utf-8")))


def test_smoke_runs_the_backfill_for_a_short_range_after_apply_only(
        build: dict[str, Any]) -> None:
    steps = _steps(build)
    for sid in ("smoke-data", "smoke-upload", "smoke-backfill", "smoke-verdicts"):
        script = _substitute(_script(steps[sid]), build)
        assert re.search(r'if \[ "false" != "true" \]; then echo [^;]+; exit 0; fi', script), sid
    script = _substitute(_script(steps["smoke-backfill"]), build)
    command = script[script.index("gcloud workflows run"):script.index("--format=")]
    words = shlex.split(command.replace("\\\n", " "))
    assert words[:4] == ["gcloud", "workflows", "run", "backcourt-backfill"]
    data = json.loads(next(w for w in words if w.startswith("--data=")).removeprefix("--data="))
    assert set(data) <= _accepted_arguments()
    assert all(re.fullmatch(r"\d{4}-\d{2}-\d{2}", data[k]) for k in ("start", "end"))
    assert data["start"] <= data["end"] and re.fullmatch(r"\d{4}-\d{2}", data["season"])
    # The verdicts decide, not the state alone (tests/unit/test_cloudbuild_smoke.py).
    assert "scripts/smoke_check.py" in _script(steps["smoke-verdicts"])


# -- the package step ---------------------------------------------------------------------------

def _packager() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "package_functions", REPO / "terraform" / "package_functions.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_function_zip_is_reproducible_and_complete(tmp_path: Path) -> None:
    packager = _packager()
    first = packager.build(tmp_path / "a.zip")
    second = packager.build(tmp_path / "b.zip")
    assert first == second == hashlib.sha256((tmp_path / "a.zip").read_bytes()).hexdigest()
    with zipfile.ZipFile(tmp_path / "a.zip") as zf:
        names = zf.namelist()
        assert zf.testzip() is None
    assert names == sorted(names)
    assert {"main.py", "requirements.txt", "backcourt/__init__.py", "backcourt/gate.toml",
            "backcourt/py.typed"} <= set(names)
    packaged = {n.removeprefix("backcourt/") for n in names if n.startswith("backcourt/")}
    package = REPO / "shared" / "backcourt"
    for pattern in ("sql/*.sql", "schemas/*.json", "data/*", "templates/*"):
        expected = {p.relative_to(package).as_posix() for p in package.glob(pattern)}
        assert expected and expected <= packaged, pattern
    assert not [n for n in names if "__pycache__" in n or n.endswith(".pyc")]


def test_function_zip_changes_with_the_code(tmp_path: Path) -> None:
    packager = _packager()
    repo = tmp_path / "repo"
    (repo / "functions").mkdir(parents=True)
    (repo / "shared" / "backcourt" / "__pycache__").mkdir(parents=True)
    (repo / "functions" / "main.py").write_text("x = 1\n")
    (repo / "functions" / "requirements.txt").write_text("functions-framework\n")
    (repo / "shared" / "backcourt" / "__init__.py").write_text("")
    (repo / "shared" / "backcourt" / "__pycache__" / "x.pyc").write_bytes(b"\0")
    before = packager.build(tmp_path / "a.zip", repo)
    (repo / "functions" / "main.py").write_text("x = 2\n")
    assert packager.build(tmp_path / "b.zip", repo) != before
    with zipfile.ZipFile(tmp_path / "b.zip") as zf:
        assert zf.namelist() == ["backcourt/__init__.py", "main.py", "requirements.txt"]


def _name(requirement: str) -> str:
    return re.split(r"[<>=!~;\[ ]", requirement.strip(), maxsplit=1)[0].lower().replace("_", "-")


def test_function_requirements_cover_the_package_runtime() -> None:
    project = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    needed = {_name(r) for r in [*project["dependencies"],
                                 *project["optional-dependencies"]["gcp"]]}
    needed -= {"typer", "rich"}  # the CLI's; the functions never import backcourt.cli
    lines = (REPO / "functions" / "requirements.txt").read_text(encoding="utf-8").splitlines()
    listed = {_name(line) for line in lines if line.strip() and not line.startswith("#")}
    assert needed - listed == set(), "functions/requirements.txt misses runtime dependencies"
