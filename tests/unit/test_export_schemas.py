"""The phase-6 JSON Schemas: valid draft 2020-12, strict, and they accept / reject hand-written
documents (written here from the published shape, not produced by the exporter)."""

from __future__ import annotations

import copy
from collections.abc import Callable
from datetime import date
from typing import Any

import jsonschema
import pytest

from backcourt.domain.errors import BadInput
from backcourt.services.exports import BEST_BETS_MAX_PICKS, KINDS, export_path, load_schema

Doc = dict[str, Any]
V = jsonschema.Draft202012Validator

BREAKDOWN = {"OVER": 1, "UNDER": 0, "PASS": 1, "NO_LINE": 0}
PREDICTION = {
    "system_id": "gradient_boosting", "predicted_points": 28.4, "line": 24.5, "edge": 3.9,
    "recommendation": "OVER", "confidence": 0.71, "is_actionable": True, "reason": None,
    "model_version": "gb-2025-01-01",
}
PREDICTIONS: Doc = {
    "schema_version": 1,
    "game_date": "2025-01-15",
    "generated_from": {"player_prop_predictions": 2},
    "summary": {"total_games": 1, "total_players": 1, "total_predictions": 2,
                "recommendation_breakdown": BREAKDOWN},
    "games": [{
        "game_id": "20250115_BOS_NYK", "home_team": "NYK", "away_team": "BOS",
        "prediction_count": 2, "recommendation_breakdown": BREAKDOWN,
        "players": [{
            "player_lookup": "jaysontatum", "player_name": "Jayson Tatum", "team": "BOS",
            "opponent": "NYK", "is_home": False,
            "predictions": [
                PREDICTION,
                {**PREDICTION, "system_id": "moving_average", "recommendation": "PASS",
                 "is_actionable": False, "reason": "edge below threshold", "edge": 1.0},
            ],
        }],
    }],
}
SYSTEM = {"system_id": "moving_average", "predictions": 1, "graded": 1, "mae": 2.5,
          "bias": -2.5, "hits": 1, "misses": 0, "pushes": 0, "voids": 0, "no_picks": 0,
          "hit_rate": 1.0}
RESULT = {
    "game_id": "20250115_BOS_NYK", "player_lookup": "jaysontatum", "system_id": "moving_average",
    "team": "BOS", "opponent": "NYK", "minutes": 36.5, "predicted_points": 30.5,
    "actual_points": 33, "line": 27.5, "recommendation": "OVER", "confidence": 0.6,
    "absolute_error": 2.5, "signed_error": -2.5, "correct": True, "voided": False,
    "void_reason": None, "result": "HIT",
}
RESULTS: Doc = {
    "schema_version": 1, "game_date": "2025-01-15",
    "generated_from": {"prediction_accuracy": 1}, "systems": [SYSTEM], "results": [RESULT],
}
PICK = {
    "rank": 1, "game_id": "20250115_BOS_NYK", "player_lookup": "jalenbrunson",
    "player_name": None, "team": "NYK", "opponent": "BOS", "recommendation": "UNDER",
    "predicted_points": 22.0, "line": 26.5, "edge": -4.5, "confidence": 0.72,
    "model_version": None,
}
BEST_BETS: Doc = {
    "schema_version": 1, "game_date": "2025-01-15",
    "generated_from": {"player_prop_predictions": 10},
    "criteria": {"system_id": "gradient_boosting", "min_abs_edge": 3.0, "max_picks": 15},
    "eligible": 1, "picks": [PICK],
}
VALID = {"predictions": PREDICTIONS, "results": RESULTS, "best-bets": BEST_BETS}


def validator(kind: str) -> jsonschema.Draft202012Validator:
    return V(load_schema(kind), format_checker=V.FORMAT_CHECKER)


def errors(kind: str, doc: Doc) -> list[str]:
    return [e.message for e in validator(kind).iter_errors(doc)]


@pytest.mark.parametrize("kind", KINDS)
def test_schema_is_valid_draft_2020_12_with_id_and_title(kind: str) -> None:
    schema = load_schema(kind)
    V.check_schema(schema)
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert schema["$id"].endswith(kind) and schema["title"]
    assert schema["additionalProperties"] is False
    assert set(schema["required"]) == set(schema["properties"])


@pytest.mark.parametrize("kind", KINDS)
def test_every_object_in_the_schema_is_closed(kind: str) -> None:
    def walk(node: Any) -> list[Doc]:
        if isinstance(node, dict):
            own = [node] if node.get("type") == "object" else []
            return own + [o for v in node.values() for o in walk(v)]
        return [o for v in node for o in walk(v)] if isinstance(node, list) else []

    objects = walk(load_schema(kind))
    assert objects
    for obj in objects:
        assert obj["additionalProperties"] is False
        assert set(obj["required"]) == set(obj["properties"])


@pytest.mark.parametrize("kind", KINDS)
def test_minimal_hand_written_document_is_valid(kind: str) -> None:
    assert errors(kind, VALID[kind]) == []


@pytest.mark.parametrize("kind", KINDS)
def test_empty_date_document_is_valid(kind: str) -> None:
    doc = copy.deepcopy(VALID[kind])
    for key in ("games", "systems", "results", "picks"):
        if key in doc:
            doc[key] = []
    assert errors(kind, doc) == []


def _set(path: tuple[str | int, ...], value: Any) -> Callable[[Doc], None]:
    def edit(doc: Doc) -> None:
        node: Any = doc
        for step in path[:-1]:
            node = node[step]
        node[path[-1]] = value
    return edit


def _drop(path: tuple[str | int, ...]) -> Callable[[Doc], None]:
    def edit(doc: Doc) -> None:
        node: Any = doc
        for step in path[:-1]:
            node = node[step]
        del node[path[-1]]
    return edit


PLAYER = ("games", 0, "players", 0)
INVALID: list[tuple[str, str, Callable[[Doc], None]]] = [
    ("predictions", "bad date", _set(("game_date",), "2025-02-30")),
    ("predictions", "date with time", _set(("game_date",), "2025-01-15T00:00:00")),
    ("predictions", "other schema version", _set(("schema_version",), 2)),
    ("predictions", "unknown top-level key", _set(("generated_at",), "2025-01-15T12:00:00Z")),
    ("predictions", "missing games", _drop(("games",))),
    ("predictions", "unknown recommendation",
     _set((*PLAYER, "predictions", 0, "recommendation"), "HOLD")),
    ("predictions", "confidence above 1", _set((*PLAYER, "predictions", 0, "confidence"), 71)),
    ("predictions", "points as string",
     _set((*PLAYER, "predictions", 0, "predicted_points"), "28.4")),
    ("predictions", "extra key on a prediction", _set((*PLAYER, "predictions", 0, "x"), 1)),
    ("predictions", "missing is_actionable",
     _drop((*PLAYER, "predictions", 0, "is_actionable"))),
    ("predictions", "lowercase team", _set((*PLAYER, "team"), "bos")),
    ("predictions", "player without predictions", _set((*PLAYER, "predictions"), [])),
    ("predictions", "breakdown missing NO_LINE",
     _drop(("summary", "recommendation_breakdown", "NO_LINE"))),
    ("results", "negative count", _set(("systems", 0, "hits"), -1)),
    ("results", "hit rate above 1", _set(("systems", 0, "hit_rate"), 1.5)),
    ("results", "fractional actual", _set(("results", 0, "actual_points"), 33.5)),
    ("results", "unknown result", _set(("results", 0, "result"), "WIN")),
    ("results", "voided null", _set(("results", 0, "voided"), None)),
    ("results", "negative absolute error", _set(("results", 0, "absolute_error"), -2.5)),
    ("results", "missing mae", _drop(("systems", 0, "mae"))),
    ("best-bets", "PASS pick", _set(("picks", 0, "recommendation"), "PASS")),
    ("best-bets", "null edge", _set(("picks", 0, "edge"), None)),
    ("best-bets", "rank zero", _set(("picks", 0, "rank"), 0)),
    ("best-bets", "too many picks", _set(("picks",), [PICK] * (BEST_BETS_MAX_PICKS + 1))),
    ("best-bets", "missing criteria", _drop(("criteria",))),
]


@pytest.mark.parametrize(("kind", "what", "edit"), INVALID,
                         ids=[f"{k}: {w}" for k, w, _ in INVALID])
def test_invalid_document_is_rejected(kind: str, what: str, edit: Callable[[Doc], None]) -> None:
    doc = copy.deepcopy(VALID[kind])
    edit(doc)
    assert errors(kind, doc), f"{kind} schema accepted a document with {what}"


def test_best_bets_schema_cap_matches_the_constant() -> None:
    assert load_schema("best-bets")["properties"]["picks"]["maxItems"] == BEST_BETS_MAX_PICKS


def test_unknown_kind_is_bad_input() -> None:
    with pytest.raises(BadInput, match="unknown export kind 'tonight'"):
        load_schema("tonight")


def test_export_paths() -> None:
    assert export_path("best-bets", date(2025, 1, 5)) == "exports/v1/best-bets/2025-01-05.json"
    with pytest.raises(BadInput):
        export_path("latest", date(2025, 1, 5))
