"""Offline checks of ``terraform/``: every .tf parses (python-hcl2), the warehouse tables are the
registry's (generated, never hand-written), no public IAM, every work subscription dead-letters,
functions run as their own service accounts, and every module is complete and documented."""

from __future__ import annotations

import copy
import importlib.util
import json
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from backcourt.domain.registry import PROCESSORS

hcl2 = pytest.importorskip("hcl2")

REPO = Path(__file__).resolve().parents[2]
TF = REPO / "terraform"
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
