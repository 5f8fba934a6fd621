"""The layering CI enforces: the import-linter contracts of pyproject.toml hold (``lint-imports``,
also run by ``make lint``), they are not vacuous, and ``functions/main.py`` — outside the package,
so outside import-linter's graph — reaches the adapters only through ``backcourt.bootstrap``."""

from __future__ import annotations

import ast
import os
import pkgutil
import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Any

import pytest

import backcourt
from backcourt import cli, commands

ROOT = Path(__file__).resolve().parents[2]
PYPROJECT = ROOT / "pyproject.toml"
FUNCTIONS_MAIN = ROOT / "functions" / "main.py"
ADAPTERS = "backcourt.adapters"


def _contracts() -> list[dict[str, Any]]:
    config = tomllib.loads(PYPROJECT.read_text())["tool"]["importlinter"]
    contracts: list[dict[str, Any]] = config["contracts"]
    return contracts


def _lint_imports(cwd: Path, package_parent: Path,
                  *config: str) -> subprocess.CompletedProcess[str]:
    """Run the import-linter CLI on the ``backcourt`` found in ``package_parent``."""
    exe = Path(sys.executable).with_name("lint-imports")
    found = str(exe) if exe.exists() else shutil.which("lint-imports")
    assert found, "lint-imports not found: install the dev extra (pip install -e '.[dev]')"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(
        [str(package_parent), *filter(None, [os.environ.get("PYTHONPATH")])])}
    return subprocess.run([found, "--no-cache", *config], cwd=cwd, env=env, text=True,
                          capture_output=True, timeout=120, check=False)


def _counts(output: str) -> tuple[int, int]:
    found = re.search(r"Contracts: (\d+) kept, (\d+) broken\.", output)
    assert found, output
    return int(found.group(1)), int(found.group(2))


def test_lint_imports_reports_every_contract_kept() -> None:
    result = _lint_imports(ROOT, ROOT / "shared")
    output = result.stdout + result.stderr
    assert _counts(output) == (len(_contracts()), 0), output
    assert result.returncode == 0, output


def test_lint_imports_reports_an_import_that_breaks_a_contract(tmp_path: Path) -> None:
    """A copy of the package where a service imports an adapter inside a function (as the
    cli→commands→adapters chain once did) breaks the services contract."""
    shutil.copytree(ROOT / "shared" / "backcourt", tmp_path / "backcourt",
                    ignore=shutil.ignore_patterns("__pycache__", "data", "templates", "schemas"))
    shutil.copy(PYPROJECT, tmp_path / "pyproject.toml")
    report = tmp_path / "backcourt" / "services" / "report.py"
    report.write_text(report.read_text() + "\n\ndef _sneaky() -> None:\n"
                      "    from backcourt.adapters.local.bucket import FolderBucket  # noqa\n")
    result = _lint_imports(tmp_path, tmp_path, "--contract", "services")
    output = result.stdout + result.stderr
    assert _counts(output) == (0, 1), output
    assert "backcourt.services.report -> backcourt.adapters.local.bucket" in output, output
    assert result.returncode != 0


def test_domain_contract_forbids_every_other_top_level_module() -> None:
    """``backcourt.domain`` imports nothing of backcourt outside itself: its contract lists
    every other top-level module, so a new one is covered as soon as it exists."""
    (domain,) = [c for c in _contracts() if c.get("id") == "domain"]
    top = {f"backcourt.{m.name}" for m in pkgutil.iter_modules(backcourt.__path__)}
    assert domain["source_modules"] == ["backcourt.domain"]
    assert set(domain["forbidden_modules"]) == top - {"backcourt.domain"}


def test_cli_registers_every_command_module() -> None:
    """``backcourt.cli`` imports its command modules by name (so the import graph shows them);
    a new module in ``backcourt.commands`` must be added to ``cli.COMMAND_MODULES``."""
    names = {m.name for m in pkgutil.iter_modules(commands.__path__)} - {"common"}
    assert {m.__name__ for m in cli.COMMAND_MODULES} == {f"backcourt.commands.{n}"
                                                         for n in names}


def adapter_imports(source: str, filename: str = "<source>") -> list[str]:
    """``line: what`` for every import of ``backcourt.adapters`` in ``source``, at any depth
    (module level, inside functions, classes, ``if``/``try`` blocks), including
    ``from backcourt import adapters`` and ``importlib.import_module("backcourt.adapters…")``."""

    def is_adapters(name: str) -> bool:
        return name == ADAPTERS or name.startswith(ADAPTERS + ".")

    found: list[str] = []
    for node in ast.walk(ast.parse(source, filename)):
        if isinstance(node, ast.Import):
            found += [f"{node.lineno}: import {a.name}" for a in node.names if is_adapters(a.name)]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [f"{node.module}.{a.name}" for a in node.names]
            if is_adapters(node.module) or any(is_adapters(n) for n in names):
                found.append(f"{node.lineno}: from {node.module} import "
                             + ", ".join(a.name for a in node.names))
        elif isinstance(node, ast.Call) and node.args:
            func = node.func
            name = (func.attr if isinstance(func, ast.Attribute)
                    else func.id if isinstance(func, ast.Name) else "")
            arg = node.args[0]
            if (name in ("import_module", "__import__") and isinstance(arg, ast.Constant)
                    and isinstance(arg.value, str) and is_adapters(arg.value)):
                found.append(f"{node.lineno}: {name}({arg.value!r})")
    return found


def test_functions_main_reaches_the_adapters_only_through_the_bootstrap() -> None:
    assert adapter_imports(FUNCTIONS_MAIN.read_text(), str(FUNCTIONS_MAIN)) == []
    assert "from backcourt.bootstrap import" in FUNCTIONS_MAIN.read_text()


@pytest.mark.parametrize("source", [
    "from backcourt.adapters.gcp.workflows_executions import WorkflowStarter",
    "import backcourt.adapters.local.bucket",
    "from backcourt import adapters",
    "def start():\n    if True:\n        from backcourt.adapters.gcp import gcs_bucket\n",
    "class A:\n    def f(self):\n        import backcourt.adapters as a\n",
    "import importlib\nimportlib.import_module('backcourt.adapters.gcp.pubsub_queue')\n",
])
def test_the_functions_check_finds_adapter_imports_at_any_depth(source: str) -> None:
    assert len(adapter_imports(source)) == 1


@pytest.mark.parametrize("source", [
    "from backcourt.bootstrap import RUNTIME",
    "from backcourt import bootstrap",
    "import backcourt.adapters_extra",
    "from . import adapters",
])
def test_the_functions_check_leaves_other_imports_alone(source: str) -> None:
    assert adapter_imports(source) == []
