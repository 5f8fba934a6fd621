"""Incident (issue 14 #7): object names came from file content. "An Odds API event id containing
`/` created a nested object path; a second copy of an event's file duplicated its prop rows, and
the gate passed."

Guarded here: an object name is built only from ``A-Z a-z 0-9 . _ -`` (``layout.object_name``;
``raw_path`` applies it to every raw file name), so ``ingest`` refuses an event id that would nest
or climb, naming the file and the id, and stores nothing; rows whose natural key (the table's
key, DATA-MODEL.md) another file of the same date also holds are collapsed — the file with the
latest snapshot wins, ties to the later path — and the count is logged
(``duplicates_collapsed``), so a copied event file no longer doubles the date's prop rows.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from datetime import date
from pathlib import Path

import pytest
from faults import FIXTURES_NBA, duplicate_keys, rows, services_on
from typer.testing import CliRunner

from backcourt import cli
from backcourt.domain.errors import BadInput
from backcourt.domain.registry import Phase
from backcourt.services.backfill import Runner
from backcourt.services.plan import Window
from backcourt.sources import oddsapi_props
from backcourt.sources.dedupe import collapse
from backcourt.sources.layout import object_name, raw_path, raw_prefix
from backcourt.sources.parsing import decode

pytestmark = pytest.mark.local

SEASON = "2024-25"
DAY = date(2025, 1, 16)


@pytest.mark.parametrize("event_id", ["abc/def", "../../quarantine/x", "a\\b", ".hidden",
                                      "é", "a b", "x" * 201])
def test_ingest_refuses_an_event_id_that_is_not_a_safe_object_name(
        tmp_path: Path, event_id: str) -> None:
    doc = json.loads((FIXTURES_NBA / "oddsapi-player-props-example.json").read_text())
    doc["id"] = event_id
    path = tmp_path / "props.json"
    path.write_text(json.dumps(doc))
    home = tmp_path / "home"
    out = CliRunner().invoke(cli.app, ["--home", str(home), "ingest", str(path)])
    assert out.exit_code == 2, out.output
    text = " ".join(out.output.split())
    assert "event id" in text and "not a safe object name" in text and "props.json" in text
    bucket = home / "bucket"
    stored = [p for p in bucket.rglob("*") if p.is_file()] if bucket.exists() else []
    assert stored == [], stored


def test_object_names_keep_to_the_allow_list() -> None:
    assert raw_path("oddsapi_player_props", DAY, "e1-x_120000.json").endswith("/e1-x_120000.json")
    for bad in ("a/b.json", "..", "", "a\x00b", "a\nb"):
        with pytest.raises(BadInput, match="safe object name"):
            object_name(bad)


def test_a_second_copy_of_an_event_file_does_not_duplicate_its_prop_rows(
        make_home: Callable[..., Path], caplog: pytest.LogCaptureFixture) -> None:
    """Before: the copy's rows were loaded too (every key twice). Now: each key once, the
    copy's prices win (same snapshot, later path), and the count is logged."""
    home = make_home([DAY])
    s = services_on(home)
    try:
        files = sorted(s.bucket.list(raw_prefix("oddsapi_player_props", DAY)))
        assert files
        one = sum(len(oddsapi_props.parse(decode(s.bucket.read(f), f), f)) for f in files)
        original = files[0]
        doc = json.loads(s.bucket.read(original))
        event = doc["data"] if "data" in doc else doc
        for book in event["bookmakers"]:
            for market in book["markets"]:
                for outcome in market["outcomes"]:
                    outcome["price"] = 777 if outcome["name"].lower() == "over" else -777
        copy = original.removesuffix(".json") + "_copy.json"  # sorts after the original
        s.bucket.write(copy, json.dumps(doc).encode())
        copied = len(oddsapi_props.parse(doc, copy))
        assert copied > 0
        with caplog.at_level(logging.WARNING, logger="backcourt.services.process"):
            Runner(s).backfill([SEASON], [Phase.RAW], Window(DAY, DAY))
        assert rows(s.warehouse, "player_props", DAY) == one
        assert duplicate_keys(s.warehouse, ["player_props"]) == {"player_props": 0}
        won = s.warehouse.query("SELECT COUNT(*) AS n FROM nba_raw.player_props "
                                "WHERE game_date = @d AND over_price = 777", {"d": DAY})
        assert int(won[0]["n"]) == copied
        logged = [r for r in caplog.records if getattr(r, "duplicates_collapsed", 0)]
        assert [(r.processor, r.duplicates_collapsed) for r in logged] == [
            ("player_props", copied)]
    finally:
        s.close()


def test_collapse_keeps_the_latest_snapshot_and_leaves_one_files_own_repeats() -> None:
    key = ("k",)
    early = ("raw/x/2025-01-16/b.json", [{"k": 1, "v": "early", "t": 1}])
    late = ("raw/x/2025-01-16/a.json", [{"k": 1, "v": "late", "t": 2},
                                         {"k": 2, "v": "x", "t": 2}, {"k": 2, "v": "y", "t": 2}])
    kept, dropped = collapse([early, late], key, "t")
    assert dropped == 1
    assert sorted((r["k"], r["v"]) for r in kept) == [(1, "late"), (2, "x"), (2, "y")]
