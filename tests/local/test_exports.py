"""Phase-6 exports through the DuckDB warehouse and a folder bucket, on a hand-built slate.

Jan 15 (two games; context rows only for the BOS@NYK players, so LAL@DEN's sides come from the
system game id). Predictions, "ma" = moving_average, "gb" = gradient_boosting:

    player        game  sys  pred     line  edge     rec      conf     actionable
    jaysontatum   G1    ma   30.5     27.5   3.0     OVER     0.95     yes (wrong system)
    jaysontatum   G1    gb   31.0     27.5   3.5     OVER     0.72     yes   → best bet #2
    jalenbrunson  G1    ma   25.0     26.5  -1.5     PASS     0.50     no
    jalenbrunson  G1    gb   22.0     26.5  -4.5     UNDER    0.72     yes   → best bet #1
    derrickwhite  G1    gb   18.5     15.5   3.0     OVER     0.60     yes   → best bet #3
    joshhart      G1    gb   12.0123  15.0  -2.9877  UNDER    0.98765  yes   (|edge| → 2.99 < 3)
    lebronjames   G2    ma   24.0     —      —       NO_LINE  0.50     no
    lebronjames   G2    gb   26.0     23.5   2.5     OVER     0.90     yes   (edge < 3)
    nikolajokic   G2    ma   29.0     28.0   1.0     PASS     0.55     no
    nikolajokic   G2    gb   33.0     28.0   5.0     OVER     0.80     no    (not actionable)

Grading of Jan 15 (actual points; lebronjames did not play: voided on both systems):

    tatum 33 (both HIT)  brunson 26 (ma PASS, gb UNDER HIT)  white 12 (MISS)  hart 15 (PUSH)
    jokic 35 (ma PASS, gb HIT)

Jan 16: one game MIA@CHI, 17 gradient-boosting OVER picks p01 … p17 on a 20.0 line: p01 … p16
have confidence 0.60 and edge 3.0 + 0.5·i (i = 1 … 16); p17 has confidence 0.90 and edge 3.0.
Jan 14 holds one prediction and one graded row that no export of Jan 15/16 may show.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from backcourt.adapters.local.bucket import FolderBucket
from backcourt.adapters.local.duckdb_warehouse import DuckDBWarehouse
from backcourt.domain import tables_analytics as ta
from backcourt.domain import tables_predictions as tpr
from backcourt.domain.errors import TerminalError
from backcourt.domain.schema import Table
from backcourt.domain.tables_exports import EXPORT_FILES
from backcourt.ports import ComputeContext, RowsSource
from backcourt.services.exports import compute, load_schema

pytestmark = pytest.mark.local

Row = dict[str, Any]
D14, D15, D16, D17 = (date(2025, 1, n) for n in (14, 15, 16, 17))
G1, G2, G3 = "20250115_BOS_NYK", "20250115_LAL_DEN", "20250116_MIA_CHI"
MA, GB = "moving_average", "gradient_boosting"


def pred(day: date, game: str, player: str, team: str, system: str, points: float,
         line: float | None, rec: str, conf: float, actionable: bool) -> Row:
    return {
        "game_date": day, "game_id": game, "player_lookup": player, "system_id": system,
        "team_abbr": team, "predicted_points": points, "points_line": line,
        "edge": None if line is None else points - line, "recommendation": rec,
        "confidence": conf, "is_actionable": actionable,
        "reason": None if actionable else "filtered", "model_version": f"{system}-v1",
    }


def graded(day: date, game: str, player: str, system: str, points: float, line: float | None,
           rec: str, actual: int | None, correct: bool | None, voided: bool = False) -> Row:
    err = None if actual is None else points - actual
    return {
        "game_date": day, "game_id": game, "player_lookup": player, "system_id": system,
        "predicted_points": points, "actual_points": actual, "points_line": line,
        "recommendation": rec, "absolute_error": None if err is None else abs(err),
        "signed_error": err, "prediction_correct": correct, "is_voided": voided,
        "void_reason": "dnp_unknown" if voided else None,
    }


PREDICTIONS: list[Row] = [
    pred(D15, G1, "jaysontatum", "BOS", MA, 30.5, 27.5, "OVER", 0.95, True),
    pred(D15, G1, "jaysontatum", "BOS", GB, 31.0, 27.5, "OVER", 0.72, True),
    pred(D15, G1, "jalenbrunson", "NYK", MA, 25.0, 26.5, "PASS", 0.50, False),
    pred(D15, G1, "jalenbrunson", "NYK", GB, 22.0, 26.5, "UNDER", 0.72, True),
    pred(D15, G1, "derrickwhite", "BOS", GB, 18.5, 15.5, "OVER", 0.60, True),
    pred(D15, G1, "joshhart", "NYK", GB, 12.0123, 15.0, "UNDER", 0.98765, True),
    pred(D15, G2, "lebronjames", "LAL", MA, 24.0, None, "NO_LINE", 0.50, False),
    pred(D15, G2, "lebronjames", "LAL", GB, 26.0, 23.5, "OVER", 0.90, True),
    pred(D15, G2, "nikolajokic", "DEN", MA, 29.0, 28.0, "PASS", 0.55, False),
    pred(D15, G2, "nikolajokic", "DEN", GB, 33.0, 28.0, "OVER", 0.80, False),
    *(pred(D16, G3, f"p{i:02d}", "MIA", GB, 20.0 + 3.0 + 0.5 * i, 20.0, "OVER", 0.60, True)
      for i in range(1, 17)),
    pred(D16, G3, "p17", "CHI", GB, 23.0, 20.0, "OVER", 0.90, True),
    pred(D14, "20250114_BOS_MIA", "jaysontatum", "BOS", GB, 40.0, 20.0, "OVER", 0.99, True),
]
ACCURACY: list[Row] = [
    graded(D15, G1, "jaysontatum", MA, 30.5, 27.5, "OVER", 33, True),
    graded(D15, G1, "jaysontatum", GB, 31.0, 27.5, "OVER", 33, True),
    graded(D15, G1, "jalenbrunson", MA, 25.0, 26.5, "PASS", 26, None),
    graded(D15, G1, "jalenbrunson", GB, 22.0, 26.5, "UNDER", 26, True),
    graded(D15, G1, "derrickwhite", GB, 18.5, 15.5, "OVER", 12, False),
    graded(D15, G1, "joshhart", GB, 12.01, 15.0, "UNDER", 15, None),
    graded(D15, G2, "lebronjames", MA, 24.0, None, "NO_LINE", None, None, voided=True),
    graded(D15, G2, "lebronjames", GB, 26.0, 23.5, "OVER", 0, None, voided=True),
    graded(D15, G2, "nikolajokic", MA, 29.0, 28.0, "PASS", 35, None),
    graded(D15, G2, "nikolajokic", GB, 33.0, 28.0, "OVER", 35, True),
    graded(D16, G3, "p17", GB, 23.0, 20.0, "OVER", 25, True),
    graded(D16, G3, "p16", GB, 31.0, 20.0, "OVER", 18, False),
    graded(D14, "20250114_BOS_MIA", "jaysontatum", GB, 40.0, 20.0, "OVER", 10, False),
]
CONTEXT: list[Row] = [
    {"game_date": D15, "game_id": G1, "player_lookup": p, "player_full_name": name,
     "team_abbr": team, "opponent_team_abbr": opp, "home_game": home}
    for p, name, team, opp, home in [
        ("jaysontatum", "Jayson Tatum", "BOS", "NYK", False),
        ("derrickwhite", "Derrick White", "BOS", "NYK", False),
        ("jalenbrunson", "Jalen Brunson", "NYK", "BOS", True),
        ("joshhart", "Josh Hart", "NYK", "BOS", True),
    ]
]
BOX: list[Row] = [
    {"game_date": D15, "game_id": G1, "player_lookup": "jaysontatum", "team_abbr": "BOS",
     "opponent_team_abbr": "NYK", "home_game": False, "minutes_played": 36.5, "points": 33},
]
TABLES: Sequence[Table] = (*tpr.PREDICTION_TABLES, *ta.ANALYTICS_TABLES)


@dataclass
class Run:
    """One export run: the bucket and the manifest rows compute returned."""

    bucket: FolderBucket
    manifest: list[dict[str, Any]]

    def doc(self, kind: str, day: date) -> Any:
        return json.loads(self.bucket.read(f"exports/v1/{kind}/{day}.json"))


def load(wh: DuckDBWarehouse, rows_of: dict[Table, list[Row]]) -> None:
    wh.ensure_tables(TABLES)
    for table, rows in rows_of.items():
        days = sorted({r["game_date"] for r in rows})
        wh.replace(table, days, RowsSource(rows), max_shrink=1.0)


def export(wh: DuckDBWarehouse, root: Path, days: Sequence[date], run_id: str) -> Run:
    bucket = FolderBucket(root)
    return Run(bucket, compute(ComputeContext(wh, bucket, days, run_id)))


def data(reverse: bool = False) -> dict[Table, list[Row]]:
    order = (lambda rows: rows[::-1]) if reverse else (lambda rows: rows)
    return {tpr.PLAYER_PROP_PREDICTIONS: order(PREDICTIONS), tpr.PREDICTION_ACCURACY:
            order(ACCURACY), ta.UPCOMING_PLAYER_GAME_CONTEXT: order(CONTEXT),
            ta.PLAYER_GAME_SUMMARY: order(BOX)}


@pytest.fixture(scope="module")
def warehouse(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DuckDBWarehouse]:
    wh = DuckDBWarehouse(tmp_path_factory.mktemp("wh") / "warehouse.duckdb")
    load(wh, data())
    yield wh
    wh.close()


@pytest.fixture(scope="module")
def run(warehouse: DuckDBWarehouse, tmp_path_factory: pytest.TempPathFactory) -> Run:
    return export(warehouse, tmp_path_factory.mktemp("bucket"), [D16, D15], "run-1")


def validator(kind: str) -> jsonschema.Draft202012Validator:
    v = jsonschema.Draft202012Validator
    return v(load_schema(kind), format_checker=v.FORMAT_CHECKER)


# -- manifest and files ------------------------------------------------------------------------
def test_manifest_has_one_row_per_file_with_the_bytes_digest(run: Run) -> None:
    expected_records = {(D15, "predictions"): 10, (D15, "results"): 10, (D15, "best-bets"): 3,
                        (D16, "predictions"): 17, (D16, "results"): 2, (D16, "best-bets"): 15}
    assert [(r["game_date"], r["kind"]) for r in run.manifest] == list(expected_records)
    for row in run.manifest:
        assert set(row) == set(EXPORT_FILES.column_names)
        assert row["path"] == f"exports/v1/{row['kind']}/{row['game_date'].isoformat()}.json"
        data_ = run.bucket.read(row["path"])
        assert row["sha256"] == hashlib.sha256(data_).hexdigest()
        assert row["records"] == expected_records[(row["game_date"], row["kind"])]
    assert run.bucket.list("exports/") == sorted(r["path"] for r in run.manifest)


def test_every_file_validates_against_its_schema(run: Run) -> None:
    for row in run.manifest:
        doc = json.loads(run.bucket.read(row["path"]))
        errors = [e.message for e in validator(row["kind"]).iter_errors(doc)]
        assert errors == [], row["path"]
        assert doc["game_date"] == row["game_date"].isoformat()
        assert doc["schema_version"] == 1


def test_files_are_canonical_json(run: Run) -> None:
    for row in run.manifest:
        raw = run.bucket.read(row["path"])
        doc = json.loads(raw)
        canonical = json.dumps(doc, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        assert raw == (canonical + "\n").encode()
        assert b"run-1" not in raw


def test_the_manifest_table_accepts_the_rows(run: Run, tmp_path: Path) -> None:
    wh = DuckDBWarehouse(tmp_path / "m.duckdb")
    try:
        wh.ensure_tables([EXPORT_FILES])
        result = wh.replace(EXPORT_FILES, [D15, D16], RowsSource(run.manifest), max_shrink=1.0)
        assert result.rows_by_date == {D15: 3, D16: 3}
    finally:
        wh.close()


# -- contents ----------------------------------------------------------------------------------
def test_predictions_are_grouped_by_game_player_system(run: Run) -> None:
    doc = run.doc("predictions", D15)
    assert doc["generated_from"] == {"player_prop_predictions": 10}
    assert doc["summary"] == {
        "total_games": 2, "total_players": 6, "total_predictions": 10,
        "recommendation_breakdown": {"OVER": 5, "UNDER": 2, "PASS": 2, "NO_LINE": 1},
    }
    g1, g2 = doc["games"]
    assert (g1["game_id"], g1["home_team"], g1["away_team"]) == (G1, "NYK", "BOS")
    assert (g2["game_id"], g2["home_team"], g2["away_team"]) == (G2, "DEN", "LAL")
    assert g1["prediction_count"] == 6 and g2["prediction_count"] == 4
    assert g1["recommendation_breakdown"] == {"OVER": 3, "UNDER": 2, "PASS": 1, "NO_LINE": 0}
    assert [p["player_lookup"] for p in g1["players"]] == [
        "derrickwhite", "jalenbrunson", "jaysontatum", "joshhart"]
    tatum = g1["players"][2]
    assert (tatum["player_name"], tatum["team"], tatum["opponent"], tatum["is_home"]) == (
        "Jayson Tatum", "BOS", "NYK", False)
    assert [s["system_id"] for s in tatum["predictions"]] == [GB, MA]
    assert tatum["predictions"][0] == {
        "system_id": GB, "predicted_points": 31.0, "line": 27.5, "edge": 3.5,
        "recommendation": "OVER", "confidence": 0.72, "is_actionable": True, "reason": None,
        "model_version": "gradient_boosting-v1"}
    hart = g1["players"][3]["predictions"][0]
    assert (hart["predicted_points"], hart["edge"], hart["confidence"]) == (12.01, -2.99, 0.988)
    lebron_ma = g2["players"][0]["predictions"][1]
    assert (lebron_ma["line"], lebron_ma["edge"], lebron_ma["recommendation"]) == (
        None, None, "NO_LINE")
    assert g2["players"][0]["player_name"] is None  # no context row for LAL@DEN


def test_best_bets_selection_and_order(run: Run) -> None:
    d15 = run.doc("best-bets", D15)
    assert d15["criteria"] == {"system_id": GB, "min_abs_edge": 3.0, "max_picks": 15}
    assert d15["eligible"] == 3
    picks = [(p["rank"], p["player_lookup"], p["recommendation"], p["edge"])
             for p in d15["picks"]]
    # brunson and tatum share 0.72: the larger |edge| (4.5 UNDER) ranks first; white's 3.0 edge
    # is on the threshold; hart (2.99), lebron (2.5), jokic (not actionable), ma rows: out.
    assert picks == [(1, "jalenbrunson", "UNDER", -4.5), (2, "jaysontatum", "OVER", 3.5),
                     (3, "derrickwhite", "OVER", 3.0)]
    assert d15["picks"][0]["player_name"] == "Jalen Brunson"
    assert d15["picks"][0]["opponent"] == "BOS"

    d16 = run.doc("best-bets", D16)
    assert d16["eligible"] == 17
    assert [p["player_lookup"] for p in d16["picks"]] == ["p17"] + [
        f"p{i:02d}" for i in range(16, 2, -1)]
    assert [p["rank"] for p in d16["picks"]] == list(range(1, 16))
    assert d16["picks"][1]["edge"] == 11.0  # p16: 3.0 + 0.5·16


def test_results_and_per_system_quality(run: Run) -> None:
    doc = run.doc("results", D15)
    assert doc["generated_from"] == {"prediction_accuracy": 10}
    gb, ma = doc["systems"]  # sorted by system_id
    # ma graded: tatum 2.5, brunson 1.0, jokic 6.0 → MAE 9.5/3; lebron voided.
    assert ma == {"system_id": MA, "predictions": 4, "graded": 3, "mae": 3.17, "bias": -3.17,
                  "hits": 1, "misses": 0, "pushes": 0, "voids": 1, "no_picks": 2,
                  "hit_rate": 1.0}
    # gb graded: tatum 2.0, brunson 4.0, white 6.5, hart 2.99, jokic 2.0 → MAE 17.49/5 = 3.498;
    # signed −2 −4 +6.5 −2.99 −2 = −4.49 → bias −0.898. lebron's voided 26-point error is out.
    assert gb == {"system_id": GB, "predictions": 6, "graded": 5, "mae": 3.5, "bias": -0.9,
                  "hits": 3, "misses": 1, "pushes": 1, "voids": 1, "no_picks": 0,
                  "hit_rate": 0.75}
    by_key = {(r["player_lookup"], r["system_id"]): r for r in doc["results"]}
    assert [(r["game_id"], r["player_lookup"], r["system_id"]) for r in doc["results"]][:3] == [
        (G1, "derrickwhite", GB), (G1, "jalenbrunson", GB), (G1, "jalenbrunson", MA)]
    assert {k: r["result"] for k, r in by_key.items()} == {
        ("jaysontatum", MA): "HIT", ("jaysontatum", GB): "HIT",
        ("jalenbrunson", MA): "NO_PICK", ("jalenbrunson", GB): "HIT",
        ("derrickwhite", GB): "MISS", ("joshhart", GB): "PUSH",
        ("lebronjames", MA): "VOID", ("lebronjames", GB): "VOID",
        ("nikolajokic", MA): "NO_PICK", ("nikolajokic", GB): "HIT"}
    tatum = by_key[("jaysontatum", GB)]
    assert (tatum["actual_points"], tatum["absolute_error"], tatum["signed_error"],
            tatum["correct"], tatum["minutes"], tatum["opponent"], tatum["confidence"]) == (
        33, 2.0, -2.0, True, 36.5, "NYK", 0.72)
    lebron = by_key[("lebronjames", MA)]
    assert (lebron["voided"], lebron["void_reason"], lebron["actual_points"],
            lebron["team"]) == (True, "dnp_unknown", None, "LAL")

    d16 = run.doc("results", D16)
    assert d16["systems"] == [{"system_id": GB, "predictions": 2, "graded": 2, "mae": 7.5,
                               "bias": 5.5, "hits": 1, "misses": 1, "pushes": 0, "voids": 0,
                               "no_picks": 0, "hit_rate": 0.5}]


# -- determinism and edge cases ----------------------------------------------------------------
def test_reexport_is_byte_identical(run: Run, warehouse: DuckDBWarehouse,
                                    tmp_path: Path) -> None:
    again = export(warehouse, tmp_path / "again", [D15, D16], "run-2")
    assert again.manifest == run.manifest
    for row in run.manifest:
        assert again.bucket.read(row["path"]) == run.bucket.read(row["path"])


def test_rows_loaded_in_another_order_give_the_same_bytes(run: Run, tmp_path: Path) -> None:
    wh = DuckDBWarehouse(tmp_path / "reversed.duckdb")
    try:
        load(wh, data(reverse=True))
        other = export(wh, tmp_path / "b", [D15, D16], "run-3")
    finally:
        wh.close()
    assert [r["sha256"] for r in other.manifest] == [r["sha256"] for r in run.manifest]


def test_a_date_without_predictions_gets_valid_empty_files(warehouse: DuckDBWarehouse,
                                                           tmp_path: Path) -> None:
    empty = export(warehouse, tmp_path, [D17], "run-4")
    assert [(r["kind"], r["records"]) for r in empty.manifest] == [
        ("predictions", 0), ("results", 0), ("best-bets", 0)]
    for row in empty.manifest:
        doc = json.loads(empty.bucket.read(row["path"]))
        assert list(validator(row["kind"]).iter_errors(doc)) == []
    assert empty.doc("predictions", D17)["games"] == []
    assert empty.doc("predictions", D17)["summary"]["total_predictions"] == 0
    assert empty.doc("results", D17)["systems"] == []
    assert empty.doc("results", D17)["results"] == []
    assert empty.doc("best-bets", D17)["picks"] == []


def test_no_days_writes_nothing(warehouse: DuckDBWarehouse, tmp_path: Path) -> None:
    assert export(warehouse, tmp_path, [], "run-5").manifest == []
    assert FolderBucket(tmp_path).list("") == []


def test_an_unknown_recommendation_is_a_terminal_error(tmp_path: Path) -> None:
    wh = DuckDBWarehouse(tmp_path / "bad.duckdb")
    try:
        bad = pred(D15, G1, "jaysontatum", "BOS", GB, 31.0, 27.5, "HOLD", 0.7, False)
        load(wh, {tpr.PLAYER_PROP_PREDICTIONS: [bad]})
        with pytest.raises(TerminalError, match="'HOLD'.*jaysontatum"):
            export(wh, tmp_path / "b", [D15], "run-6")
    finally:
        wh.close()


def test_a_process_pool_writes_the_same_files_and_manifest(run: Run, warehouse: DuckDBWarehouse,
                                                           tmp_path: Path) -> None:
    """With the local runner's CPU pool the dates are built, encoded and written by worker
    processes: the bytes and the manifest are those of the in-thread run."""
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    bucket = FolderBucket(tmp_path)
    with ProcessPoolExecutor(2, mp_context=multiprocessing.get_context("spawn")) as pool:
        manifest = compute(ComputeContext(warehouse, bucket, [D16, D15], "run-2", pool=pool))
    assert manifest == run.manifest
    for row in manifest:
        assert bucket.read(row["path"]) == run.bucket.read(row["path"])
