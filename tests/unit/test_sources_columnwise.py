"""Phase 2 column by column (issue 15): the column-wise readings of the shot charts and the
NBA.com player box scores give exactly the rows of the row-by-row readings (values and types),
and, on a file they cannot vouch for, exactly their rows or their error; the loaders hand their
rows over as one Arrow table per date (``ports.ArrowRows``), which the DuckDB warehouse writes
like the row dicts, shrink guard included."""

from __future__ import annotations

import copy
import json
import pickle
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from backcourt.adapters.local.bucket import FolderBucket
from backcourt.adapters.local.duckdb_warehouse import DuckDBWarehouse
from backcourt.domain import tables_raw as tr
from backcourt.domain.calendar import ScheduledGame
from backcourt.domain.errors import MalformedRawFile
from backcourt.domain.registry import DateType
from backcourt.ports import ArrowRows, RowsSource, join_rows
from backcourt.sources import loaders, nbacom_boxscore, nbacom_shotchart
from backcourt.sources.layout import raw_path
from backcourt.sources.loaders import LoadContext

FIXTURES = Path(__file__).parents[1] / "fixtures" / "nba"
JAN15 = date(2025, 1, 15)
NYK_PHI = ScheduledGame("0022400561", "20250115_NYK_PHI", JAN15, "2024-25", DateType.REGULAR,
                        home="PHI", away="NYK")
SHOT_PATH = raw_path("nbacom_shotchart", JAN15, "0022400561.json")
BOX_PATH = raw_path("nbacom_boxscore", JAN15, "0022400561.json")

Doc = dict[str, Any]


def _load(name: str) -> Doc:
    doc: Doc = json.loads((FIXTURES / name).read_text("utf-8"))
    return doc


def _set(doc: Doc, name: str) -> Doc:
    found: Doc = next(s for s in doc["resultSets"] if s["name"] == name)
    return found


def _cell(name: str, header: str, row: int, value: Any) -> Callable[[Doc], None]:
    def edit(doc: Doc) -> None:
        s = _set(doc, name)
        s["rowSet"][row][s["headers"].index(header)] = value
    return edit


def _outcome(read: Callable[[], Any]) -> tuple[str, Any]:
    try:
        return "rows", read()
    except MalformedRawFile as exc:
        return "error", str(exc)


def _typed(rows: list[dict[str, Any]]) -> list[list[tuple[str, type, Any]]]:
    return [[(k, type(v), v) for k, v in r.items()] for r in rows]


SHOT_EDITS: dict[str, Callable[[Doc], None]] = {
    "as given": lambda doc: None,
    "event id 7.0": _cell("Shot_Chart_Detail", "GAME_EVENT_ID", 0, 7.0),
    "team id as float": _cell("Shot_Chart_Detail", "TEAM_ID", 3, 1610612755.0),
    "padded name": _cell("Shot_Chart_Detail", "PLAYER_NAME", 2, "  Josh Hart "),
    "made flag true": _cell("Shot_Chart_Detail", "SHOT_MADE_FLAG", 4, True),
    "unknown zone": _cell("Shot_Chart_Detail", "SHOT_ZONE_BASIC", 6, "Somewhere"),
    "negative distance": _cell("Shot_Chart_Detail", "SHOT_DISTANCE", 9, -1),
    "period 0": _cell("Shot_Chart_Detail", "PERIOD", 12, 0),
    "repeated event": _cell("Shot_Chart_Detail", "GAME_EVENT_ID", 1, 7),
    "other game": _cell("Shot_Chart_Detail", "GAME_ID", 5, "0022400562"),
    "short row": lambda doc: _set(doc, "Shot_Chart_Detail")["rowSet"][3].pop(),
    "empty name": _cell("Shot_Chart_Detail", "PLAYER_NAME", 8, " "),
    "made flag 2": _cell("Shot_Chart_Detail", "SHOT_MADE_FLAG", 10, 2),
}


@pytest.mark.parametrize("edit", SHOT_EDITS, ids=list(SHOT_EDITS))
def test_shot_columns_are_the_row_parse_or_its_error(edit: str) -> None:
    doc = _load("nbacom-shotchart-0022400561.json")
    SHOT_EDITS[edit](doc)
    by_row = _outcome(lambda: nbacom_shotchart.parse(copy.deepcopy(doc), SHOT_PATH, [NYK_PHI]))
    cols = _outcome(lambda: nbacom_shotchart.parse_columns(doc, SHOT_PATH, [NYK_PHI]))
    if by_row[0] == "error":
        assert cols == by_row
        return
    assert cols[0] == "rows"
    back = [dict(zip(cols[1], values, strict=True)) for values in zip(*cols[1].values(),
                                                                        strict=True)]
    assert _typed(back) == _typed(by_row[1])


BOX_EDITS: dict[str, Callable[[Doc], None]] = {
    "as given": lambda doc: None,
    "points 3.0": _cell("PlayerStats", "PTS", 0, 3.0),
    "minutes true": _cell("PlayerStats", "MIN", 1, True),
    "player id as float": _cell("PlayerStats", "PLAYER_ID", 2, 1628404.0),
    "padded game id": _cell("PlayerStats", "GAME_ID", 3, " 0022400561"),
    "comment a number": _cell("PlayerStats", "COMMENT", 4, 5),
    "padded team": _cell("PlayerStats", "TEAM_ABBREVIATION", 5, "NYK "),
    "unknown team": _cell("PlayerStats", "TEAM_ABBREVIATION", 6, "XYZ"),
    "bad minutes": _cell("PlayerStats", "MIN", 7, "12:75"),
    "stats without minutes": _cell("PlayerStats", "MIN", 8, None),
    "no rows": lambda doc: _set(doc, "PlayerStats")["rowSet"].clear(),
}


@pytest.mark.parametrize("edit", BOX_EDITS, ids=list(BOX_EDITS))
def test_box_players_at_once_are_the_row_parse_or_its_error(edit: str) -> None:
    doc = _load("nbacom-boxscore-0022400561.json")
    BOX_EDITS[edit](doc)
    by_row = _outcome(lambda: nbacom_boxscore.parse_players_by_row(copy.deepcopy(doc), BOX_PATH,
                                                                    JAN15, [NYK_PHI]))
    got = _outcome(lambda: nbacom_boxscore.parse_players(doc, BOX_PATH, JAN15, [NYK_PHI]))
    if by_row[0] == "error":
        assert got == by_row
    else:
        assert got[0] == "rows" and _typed(got[1]) == _typed(by_row[1])


def _bucket(tmp_path: Path) -> FolderBucket:
    bucket = FolderBucket(tmp_path)
    bucket.write(SHOT_PATH, (FIXTURES / "nbacom-shotchart-0022400561.json").read_bytes())
    bucket.write(BOX_PATH, (FIXTURES / "nbacom-boxscore-0022400561.json").read_bytes())
    return bucket


def test_loaders_hand_over_arrow_with_the_parsed_rows(tmp_path: Path) -> None:
    ctx = LoadContext(_bucket(tmp_path), [JAN15], {JAN15: [NYK_PHI]})
    shots = loaders.load_shot_chart(ctx)[JAN15].rows
    players = loaders.load_player_boxscores(ctx)[JAN15].rows
    assert isinstance(shots, ArrowRows) and isinstance(players, ArrowRows)
    doc = _load("nbacom-shotchart-0022400561.json")
    assert _typed(list(shots)) == _typed(nbacom_shotchart.parse(doc, SHOT_PATH, [NYK_PHI]))
    assert shots[0] == list(shots)[0] and shots[-1] == list(shots)[-1] and len(shots) == 178
    again = pickle.loads(pickle.dumps(shots))  # what crosses the process pool
    assert isinstance(again, ArrowRows) and again == shots
    joined = join_rows([shots, again])
    assert isinstance(joined, ArrowRows) and len(joined) == 2 * len(shots)


def test_duckdb_writes_arrow_rows_as_it_writes_row_dicts(tmp_path: Path) -> None:
    ctx = LoadContext(_bucket(tmp_path), [JAN15], {JAN15: [NYK_PHI]})
    arrow = loaders.load_player_boxscores(ctx)[JAN15].rows
    dicts = list(arrow)
    table = tr.PLAYER_BOXSCORES
    got = {}
    for name, rows in (("arrow", arrow), ("dicts", dicts)):
        wh = DuckDBWarehouse(tmp_path / f"{name}.duckdb")
        wh.ensure_tables([table])
        first = wh.replace(table, [JAN15], RowsSource(rows), max_shrink=0.5)
        part = ArrowRows(arrow.table.slice(0, 3)) if name == "arrow" else dicts[:3]
        shrunk = wh.replace(table, [JAN15], RowsSource(part), max_shrink=0.5)
        assert first.rows_by_date == {JAN15: len(dicts)}
        assert shrunk.refused == {JAN15: (len(dicts), 3)}  # the guard sees the same counts
        got[name] = wh.query("SELECT * FROM nba_raw.player_boxscores ORDER BY player_id")
        wh.close()
    assert got["arrow"] == got["dicts"] and len(got["arrow"]) == len(dicts)


def test_a_box_score_rewritten_between_the_two_loaders_is_parsed_again(tmp_path: Path) -> None:
    """The team loader finds the player loader's parse of a file only for the same bytes."""
    bucket = _bucket(tmp_path)
    ctx = LoadContext(bucket, [JAN15], {JAN15: [NYK_PHI]})
    before = loaders.load_team_boxscores(ctx)[JAN15].rows
    doc = _load("nbacom-boxscore-0022400561.json")
    players, teams = _set(doc, "PlayerStats"), _set(doc, "TeamStats")
    row = next(r for r in players["rowSet"] if r[players["headers"].index("MIN")])
    team = next(r for r in teams["rowSet"]
                if r[teams["headers"].index("TEAM_ABBREVIATION")]
                == row[players["headers"].index("TEAM_ABBREVIATION")])
    for s, r in ((players, row), (teams, team)):  # two more points, still consistent
        r[s["headers"].index("PTS")] += 2
        r[s["headers"].index("FGM")] += 1
        r[s["headers"].index("FGA")] += 1
    bucket.write(BOX_PATH, json.dumps(doc).encode())
    after = loaders.load_team_boxscores(ctx)[JAN15].rows
    assert sum(r["points"] for r in after) == sum(r["points"] for r in before) + 2
    again = loaders.load_player_boxscores(ctx)[JAN15].rows
    assert sum(r["points"] or 0 for r in again) == sum(r["points"] for r in after)
